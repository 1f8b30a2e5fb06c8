package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/sim"
)

// In plain paper mode a market that resolves closes polybot's position in it: polybot positions
// no longer lists it and shows the payout realised, and polybot pnl credits the leader with it.
func TestPlainPaperPositionsAndPnLShowAResolvedMarket(t *testing.T) {
	s, a, cfg, stop := runningDaemon(t, func(c *config.Config) { c.Resolution.Interval = time.Second })
	defer stop()
	alice := cfg.Leaders[0].Address
	token := s.Markets()[0]
	if _, err := s.EmitMatch(sim.Match{Leader: alice, Side: polymarket.Buy, TokenID: token, Shares: 10_000_000, Price: 400_000}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the copy", func() bool { return a.Executor().Stats().Copied == 1 })
	if _, err := s.ResolveMarket(token, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the position closed by its market's resolution", func() bool {
		_, open, err := a.Store().Position(token.String())
		return err == nil && !open
	})
	path := filepath.Join(cfg.StateDir, "polybot.yaml")
	body := "leaders:\n  - address: " + alice.Hex() + "\nstate_dir: " + cfg.StateDir + "\nadmin:\n  socket: " + cfg.Admin.Socket + "\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli("positions", "--config", path)
	if code != exOK || !strings.Contains(out, "0 positions") || !strings.Contains(out, "realised all-time 6 USDC") {
		t.Fatalf("positions: exit %d, stderr %q:\n%s", code, errs, out)
	}
	code, js, errs := cli("pnl", "--config", path, "--json")
	var p admin.PnL
	if err := json.Unmarshal([]byte(js), &p); code != exOK || err != nil || len(p.Leaders) != 1 ||
		p.Leaders[0].RealisedAllTimeUSDC != "6" || p.Leaders[0].OpenCostUSDC != "0" || p.RealisedAllTimeUSDC != "6" {
		t.Fatalf("pnl: exit %d, %v, stderr %q:\n%s", code, err, errs, js)
	}
}
