package maintenance

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

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

// start runs the loop in the current bubble and returns a stop function that cancels it and
// checks Run returned nil.
func start(t *testing.T, opts Options) (stop func()) {
	t.Helper()
	l, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	synctest.Wait()
	return func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() after cancel = %v, want nil", err)
		}
	}
}

// sleepTo advances fake time to the given offset from the bubble's start and lets the loop settle.
func sleepTo(start time.Time, at time.Duration) {
	time.Sleep(time.Until(start.Add(at)))
	synctest.Wait()
}

func TestWatchdogFedAtHalfItsInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sd := &fakeSystemd{interval: 10 * time.Second}
		stop := start(t, Options{Interval: time.Hour, Watchdog: sd})
		defer stop()
		if got := sd.Pings(); got != 1 {
			t.Fatalf("pings at start = %d, want 1", got)
		}
		time.Sleep(60 * time.Second)
		synctest.Wait()
		// One at start, then one every 5 s.
		if got := sd.Pings(); got != 13 {
			t.Errorf("pings after 60 s = %d, want 13", got)
		}
	})
}

func TestWatchdogStarvedWhileUnhealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		core, logs := observer.New(zapcore.InfoLevel)
		sd := &fakeSystemd{interval: 10 * time.Second}
		h := &health{}
		stop := start(t, Options{Interval: time.Hour, Watchdog: sd, Healthy: h.Healthy, Log: zap.New(core)})
		defer stop()

		sleepTo(t0, 12*time.Second) // pings at 0, 5, 10
		if got := sd.Pings(); got != 3 {
			t.Fatalf("pings while healthy = %d, want 3", got)
		}
		h.Set(errors.New("head stale for 90s"))
		sleepTo(t0, 32*time.Second) // 15, 20, 25, 30 skipped
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
		sleepTo(t0, 41*time.Second) // 35, 40 sent
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
	})
}

func TestWatchdogDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sd := &fakeSystemd{}
		stop := start(t, Options{Interval: time.Hour, Watchdog: sd})
		defer stop()
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := sd.Pings(); got != 0 {
			t.Errorf("pings with WatchdogInterval 0 = %d, want 0", got)
		}
	})
}

func TestWatchdogSendErrorsRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		core, logs := observer.New(zapcore.InfoLevel)
		sd := &fakeSystemd{interval: 10 * time.Second}
		sd.Fail(errors.New("connection refused"))
		stop := start(t, Options{Interval: time.Hour, Watchdog: sd, Log: zap.New(core)})
		defer stop()

		sleepTo(t0, 5*time.Minute+time.Second) // 61 failed sends
		failed := logs.FilterMessage("watchdog keep-alive failed").All()
		if len(failed) != 6 {
			t.Fatalf("logged %d failures over 5 minutes of failing sends, want 6 (one a minute)", len(failed))
		}
		if got := failed[1].ContextMap()["suppressed"]; got != int64(11) {
			t.Errorf("suppressed on the second line = %v, want 11", got)
		}

		sd.Fail(nil)
		sleepTo(t0, 5*time.Minute+6*time.Second)
		if got := logs.FilterMessage("watchdog keep-alive sent again").Len(); got != 1 {
			t.Errorf("logged recovery %d times, want once", got)
		}
		if got := sd.Pings(); got != 1 {
			t.Errorf("pings after recovery = %d, want 1", got)
		}
	})
}

func TestReportOncePerInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zapcore.InfoLevel)
		sd := &fakeSystemd{}
		var mu sync.Mutex
		sweeps := 0
		snap := Snapshot{
			DedupSize: 1200, DedupCapacity: 100000, DedupBytes: 1 << 20,
			DedupHits: 7, DedupMisses: 1200, DedupEvictions: 3, DedupExpirations: 40,
			Locks: 5, OpenPositions: 2, CopiesToday: 9, HeadBlock: 61_000_000,
		}
		stop := start(t, Options{
			Interval: 30 * time.Second,
			Log:      zap.New(core),
			Snapshot: func() Snapshot { return snap },
			Sweep:    func() { mu.Lock(); sweeps++; mu.Unlock() },
			Status:   func() string { return "head 61000000, 2 positions" },
			Notifier: sd,
		})
		defer stop()

		time.Sleep(29 * time.Second)
		synctest.Wait()
		if got := logs.FilterMessage("maintenance").Len(); got != 0 {
			t.Fatalf("reports before the first interval = %d, want 0", got)
		}
		time.Sleep(31 * time.Second) // t = 60 s
		synctest.Wait()

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
		if v, ok := fields["rss_bytes"].(int64); !ok || v <= 0 {
			t.Errorf("rss_bytes = %#v, want positive", fields["rss_bytes"])
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
	})
}

func TestRunReturnsNilOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stop := start(t, Options{Interval: time.Second, Watchdog: &fakeSystemd{interval: time.Second}})
		time.Sleep(10 * time.Second)
		stop()
	})
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"zero interval", Options{}},
		{"negative interval", Options{Interval: -time.Second}},
		{"status without a notifier", Options{Interval: time.Second, Status: func() string { return "x" }}},
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
