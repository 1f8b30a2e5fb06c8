package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
)

// sellSeed adds to seed's store a copied SELL of 4 of the 10 shares for 2.4 USDC, fee 0.02:
// realised 2.38 - 1.6 = 0.78; 6 shares left costing 2.4, last fill price 0.6.
func sellSeed(t *testing.T, dir string, now time.Time) {
	t.Helper()
	st := openStore(t, dir, now)
	defer st.Close()
	id := store.IntentID{Tx: common.HexToHash("0xcc"), LogIndex: 1}
	in := store.Intent{ID: id, Leader: common.HexToAddress(seedLeader), Token: seedToken, Side: polymarket.Sell, Shares: 4_000_000, Collateral: 2_400_000}
	if err := st.BeginIntent(in); err != nil {
		t.Fatal(err)
	}
	if err := st.CompleteIntent(id, store.Result{Status: store.StatusFilled, FilledShares: 4_000_000, FilledCollateral: 2_400_000, Fee: 20_000}); err != nil {
		t.Fatal(err)
	}
}

// polybot pnl shows each leader's realised, unrealised, fees, redeemed and copies, from the
// store when the daemon is down and from the daemon when it runs, the same; status and
// positions show the same realised figures under the same names.
func TestPnLPerLeaderFromTheDaemonElseFromTheStore(t *testing.T) {
	dir := t.TempDir()
	cfgPath, sock := cliConfig(t, dir)
	now := time.Now()
	seed(t, dir, now)
	sellSeed(t, dir, now)

	code, offline, errs := cli("pnl", "--config", cfgPath)
	if code != exOK || !strings.Contains(errs, "daemon is not running") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{seedLeader, "0.78", "1.2", "0.02", "realised all-time 0.78 USDC", "realised today 0.78 USDC",
		"all at polybot's last fill prices"} {
		if !strings.Contains(strings.ToLower(offline), strings.ToLower(want)) {
			t.Errorf("pnl table lacks %q:\n%s", want, offline)
		}
	}
	code, js, _ := cli("pnl", "--config", cfgPath, "--json")
	var p admin.PnL
	if err := json.Unmarshal([]byte(js), &p); code != exOK || err != nil {
		t.Fatalf("--json: exit %d, %v:\n%s", code, err, js)
	}
	if len(p.Leaders) != 1 {
		t.Fatalf("--json leaders: %s", js)
	}
	l := p.Leaders[0]
	if !strings.EqualFold(l.Leader, seedLeader) || l.RealisedAllTimeUSDC != "0.78" || l.UnrealisedUSDC != "1.2" ||
		l.FeesUSDC != "0.02" || l.RedeemedUSDC != "0" || l.Copies != 2 || l.OpenCostUSDC != "2.4" ||
		p.RealisedAllTimeUSDC != "0.78" || p.RealisedTodayUSDC != "0.78" || p.AtLastFill != 1 || p.Marked != 0 {
		t.Fatalf("--json: %s", js)
	}
	code, pos, _ := cli("positions", "--config", cfgPath)
	if code != exOK || !strings.Contains(pos, "realised today 0.78 USDC, realised all-time 0.78 USDC") {
		t.Errorf("positions do not show the same realised figures:\n%s", pos)
	}

	st := openStore(t, dir, now)
	defer st.Close()
	fakeDaemon(t, sock, st, now)
	code, live, errs := cli("pnl", "--config", cfgPath)
	if code != exOK || errs != "" || live != offline {
		t.Errorf("from the daemon: exit %d, stderr %q, table\n%s\nvs stored\n%s", code, errs, live, offline)
	}
}

// status names both realised figures as pnl does, and says what the unrealised P&L of the open
// positions was valued at.
func TestStatusShowsRealisedTodayAllTimeAndMarkedUnrealised(t *testing.T) {
	var out strings.Builder
	printStatus(&out, &admin.Status{Positions: admin.Positions{Open: 3, RealisedTodayUSDC: "-1.5", RealisedAllTimeUSDC: "40.25",
		UnrealisedUSDC: "2.1", Marked: 2, AtLastFill: 1}}, "/run/polybot/admin.sock")
	for _, want := range []string{"3 open; realised today -1.5 USDC, realised all-time 40.25 USDC",
		"2.1 USDC (2 at the watcher's marks, 1 at polybot's last fill prices)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
}
