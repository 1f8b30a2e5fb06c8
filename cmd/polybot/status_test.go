package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/alerts"
	"github.com/polybot/polybot/internal/app"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/leaktest"
	"github.com/polybot/polybot/internal/testing/sim"
)

func TestMain(m *testing.M) {
	// The test binary doubles as polybot for tests that need a real process to signal.
	if args, ok := os.LookupEnv(runMainEnv); ok {
		os.Exit(run(strings.Split(args, "\n"), os.Stdout, os.Stderr))
	}
	leaktest.VerifyTestMain(m)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runningDaemon starts polysim and a polybot on it whose admin socket is in a fresh directory.
func runningDaemon(t *testing.T, tweaks ...func(*config.Config)) (*sim.Sim, *app.App, *config.Config, func()) {
	t.Helper()
	s, err := sim.New(sim.Options{Leaders: 2})
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	sdone := make(chan error, 1)
	go func() { sdone <- s.Run(sctx) }()
	t.Cleanup(func() {
		scancel()
		if err := <-sdone; err != nil {
			t.Errorf("polysim: %v", err)
		}
	})

	dir, err := os.MkdirTemp("", "pbs") // short: a unix socket path holds 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg := config.Default()
	cfg.Chain.RPCURL, cfg.Chain.ChainID = s.WSURL(), s.ChainID()
	cfg.Copy.CopyRatio = decimal.RequireFromString("1")
	cfg.Copy.MaxTradeUSDC = decimal.RequireFromString("1000000")
	cfg.StateDir = dir
	cfg.Admin.Socket = filepath.Join(dir, "admin.sock")
	leaders := s.LeaderAddresses()
	cfg.Leaders = []config.Leader{
		{Address: leaders[0], Name: "alice", Enabled: true},
		{Address: leaders[1], Name: "bob", Enabled: false},
	}
	for _, tweak := range tweaks {
		tweak(cfg)
	}
	a, err := app.New(context.Background(), app.Options{Config: cfg, Log: zaptest.NewLogger(t), Version: "v0.0.0-test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, nil) }()
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("polybot stopped before ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("polybot not ready within 30 s")
	}
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("polybot: %v", err)
		}
	}
	return s, a, cfg, stop
}

func TestStatusShowsTheRunningDaemon(t *testing.T) {
	s, a, cfg, stop := runningDaemon(t)
	alice := cfg.Leaders[0].Address
	if _, err := s.EmitMatch(sim.Match{Leader: alice, Side: polymarket.Buy, TokenID: s.Markets()[0], Shares: 10_000_000, Price: 400_000}); err != nil {
		t.Fatal(err)
	}
	block, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the copy", func() bool {
		return a.Executor().Stats().Copied == 1 && a.Monitor().Stats().Head >= block
	})
	head := a.Monitor().Stats().Head

	// A config file that names the socket, as on a server: polybot status --config ...
	path := filepath.Join(cfg.StateDir, "polybot.yaml")
	body := fmt.Sprintf("leaders:\n  - address: %s\nadmin:\n  socket: %s\n", alice.Hex(), cfg.Admin.Socket)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	// The same file after an edit broke it: the daemon still runs the config it loaded, and
	// status must still reach it (that is when an operator needs it most), with a warning.
	broken := filepath.Join(cfg.StateDir, "broken.yaml")
	if err := os.WriteFile(broken, []byte(body+"copy:\n  copy_ratio: -1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"status", "--socket", cfg.Admin.Socket},
		{"status", "--config", path},
		{"status", "--config", broken},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(args, &stdout, &stderr); code != exOK {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if isBroken := args[2] == broken; isBroken != strings.Contains(stderr.String(), "copy.copy_ratio") {
				t.Errorf("the warning about the broken config on disk: stderr %q", stderr.String())
			}
			out := stdout.String()
			for _, want := range []string{
				"v0.0.0-test", "paper mode", cfg.Hash(),
				alice.Hex() + "  alice", cfg.Leaders[1].Address.Hex() + "  bob (disabled)", "1 enabled of 2",
				fmt.Sprintf("head %d", head), "healthy", "subscribed yes",
				"1 today; since start 1 copied, 0 skipped, 0 failed", "1 open",
				// The copy's path from the leader's block, and its price against the leader's.
				"block to seen", "seen to sent", "sent to fill", "block to fill", "(1 copies, last 1h0m0s)",
				"p50 0 bps, p99 0 bps against the leader",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("status lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "NOT HEALTHY") {
				t.Errorf("a healthy daemon shown unhealthy:\n%s", out)
			}
		})
	}

	var stdout, stderr bytes.Buffer
	if code := run([]string{"status", "--socket", cfg.Admin.Socket, "--json"}, &stdout, &stderr); code != exOK {
		t.Fatalf("--json: exit %d: %s", code, stderr.String())
	}
	var st admin.Status
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		t.Fatalf("--json is not JSON: %v\n%s", err, stdout.String())
	}
	if st.Positions.Open != 1 || st.Chain.HeadBlock != head || len(st.Leaders) != 2 || st.Latency.SlippageCount != 1 {
		t.Fatalf("--json: %s", stdout.String())
	}

	stop()
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"status", "--socket", cfg.Admin.Socket}, &stdout, &stderr); code != exFail {
		t.Fatalf("status of a stopped daemon: exit %d, want %d", code, exFail)
	}
	if !strings.Contains(stderr.String(), "not running") || stdout.Len() != 0 {
		t.Fatalf("status of a stopped daemon: stdout %q stderr %q", stdout.String(), stderr.String())
	}
}

func TestStatusWhenNothingRuns(t *testing.T) {
	dir := t.TempDir()
	path, sock := cliConfig(t, dir)
	code, out, errs := cli("status", "--config", path)
	if code != exFail || out != "" {
		t.Fatalf("exit %d, stdout %q, want 1 and nothing printed", code, out)
	}
	if !strings.Contains(errs, "not running") || !strings.Contains(errs, sock) || !strings.Contains(errs, "no stored state") {
		t.Fatalf("stderr %q does not say polybot is not running at %s and has no stored state", errs, sock)
	}

	// With a store, the stored state is printed; polybot is still reported as not running.
	seed(t, dir, time.Now())
	code, out, errs = cli("status", "--config", path)
	if code != exFail || !strings.Contains(errs, "not running") {
		t.Fatalf("with a store: exit %d, stderr %q; want 1 and not running", code, errs)
	}
	for _, want := range []string{
		"NOT RUNNING; stored state in " + store.Path(dir), "block 1234", "1 open; cost 4 USDC",
		"1 today", "not tripped", "2 in the log", "skip SELL, nothing held to sell",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stored status lacks %q:\n%s", want, out)
		}
	}

	// --json promises the daemon's JSON: no table on stdout.
	if code, out, _ := cli("status", "--config", path, "--json"); code != exFail || out != "" {
		t.Errorf("--json without a daemon: exit %d, stdout %q", code, out)
	}

	// A tripped breaker is shown.
	st := openStore(t, dir, time.Now())
	if _, _, err := st.TripBreaker(time.Now(), -50_000_000); err != nil {
		t.Fatal(err)
	}
	// A daemon holding the store with no socket is not "not running".
	code, _, errs = cli("status", "--config", path)
	if code != exFail || strings.Contains(errs, "not running") || !strings.Contains(errs, "a polybot process holds") {
		t.Errorf("store held, no socket: exit %d, stderr %q", code, errs)
	}
	st.Close()
	if _, out, _ := cli("status", "--config", path); !strings.Contains(out, "TRIPPED") || !strings.Contains(out, "day P&L -50 USDC") {
		t.Errorf("a tripped breaker is not shown:\n%s", out)
	}
}

// A tripped daily-loss breaker stops BUYs for the rest of the trading day: the running daemon's
// status says so (tripped, by how much, until when), in the table, in --json and in STATUS=.
func TestStatusShowsATrippedDailyLossBreaker(t *testing.T) {
	// A webhook receiver on loopback: the operator is also told (internal/alerts).
	var (
		hookMu sync.Mutex
		hooks  []alerts.Notice
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n alerts.Notice
		if err := json.NewDecoder(r.Body).Decode(&n); err == nil {
			hookMu.Lock()
			hooks = append(hooks, n)
			hookMu.Unlock()
		}
	}))
	defer hook.Close()
	s, a, cfg, stop := runningDaemon(t, func(c *config.Config) {
		c.Risk.DailyLossLimitUSDC = decimal.RequireFromString("1")
		c.Alerts.WebhookURL = hook.URL
	})
	defer stop()
	alice, token := cfg.Leaders[0].Address, s.Markets()[0]
	// Buy 10 shares at 0.90, sell them at 0.10: 8 USDC lost against a 1 USDC limit. The next
	// BUY trips the breaker.
	for i, m := range []sim.Match{
		{Leader: alice, Side: polymarket.Buy, TokenID: token, Shares: 10_000_000, Price: 900_000},
		{Leader: alice, Side: polymarket.Sell, TokenID: token, Shares: 10_000_000, Price: 100_000},
		{Leader: alice, Side: polymarket.Buy, TokenID: token, Shares: 10_000_000, Price: 500_000},
	} {
		if _, err := s.EmitMatch(m); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, fmt.Sprintf("fill %d decided", i+1), func() bool {
			st := a.Executor().Stats()
			return st.Copied+st.Skipped+st.Failed == uint64(i+1)
		})
	}

	var stdout, stderr bytes.Buffer
	if code := run([]string{"status", "--socket", cfg.Admin.Socket}, &stdout, &stderr); code != exOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "TRIPPED: BUYs stopped until") ||
		!strings.Contains(out, "day P&L -8 USDC, 7 past the 1 USDC limit") {
		t.Errorf("status does not show the tripped breaker:\n%s", out)
	}
	stdout.Reset()
	if code := run([]string{"status", "--socket", cfg.Admin.Socket, "--json"}, &stdout, &stderr); code != exOK {
		t.Fatalf("--json: exit %d: %s", code, stderr.String())
	}
	var st admin.Status
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	l := st.DailyLoss
	if !l.Tripped || l.PnLUSDC != "-8" || l.OverUSDC != "7" || l.Until == nil || !l.Until.After(*l.TrippedAt) ||
		l.Until.Sub(*l.TrippedAt) > 24*time.Hour {
		t.Errorf("--json daily_loss = %+v", l)
	}
	if line := a.StatusLine(); !strings.Contains(line, "BUYs stopped: daily loss -8 USDC, 7 past the limit, until") {
		t.Errorf("STATUS= %q does not show the tripped breaker", line)
	}
	// The notifier reads the daemon every 10 s.
	waitUntil(t, "the webhook notice", func() bool {
		hookMu.Lock()
		defer hookMu.Unlock()
		return len(hooks) > 0
	})
	hookMu.Lock()
	defer hookMu.Unlock()
	if n := hooks[0]; n.Kind != alerts.KindBreaker || !strings.Contains(n.Text, "day P&L -8 USDC, 7 past the 1 USDC limit") {
		t.Errorf("webhook notice %+v", n)
	}
}
