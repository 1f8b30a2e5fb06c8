package logging

import (
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newLimiter(t *testing.T, level zapcore.Level, every time.Duration, burst int) (*RateLimiter, *observer.ObservedLogs, *fakeClock) {
	t.Helper()
	core, logs := observer.New(level)
	clock := &fakeClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	return RateLimited(zap.New(core), every, burst, WithClock(clock.Now)), logs, clock
}

func suppressed(e observer.LoggedEntry) int64 {
	if v, ok := e.ContextMap()[SuppressedKey]; ok {
		return v.(int64)
	}
	return 0
}

func TestRateLimiterSuppressesAndCounts(t *testing.T) {
	type step struct {
		advance time.Duration
		calls   int
	}
	tests := []struct {
		name           string
		burst          int
		steps          []step
		wantLines      int
		wantSuppressed []int64 // suppressed field of each written line
	}{
		{
			name: "a burst is written, the rest dropped", burst: 3,
			steps:     []step{{0, 10}},
			wantLines: 3, wantSuppressed: []int64{0, 0, 0},
		},
		{
			name: "the line after the pause reports how many were dropped", burst: 1,
			steps:     []step{{0, 5}, {time.Minute, 1}},
			wantLines: 2, wantSuppressed: []int64{0, 4},
		},
		{
			name: "the count restarts after being reported", burst: 1,
			steps:     []step{{0, 3}, {time.Minute, 1}, {time.Second, 2}, {time.Minute, 1}},
			wantLines: 3, wantSuppressed: []int64{0, 2, 2},
		},
		{
			name: "a slow retry loop is never limited", burst: 1,
			steps:     []step{{0, 1}, {time.Minute, 1}, {time.Minute, 1}},
			wantLines: 3, wantSuppressed: []int64{0, 0, 0},
		},
		{
			name: "half the interval is not enough", burst: 1,
			steps:     []step{{0, 1}, {30 * time.Second, 1}, {30 * time.Second, 1}},
			wantLines: 2, wantSuppressed: []int64{0, 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, logs, clock := newLimiter(t, zapcore.DebugLevel, time.Minute, tt.burst)
			for _, s := range tt.steps {
				clock.Advance(s.advance)
				for range s.calls {
					r.Error("dial rpc failed", zap.String("url", "wss://rpc.example.com"))
				}
			}
			entries := logs.All()
			if len(entries) != tt.wantLines {
				t.Fatalf("wrote %d lines, want %d", len(entries), tt.wantLines)
			}
			for i, e := range entries {
				if got := suppressed(e); got != tt.wantSuppressed[i] {
					t.Errorf("line %d: suppressed = %d, want %d", i, got, tt.wantSuppressed[i])
				}
				if e.Message != "dial rpc failed" || e.Level != zapcore.ErrorLevel || e.ContextMap()["url"] != "wss://rpc.example.com" {
					t.Errorf("line %d = %+v", i, e)
				}
			}
		})
	}
}

func TestRateLimiterKeysByMessage(t *testing.T) {
	r, logs, _ := newLimiter(t, zapcore.DebugLevel, time.Minute, 1)
	for range 3 {
		r.Warn("dial rpc failed")
		r.Warn("fetch order book failed")
	}
	if n := logs.FilterMessage("dial rpc failed").Len(); n != 1 {
		t.Errorf("dial lines = %d, want 1", n)
	}
	if n := logs.FilterMessage("fetch order book failed").Len(); n != 1 {
		t.Errorf("order book lines = %d, want 1", n)
	}
}

func TestRateLimiterFlushReportsPendingCounts(t *testing.T) {
	r, logs, _ := newLimiter(t, zapcore.DebugLevel, time.Minute, 1)
	for range 4 {
		r.Error("dial rpc failed")
	}
	r.Flush()
	all := logs.All()
	if len(all) != 2 || suppressed(all[1]) != 3 || all[1].Level != zapcore.ErrorLevel {
		t.Fatalf("after Flush got %+v, want a second line with suppressed=3", all)
	}
	r.Flush()
	if logs.Len() != 2 {
		t.Fatalf("a second Flush wrote again: %d lines", logs.Len())
	}
}

func TestRateLimiterIgnoresDisabledLevels(t *testing.T) {
	r, logs, _ := newLimiter(t, zapcore.InfoLevel, time.Minute, 1)
	for range 5 {
		r.Debug("polled head")
	}
	r.Flush()
	if logs.Len() != 0 {
		t.Fatalf("debug lines written at info level: %d", logs.Len())
	}
}

func TestRateLimiterReportsTheCallersLine(t *testing.T) {
	off := false
	// JSON lines carry the caller (console lines, for people, do not).
	log, _, buf := newTestLogger(t, Options{Journald: &off, Format: FormatJSON})
	RateLimited(log, time.Minute, 1).Error("dial rpc failed")
	if !strings.Contains(buf.String(), "ratelimit_test.go") {
		t.Fatalf("caller is not the test: %q", buf)
	}
}

func TestRateLimiterIsSafeForConcurrentUse(t *testing.T) {
	r, logs, _ := newLimiter(t, zapcore.DebugLevel, time.Hour, 5)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				r.Error("dial rpc failed")
			}
		}()
	}
	wg.Wait()
	r.Flush()
	all := logs.All()
	var total int64
	for _, e := range all {
		total += 1 + suppressed(e)
	}
	// Five lines written, then one flush line carrying the other 795.
	if len(all) != 6 || total != 800+1 {
		t.Fatalf("%d lines accounting for %d calls, want 6 lines for 800 calls (+1 for the flush line)", len(all), total)
	}
}

func ExampleRateLimited() {
	log := zap.NewExample()
	limited := RateLimited(log, time.Minute, 1)
	for range 3 {
		limited.Error("dial rpc failed", zap.String("url", "wss://rpc.example.com"))
	}
	limited.Flush()
	// Output:
	// {"level":"error","msg":"dial rpc failed","url":"wss://rpc.example.com"}
	// {"level":"error","msg":"dial rpc failed","suppressed":2}
}
