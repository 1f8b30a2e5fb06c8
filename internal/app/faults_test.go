package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/sim"
	"github.com/polybot/polybot/internal/testing/testfs"
)

// TestAFullOrReadOnlyStateDirAtStartNamesTheDirAndTheFix: polybot cannot start on a state
// directory it cannot write; the error says which directory and what to do.
func TestAFullOrReadOnlyStateDirAtStartNamesTheDirAndTheFix(t *testing.T) {
	newCfg := func(dir string) *config.Config {
		cfg := config.Default()
		cfg.StateDir = dir
		cfg.Leaders = []config.Leader{{Address: common.HexToAddress("0x1000000000000000000000000000000000000001"), Enabled: true}}
		return cfg
	}
	t.Run("read-only", func(t *testing.T) {
		dir := testfs.Tmpfs(t, 1<<20)
		if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
			t.Fatal(err)
		}
		_, err := New(context.Background(), Options{Config: newCfg(dir), Log: zaptest.NewLogger(t)})
		want := "state_dir " + dir + " is on a read-only file system: remount it read-write, or set state_dir to a writable directory"
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, syscall.EROFS) {
			t.Fatalf("New on a read-only state dir: %v; want it to say %q", err, want)
		}
		t.Logf("polybot on a read-only state dir: %v", err)
	})
	t.Run("full", func(t *testing.T) {
		dir := testfs.Tmpfs(t, 256<<10)
		testfs.Fill(t, dir)
		_, err := New(context.Background(), Options{Config: newCfg(dir), Log: zaptest.NewLogger(t)})
		want := "the file system holding state_dir " + dir + " is full: free space on it"
		if err == nil || !strings.Contains(err.Error(), want) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("New on a full state dir: %v; want it to say %q", err, want)
		}
		t.Logf("polybot on a full state dir: %v", err)
	})
}

// notes is a systemd notifier that remembers the status lines and counts the keep-alives.
type notes struct {
	mu       sync.Mutex
	statuses []string
	pings    int
}

func (n *notes) Ready() error     { return nil }
func (n *notes) Reloading() error { return nil }
func (n *notes) Stopping() error  { return nil }
func (n *notes) Status(line string) error {
	n.mu.Lock()
	n.statuses = append(n.statuses, line)
	n.mu.Unlock()
	return nil
}
func (n *notes) Watchdog() error {
	n.mu.Lock()
	n.pings++
	n.mu.Unlock()
	return nil
}
func (n *notes) WatchdogInterval() time.Duration { return 20 * time.Millisecond }

func (n *notes) counts() (pings int, statuses []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.pings, append([]string(nil), n.statuses...)
}

// TestAFullDiskMidRunPausesCopyingAndSaysWhy: polybot runs on a small tmpfs that fills up. A
// leader fill arrives: nothing is traded (its intent cannot be recorded), STATUS= says why, the
// watchdog keeps being fed (a restart would meet the same full disk). Once space is freed the
// fill is copied exactly once and the status line no longer says paused.
func TestAFullDiskMidRunPausesCopyingAndSaysWhy(t *testing.T) {
	dir := testfs.Tmpfs(t, 1<<20)
	s := startSim(t)
	cfg := demoConfig(t, s)
	cfg.StateDir = dir
	cfg.Admin.Enabled = false
	cfg.Maintenance.Interval = time.Second
	cl := &copyLog{}
	n := &notes{}
	r := start(t, Options{Config: cfg, Broker: cl, Notifier: n, Log: zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))})
	stopped := false
	t.Cleanup(func() { // before the tmpfs is unmounted, also when the test fails
		if !stopped {
			r.cancel()
			<-r.done
		}
	})

	filler := testfs.Fill(t, dir)
	// bbolt reuses pages it already holds: write until the store refuses too.
	for i := 0; ; i++ {
		if i == 10_000 {
			t.Fatal("the store takes writes on a full disk")
		}
		if err := r.app.Store().AppendDecision(store.Decision{Token: "0", Side: "BUY", Action: "skip", Reason: "filling the disk"}); err != nil {
			break
		}
	}

	leader, token := s.LeaderAddresses()[0], s.Markets()[0]
	if _, err := s.EmitMatch(sim.Match{Leader: leader, Side: polymarket.Buy, TokenID: token, Shares: 10_000_000, Price: 400_000}); err != nil {
		t.Fatal(err)
	}
	commit(t, s)
	waitFor(t, "copying to pause", 30*time.Second, func() bool { reason, _ := r.app.Executor().Paused(); return reason != "" })
	line := r.app.statusLine()
	if !strings.HasPrefix(line, "paused: state store not writable: ") || !strings.Contains(line, "no space left on device") {
		t.Fatalf("status line %q; want it to start with the pause and its cause", line)
	}
	t.Logf("STATUS=%s", line)
	waitFor(t, "STATUS= to say paused", 10*time.Second, func() bool {
		_, st := n.counts()
		return len(st) > 0 && strings.HasPrefix(st[len(st)-1], "paused: state store not writable: ")
	})
	if err := r.app.healthy(); err != nil {
		t.Fatalf("healthy() = %v on a full disk; want nil: the watchdog keeps being fed", err)
	}
	if err := r.app.readiness(); err == nil || !strings.Contains(err.Error(), "copying paused") {
		t.Fatalf("readiness() = %v on a full disk; want not ready, saying copying is paused", err)
	}
	if !r.app.metricsSnapshot().CopyingPaused {
		t.Fatal("polybot_copying_paused is 0 during the pause")
	}
	if p := r.app.adminStatus().Executor.Paused; !strings.Contains(p, "no space left on device") {
		t.Fatalf("polybot status says paused %q; want the cause", p)
	}
	pings, _ := n.counts()
	waitFor(t, "keep-alives during the pause", 10*time.Second, func() bool { p, _ := n.counts(); return p >= pings+3 })
	if got := len(cl.snapshot()); got != 0 {
		t.Fatalf("%d copies traded while the store could not record them", got)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	// The paused copy retries with a backoff from 1 s (real time here), at most a few seconds.
	waitFor(t, "the copy after space returned", 60*time.Second, func() bool { return r.app.Executor().Stats().Copied == 1 })
	if reason, _ := r.app.Executor().Paused(); reason != "" {
		t.Fatalf("still paused: %s", reason)
	}
	if line := r.app.statusLine(); strings.Contains(line, "paused") {
		t.Fatalf("status line %q after resuming", line)
	}
	if r.app.metricsSnapshot().CopyingPaused {
		t.Fatal("polybot_copying_paused is still 1 after resuming")
	}
	copies := cl.snapshot()
	if len(copies) != 1 {
		t.Fatalf("%d fills copied, want 1", len(copies))
	}
	for k, c := range copies {
		if c != 1 {
			t.Fatalf("fill %v copied %d times", k, c)
		}
	}
	if held := r.app.Book().Held(token.String()); held != 10_000_000 {
		t.Fatalf("book holds %d of the token, want 10 shares", held)
	}
	stopped = true
	r.stop(t)
}

// downCLOB is a broker whose CLOB answers every order with a gateway error (as the live
// broker returns it).
type downCLOB struct {
	mu    sync.Mutex
	calls int
}

func (d *downCLOB) PlaceOrder(context.Context, broker.Order) (broker.Execution, error) {
	d.mu.Lock()
	d.calls++
	d.mu.Unlock()
	return broker.Execution{}, broker.Classify(fmt.Errorf("%w: %w", clob.ErrUnknownOutcome,
		&clob.APIError{Status: 502, Method: "POST", Path: "/order", Kind: clob.KindRetryable}))
}

// TestTheCLOBBreakerIsInTheStatusLine: two orders meet a CLOB outage, the breaker opens, STATUS=
// says so and when the next try is; the third fill is skipped without reaching the broker.
func TestTheCLOBBreakerIsInTheStatusLine(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	cfg.Executor.CLOBBreaker = config.CLOBBreaker{Failures: 2, Cooldown: time.Hour, MaxCooldown: time.Hour}
	b := &downCLOB{}
	n := &notes{}
	r := start(t, Options{Config: cfg, Broker: b, Notifier: n})
	leader, markets := s.LeaderAddresses()[0], s.Markets()
	for i := range 3 {
		if _, err := s.EmitMatch(sim.Match{Leader: leader, Side: polymarket.Buy, TokenID: markets[i%len(markets)], Shares: 10_000_000, Price: 400_000}); err != nil {
			t.Fatal(err)
		}
		commit(t, s)
		waitFor(t, "the copy", 30*time.Second, func() bool { st := r.app.Executor().Stats(); return st.Failed+st.Skipped == uint64(i+1) })
	}
	b.mu.Lock()
	calls := b.calls
	b.mu.Unlock()
	if calls != 2 {
		t.Fatalf("%d orders reached the broker, want 2 (the third after the breaker opened must not)", calls)
	}
	line := r.app.statusLine()
	if !strings.Contains(line, ", CLOB breaker open: 2 consecutive failures, retry at ") {
		t.Fatalf("status line %q; want the open breaker", line)
	}
	t.Logf("STATUS=%s", line)
	_, st := n.counts()
	found := false
	for _, l := range st {
		found = found || strings.Contains(l, "CLOB breaker open")
	}
	if !found {
		t.Fatalf("no STATUS= sent when the breaker opened: %q", st)
	}
	m := r.app.metricsSnapshot()
	if m.CLOBBreaker != "open" || m.CLOBBreakerTrips != 1 || m.CopyingPaused {
		t.Fatalf("metrics say breaker %q, %d trips, paused %v; want open, 1 trip, not paused", m.CLOBBreaker, m.CLOBBreakerTrips, m.CopyingPaused)
	}
	if got := r.app.adminStatus().Executor.CLOBBreaker; !strings.HasPrefix(got, "CLOB breaker open: 2 consecutive failures") {
		t.Fatalf("polybot status says %q; want the open breaker", got)
	}
	r.stop(t)
}
