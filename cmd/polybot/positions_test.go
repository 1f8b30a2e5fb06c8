package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/sim"
)

const (
	seedLeader = "0x1000000000000000000000000000000000000001"
	seedToken  = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
)

// cliConfig writes a config file whose state is in stateDir and whose admin socket is a fresh
// path short enough for a unix socket; it returns the file and the socket.
func cliConfig(t *testing.T, stateDir string) (path, sock string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "pbc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock = filepath.Join(dir, "admin.sock")
	path = filepath.Join(stateDir, "polybot.yaml")
	body := "leaders:\n  - address: " + seedLeader + "\nstate_dir: " + stateDir + "\nadmin:\n  socket: " + sock + "\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, sock
}

// openStore opens the store in dir read-write, as the daemon does, with now as its clock.
func openStore(t *testing.T, dir string, now time.Time) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: dir, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// seed writes into the store in dir what a daemon leaves at now: checkpoint 1234, a copied
// leader BUY (10 shares for 4 USDC, one position) and a skipped SELL.
func seed(t *testing.T, dir string, now time.Time) {
	t.Helper()
	st := openStore(t, dir, now)
	defer st.Close()
	leader := common.HexToAddress(seedLeader)
	id := store.IntentID{Tx: common.HexToHash("0xaa"), LogIndex: 3}
	in := store.Intent{ID: id, Leader: leader, Token: seedToken, Side: polymarket.Buy, Shares: 10_000_000, Collateral: 4_000_000}
	copied := store.Decision{Time: now.Add(-time.Minute), Leader: leader, Token: seedToken, Side: "BUY", Action: "copy",
		Reason: "proportional copy", Shares: 10_000_000, Collateral: 4_000_000, Tx: id.Tx, LogIndex: id.LogIndex}
	skipped := store.Decision{Time: now, Leader: leader, Token: "42", Side: "SELL", Action: "skip",
		Reason: "nothing held to sell", Tx: common.HexToHash("0xbb"), LogIndex: 1}
	for _, err := range []error{
		st.SetCheckpoint(1234),
		st.Record(copied, &in),
		st.CompleteIntent(id, store.Result{Status: store.StatusFilled, FilledShares: 10_000_000, FilledCollateral: 4_000_000}),
		st.AppendDecision(skipped),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// fakeDaemon serves the admin socket at sock from st, as the daemon does, until stop is called
// (or the test ends).
func fakeDaemon(t *testing.T, sock string, st *store.Store, now time.Time) (stop func()) {
	t.Helper()
	srv, err := admin.Listen(admin.Options{
		Socket: sock, Status: func() admin.Status { return admin.Status{Version: "fake"} },
		Positions: st.Positions, Decisions: st.Decisions, Now: func() time.Time { return now },
		PnL: func() (admin.PnL, error) {
			b, err := st.PnLBook(now)
			return admin.PnLOf(admin.PnLInput{PnLBook: b}), err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("admin server: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// cli runs polybot with args and returns its exit code, stdout and stderr.
func cli(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestPositionsFromTheDaemonElseFromTheStore(t *testing.T) {
	dir := t.TempDir()
	cfgPath, sock := cliConfig(t, dir)

	t.Run("no daemon and no store yet says so", func(t *testing.T) {
		code, out, errs := cli("positions", "--config", cfgPath)
		if code != exFail || out != "" || !strings.Contains(errs, "no stored state") || !strings.Contains(errs, store.Path(dir)) {
			t.Fatalf("exit %d, stdout %q, stderr %q; want 1 and a message naming the missing store", code, out, errs)
		}
	})

	seed(t, dir, time.Now())
	var offline, offlineJSON string
	t.Run("no daemon reads the store and says it is the stored state", func(t *testing.T) {
		code, out, errs := cli("positions", "--config", cfgPath)
		if code != exOK {
			t.Fatalf("exit %d: %s", code, errs)
		}
		for _, want := range []string{"713210...992563", "10", "4", "0.4", "1 positions"} {
			if !strings.Contains(out, want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
		if !strings.Contains(errs, "daemon is not running") || !strings.Contains(errs, "state stored in "+store.Path(dir)) {
			t.Errorf("stderr %q does not say the daemon is down and this is the stored state", errs)
		}
		offline = out
		code, offlineJSON, _ = cli("positions", "--config", cfgPath, "--json")
		var book admin.PositionBook
		if err := json.Unmarshal([]byte(offlineJSON), &book); code != exOK || err != nil {
			t.Fatalf("--json: exit %d, %v:\n%s", code, err, offlineJSON)
		}
		if len(book.Positions) != 1 || book.Positions[0].Token != seedToken || book.Positions[0].Shares != "10" ||
			book.Positions[0].CostUSDC != "4" || book.Positions[0].Fills != 1 {
			t.Fatalf("--json: %+v", book)
		}
	})

	// The daemon holds the store read-write: the answers can only come from the socket.
	st := openStore(t, dir, time.Now())
	defer st.Close()
	stop := fakeDaemon(t, sock, st, time.Now())
	t.Run("a running daemon is asked, and answers the same", func(t *testing.T) {
		code, out, errs := cli("positions", "--config", cfgPath)
		if code != exOK || errs != "" {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
		if out != offline {
			t.Errorf("the daemon's table differs from the stored one:\n%s\nvs\n%s", out, offline)
		}
		code, out, _ = cli("positions", "--socket", sock, "--json")
		if code != exOK || out != offlineJSON {
			t.Errorf("--socket --json: exit %d, the daemon's JSON differs from the stored one:\n%s\nvs\n%s", code, out, offlineJSON)
		}
	})

	stop()
	t.Run("a daemon that holds the store without a socket is named", func(t *testing.T) {
		code, out, errs := cli("positions", "--config", cfgPath)
		if code != exFail || out != "" || !strings.Contains(errs, "a polybot process holds "+store.Path(dir)) ||
			!strings.Contains(errs, "admin socket") {
			t.Fatalf("exit %d, stdout %q, stderr %q; want 1 and a message saying the daemon has no reachable socket", code, out, errs)
		}
		code, _, errs = cli("positions", "--socket", sock)
		if code != exFail || !strings.Contains(errs, "not running") {
			t.Fatalf("--socket alone with nothing there: exit %d, stderr %q", code, errs)
		}
	})
}

// TestARealDaemonThenItsStore copies a leader BUY with a real daemon on polysim, reads
// positions and decisions from it, stops it, and reads the same from the store it left.
func TestARealDaemonThenItsStore(t *testing.T) {
	s, a, cfg, stop := runningDaemon(t)
	alice := cfg.Leaders[0].Address
	if _, err := s.EmitMatch(sim.Match{Leader: alice, Side: polymarket.Buy, TokenID: s.Markets()[0], Shares: 10_000_000, Price: 400_000}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the copy", func() bool { return a.Executor().Stats().Copied == 1 })
	path := filepath.Join(cfg.StateDir, "polybot.yaml")
	body := "leaders:\n  - address: " + alice.Hex() + "\nstate_dir: " + cfg.StateDir + "\nadmin:\n  socket: " + cfg.Admin.Socket + "\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	token := s.Markets()[0].String()
	check := func(t *testing.T, wantStored bool) (positions, decisions string) {
		t.Helper()
		code, positions, errs := cli("positions", "--config", path)
		if code != exOK || strings.Contains(errs, "stored") != wantStored {
			t.Fatalf("positions: exit %d, stderr %q", code, errs)
		}
		if !strings.Contains(positions, token[:6]+"..."+token[len(token)-6:]) || !strings.Contains(positions, "1 positions") {
			t.Errorf("positions lack the copied token:\n%s", positions)
		}
		code, decisions, errs = cli("decisions", "--config", path, "--since", "1h", "--json")
		if code != exOK || strings.Contains(errs, "stored") != wantStored {
			t.Fatalf("decisions: exit %d, stderr %q", code, errs)
		}
		var l admin.DecisionLog
		if err := json.Unmarshal([]byte(decisions), &l); err != nil {
			t.Fatal(err)
		}
		if len(l.Decisions) != 1 || l.Decisions[0].Action != "copy" || l.Decisions[0].Leader != alice.Hex() ||
			l.Decisions[0].Token != token || l.Decisions[0].Shares != "10" || l.Decisions[0].USDC != "4" {
			t.Errorf("decisions: %s", decisions)
		}
		return positions, string(mustJSON(t, l.Decisions))
	}
	liveP, liveD := check(t, false)
	// The real daemon answers /pnl: the leader's one copy, nothing realised yet, its lot valued.
	code, js, perrs := cli("pnl", "--config", path, "--json")
	var p admin.PnL
	if err := json.Unmarshal([]byte(js), &p); code != exOK || err != nil || len(p.Leaders) != 1 ||
		p.Leaders[0].Leader != alice.Hex() || p.Leaders[0].Copies != 1 || p.Leaders[0].RealisedAllTimeUSDC != "0" ||
		p.Leaders[0].OpenCostUSDC != "4" || p.Marked+p.AtLastFill != 1 {
		t.Errorf("pnl from the daemon: exit %d, %v, stderr %q:\n%s", code, err, perrs, js)
	}
	stop()
	storedP, storedD := check(t, true)
	if liveP != storedP || liveD != storedD {
		t.Errorf("the daemon showed other than it stored:\n%s\n%s\nvs\n%s\n%s", liveP, liveD, storedP, storedD)
	}
	code, out, errs := cli("status", "--config", path)
	if code != exFail || !strings.Contains(errs, "not running") || !strings.Contains(out, "1 open; cost 4 USDC") ||
		!strings.Contains(out, "1 today") || !strings.Contains(out, "checkpoint  ") {
		t.Errorf("status after stop: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
