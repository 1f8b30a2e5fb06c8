package maintenance

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/polybot/polybot/internal/systemd"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeSystemd records keep-alives and status lines, and fails sends while failErr is set.
type fakeSystemd struct {
	interval time.Duration

	mu      sync.Mutex
	pings   int
	status  []string
	failErr error
}

func (f *fakeSystemd) WatchdogInterval() time.Duration { return f.interval }

func (f *fakeSystemd) Watchdog() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failErr != nil {
		return f.failErr
	}
	f.pings++
	return nil
}

func (f *fakeSystemd) Status(line string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = append(f.status, line)
	return nil
}

func (f *fakeSystemd) Pings() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pings
}

func (f *fakeSystemd) Fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failErr = err
}

// health is a switchable Healthy function.
type health struct {
	mu  sync.Mutex
	err error
}

func (h *health) Set(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err = err
}

func (h *health) Healthy() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// rig runs a Loop on a simulated clock.
type rig struct {
	t     *testing.T
	clock *mclock.Simulated
	// timers is how many timers the loop keeps while idle: the report's and, with the
	// watchdog enabled, the keep-alives'.
	timers int
	stop   func()
}

// start runs the loop on a simulated clock and waits until it is idle (the first keep-alive,
// if any, sent). stop cancels it and checks Run returned nil.
func start(t *testing.T, opts Options) *rig {
	t.Helper()
	r := &rig{t: t, clock: new(mclock.Simulated), timers: 1}
	if opts.Watchdog != nil && opts.Watchdog.WatchdogInterval() > 0 {
		r.timers = 2
	}
	opts.Clock = r.clock
	l, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	r.waitTimers(r.timers)
	r.stop = func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() after cancel = %v, want nil", err)
		}
	}
	return r
}

// advance moves the clock by d in steps of step, and after each step waits until the loop has
// handled what fired and set its timers again (active of them; fewer while a sweep blocks).
func (r *rig) advance(d, step time.Duration, active int) {
	r.t.Helper()
	for moved := time.Duration(0); moved < d; moved += step {
		r.clock.Run(min(step, d-moved))
		r.waitTimers(active)
	}
}

// waitTimers waits until the loop has n timers set. The real-time bound only turns a loop that
// never sets its timer again (a keep-alive stuck behind a sweep) into a failure instead of a hang.
func (r *rig) waitTimers(n int) {
	r.t.Helper()
	set := make(chan struct{})
	go func() { r.clock.WaitForTimers(n); close(set) }()
	select {
	case <-set:
	case <-time.After(10 * time.Second):
		r.t.Fatalf("at %v the loop did not set its timers again (%d of %d set): it is blocked",
			time.Duration(r.clock.Now()), r.clock.ActiveTimers(), n)
	}
}

func TestWatchdogFedAtHalfItsInterval(t *testing.T) {
	sd := &fakeSystemd{interval: 10 * time.Second}
	r := start(t, Options{Interval: time.Hour, Watchdog: sd})
	defer r.stop()
	if got := sd.Pings(); got != 1 {
		t.Fatalf("pings at start = %d, want 1", got)
	}
	r.advance(60*time.Second, time.Second, r.timers)
	// One at start, then one every 5 s.
	if got := sd.Pings(); got != 13 {
		t.Errorf("pings after 60 s = %d, want 13", got)
	}
}

func TestWatchdogStarvedWhileUnhealthy(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	sd := &fakeSystemd{interval: 10 * time.Second}
	h := &health{}
	r := start(t, Options{Interval: time.Hour, Watchdog: sd, Healthy: h.Healthy, Log: zap.New(core)})
	defer r.stop()

	r.advance(12*time.Second, time.Second, r.timers) // pings at 0, 5, 10
	if got := sd.Pings(); got != 3 {
		t.Fatalf("pings while healthy = %d, want 3", got)
	}
	h.Set(errors.New("head stale for 90s"))
	r.advance(20*time.Second, time.Second, r.timers) // 15, 20, 25, 30 skipped
	if got := sd.Pings(); got != 3 {
		t.Errorf("pings after going unhealthy = %d, want still 3", got)
	}
	warned := logs.FilterMessage("watchdog not fed").All()
	if len(warned) != 1 {
		t.Fatalf("logged %q %d times over four skipped pings, want once", "watchdog not fed", len(warned))
	}
	if got := warned[0].ContextMap()["reason"]; got != "head stale for 90s" {
		t.Errorf("reason = %v, want the Healthy error", got)
	}
	if warned[0].Level != zapcore.WarnLevel {
		t.Errorf("level = %v, want warn", warned[0].Level)
	}

	h.Set(nil)
	r.advance(9*time.Second, time.Second, r.timers) // 35, 40 sent
	if got := sd.Pings(); got != 5 {
		t.Errorf("pings after recovery = %d, want 5", got)
	}
	fed := logs.FilterMessage("watchdog fed again").All()
	if len(fed) != 1 {
		t.Fatalf("logged %q %d times, want once", "watchdog fed again", len(fed))
	}
	if got := fed[0].ContextMap()["unhealthy_for"]; got != 20*time.Second {
		t.Errorf("unhealthy_for = %v, want 20s (first skip at 15 s, recovery at 35 s)", got)
	}
}

// blockingSweep is a Sweep that blocks until released, as a long store compaction does.
type blockingSweep struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	calls   int
}

// free lets the sweep return; more calls do nothing.
func (b *blockingSweep) free() { b.once.Do(func() { close(b.release) }) }

func newBlockingSweep() *blockingSweep {
	return &blockingSweep{entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (b *blockingSweep) Sweep() {
	b.calls++
	if b.calls == 1 {
		b.entered <- struct{}{}
		<-b.release
	}
}

// startAt30s moves the clock from 25 s to 30 s, where the report starts the sweep and it blocks
// while the keep-alive timer is set again.
func (b *blockingSweep) startAt30s(r *rig) {
	r.clock.Run(5 * time.Second)
	<-b.entered
	r.waitTimers(1)
}

// TestASlowSweepDoesNotDelayTheWatchdog: a sweep that takes minutes (a large store compaction)
// must not hold back the keep-alives, or systemd would kill polybot in the middle of it.
func TestASlowSweepDoesNotDelayTheWatchdog(t *testing.T) {
	sd := &fakeSystemd{interval: 10 * time.Second}
	sweep := newBlockingSweep()
	r := start(t, Options{Interval: 30 * time.Second, Watchdog: sd, Sweep: sweep.Sweep})
	defer r.stop()
	defer sweep.free() // before stop, even when the test fails

	r.advance(25*time.Second, 5*time.Second, r.timers)
	sweep.startAt30s(r)
	if got := sd.Pings(); got != 7 {
		t.Fatalf("pings when the sweep starts = %d, want 7 (0, 5, ..., 30 s)", got)
	}
	// Only the keep-alive timer is set while the sweep runs.
	r.advance(3*time.Minute, 5*time.Second, 1)
	if got := sd.Pings(); got != 7+36 {
		t.Errorf("pings during a 3-minute sweep = %d, want %d: one every 5 s", got-7, 36)
	}
	sweep.free()
	r.waitTimers(r.timers)
}

// TestAStuckSweepStarvesTheWatchdog: a sweep still running after StuckAfter is a stuck polybot,
// which systemd should restart; the keep-alives stop with the reason logged, and resume once
// the sweep returns.
func TestAStuckSweepStarvesTheWatchdog(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	sd := &fakeSystemd{interval: 10 * time.Second}
	sweep := newBlockingSweep()
	r := start(t, Options{Interval: 30 * time.Second, StuckAfter: time.Minute, Watchdog: sd, Sweep: sweep.Sweep, Log: zap.New(core)})
	defer r.stop()
	defer sweep.free() // before stop, even when the test fails

	r.advance(25*time.Second, 5*time.Second, r.timers)
	sweep.startAt30s(r)
	r.advance(55*time.Second, 5*time.Second, 1) // up to 85 s: the sweep has run 55 s
	if got := sd.Pings(); got != 18 {
		t.Fatalf("pings before the sweep is a minute old = %d, want 18 (0, 5, ..., 85 s)", got)
	}
	r.advance(30*time.Second, 5*time.Second, 1) // 90 to 115 s: stuck
	if got := sd.Pings(); got != 18 {
		t.Errorf("pings while the sweep is stuck = %d, want still 18", got)
	}
	warned := logs.FilterMessage("watchdog not fed").All()
	if len(warned) != 1 || warned[0].ContextMap()["reason"] != "maintenance sweep running for 1m0s" {
		t.Fatalf("warnings %v, want one saying the sweep has run for 1m0s", warned)
	}

	sweep.free()
	r.waitTimers(r.timers)
	r.advance(5*time.Second, 5*time.Second, r.timers)
	if got := sd.Pings(); got != 19 {
		t.Errorf("pings after the sweep returned = %d, want 19", got)
	}
	if got := logs.FilterMessage("watchdog fed again").Len(); got != 1 {
		t.Errorf("logged %q %d times, want once", "watchdog fed again", got)
	}
}

func TestWatchdogDisabled(t *testing.T) {
	sd := &fakeSystemd{}
	r := start(t, Options{Interval: time.Hour, Watchdog: sd})
	defer r.stop()
	r.advance(time.Minute, time.Second, r.timers)
	if got := sd.Pings(); got != 0 {
		t.Errorf("pings with WatchdogInterval 0 = %d, want 0", got)
	}
}

func TestWatchdogSendErrorsRateLimited(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	sd := &fakeSystemd{interval: 10 * time.Second}
	sd.Fail(errors.New("connection refused"))
	r := start(t, Options{Interval: time.Hour, Watchdog: sd, Log: zap.New(core)})
	defer r.stop()

	r.advance(5*time.Minute+time.Second, time.Second, r.timers) // 61 failed sends
	failed := logs.FilterMessage("watchdog keep-alive failed").All()
	if len(failed) != 6 {
		t.Fatalf("logged %d failures over 5 minutes of failing sends, want 6 (one a minute)", len(failed))
	}
	if got := failed[1].ContextMap()["suppressed"]; got != int64(11) {
		t.Errorf("suppressed on the second line = %v, want 11", got)
	}

	sd.Fail(nil)
	r.advance(5*time.Second, time.Second, r.timers)
	if got := logs.FilterMessage("watchdog keep-alive sent again").Len(); got != 1 {
		t.Errorf("logged recovery %d times, want once", got)
	}
	if got := sd.Pings(); got != 1 {
		t.Errorf("pings after recovery = %d, want 1", got)
	}
}

func TestReportOncePerInterval(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	sd := &fakeSystemd{}
	var mu sync.Mutex
	sweeps := 0
	snap := Snapshot{
		DedupSize: 1200, DedupCapacity: 100000, DedupBytes: 1 << 20,
		DedupHits: 7, DedupMisses: 1200, DedupEvictions: 3, DedupExpirations: 40,
		Locks: 5, OpenPositions: 2, CopiesToday: 9, HeadBlock: 61_000_000,
		StoreFileBytes: 24 << 20, StoreLiveBytes: 20 << 20,
	}
	r := start(t, Options{
		Interval: 30 * time.Second,
		Log:      zap.New(core),
		Snapshot: func() Snapshot { return snap },
		Sweep:    func() { mu.Lock(); sweeps++; mu.Unlock() },
		Status:   func() string { return "head 61000000, 2 positions" },
		Notifier: sd,
	})
	defer r.stop()

	r.advance(29*time.Second, time.Second, r.timers)
	if got := logs.FilterMessage("maintenance").Len(); got != 0 {
		t.Fatalf("reports before the first interval = %d, want 0", got)
	}
	r.advance(31*time.Second, time.Second, r.timers) // t = 60 s

	reports := logs.FilterMessage("maintenance").All()
	if len(reports) != 2 {
		t.Fatalf("reports after 60 s at a 30 s interval = %d, want 2", len(reports))
	}
	fields := reports[1].ContextMap()
	want := map[string]any{
		"dedup_size": int64(1200), "dedup_capacity": int64(100000), "dedup_bytes": int64(1 << 20),
		"dedup_hits": uint64(7), "dedup_misses": uint64(1200), "dedup_evictions": uint64(3),
		"dedup_expirations": uint64(40), "locks": int64(5), "positions": int64(2),
		"copies_today": uint64(9), "head_block": uint64(61_000_000),
		"store_file_bytes": int64(24 << 20), "store_live_bytes": int64(20 << 20),
	}
	for k, v := range want {
		if fields[k] != v {
			t.Errorf("%s = %#v, want %#v", k, fields[k], v)
		}
	}
	for _, k := range []string{"heap_bytes", "heap_alloc_bytes", "goroutines"} {
		if v, ok := fields[k].(uint64); !ok || v == 0 {
			t.Errorf("%s = %#v, want a positive runtime figure", k, fields[k])
		}
	}
	for _, k := range []string{"rss_bytes", "rss_anon_bytes", "rss_file_bytes"} {
		if v, ok := fields[k].(int64); !ok || v <= 0 {
			t.Errorf("%s = %#v, want positive", k, fields[k])
		}
	}
	if reports[1].Level != zapcore.InfoLevel {
		t.Errorf("level = %v, want info", reports[1].Level)
	}

	mu.Lock()
	defer mu.Unlock()
	if sweeps != 2 {
		t.Errorf("sweeps = %d, want 2", sweeps)
	}
	sd.mu.Lock()
	defer sd.mu.Unlock()
	if len(sd.status) != 2 || sd.status[0] != "head 61000000, 2 positions" {
		t.Errorf("status lines = %q, want the Status line twice", sd.status)
	}
}

func TestRunReturnsNilOnCancel(t *testing.T) {
	r := start(t, Options{Interval: time.Second, Watchdog: &fakeSystemd{interval: time.Second}})
	r.advance(10*time.Second, 500*time.Millisecond, r.timers)
	r.stop()
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"zero interval", Options{}},
		{"negative interval", Options{Interval: -time.Second}},
		{"status without a notifier", Options{Interval: time.Second, Status: func() string { return "x" }}},
		{"negative stuck-after", Options{Interval: time.Second, StuckAfter: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := New(tt.opts)
			if err == nil {
				t.Fatal("New() succeeded, want an error")
			}
			if l != nil {
				t.Errorf("New() = %v with an error, want nil", l)
			}
		})
	}
}

func TestReadRSS(t *testing.T) {
	rss, err := ReadRSS()
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 {
		t.Errorf("ReadRSS() = %d, want at least 1 MiB for a running Go test binary", rss)
	}
}

// polybot's notifier is what the loop feeds in production.
var (
	_ Watchdog       = (*systemd.Notifier)(nil)
	_ StatusNotifier = (*systemd.Notifier)(nil)
)

// A normal start is unhealthy for a moment (no head yet): that is no cause for a warning. A
// start still unhealthy after the start grace is, well before the unit's WatchdogSec ends it.
func TestAStartingPolybotIsNotWarnedAboutUnlessItStaysUnhealthy(t *testing.T) {
	for _, c := range []struct {
		name      string
		unhealthy time.Duration
		warnings  int
	}{
		{"healthy after 2 s", 2 * time.Second, 0},
		{"still unhealthy after 25 s", 25 * time.Second, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.InfoLevel)
			sd := &fakeSystemd{interval: 10 * time.Second}
			h := &health{}
			h.Set(errors.New("not subscribed yet"))
			r := start(t, Options{Interval: time.Hour, Watchdog: sd, Healthy: h.Healthy, Log: zap.New(core)})
			defer r.stop()
			r.advance(c.unhealthy, time.Second, r.timers)
			h.Set(nil)
			r.advance(10*time.Second, time.Second, r.timers)
			if got := logs.FilterMessage("watchdog not fed").Len(); got != c.warnings {
				t.Errorf("%q logged %d times, want %d", "watchdog not fed", got, c.warnings)
			}
			if sd.Pings() == 0 {
				t.Error("the watchdog was never fed once healthy")
			}
		})
	}
}
