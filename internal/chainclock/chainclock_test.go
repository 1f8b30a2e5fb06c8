package chainclock

import (
	"context"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var chainT0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// node is a chain whose head was stamped at headTime.
type node struct {
	mu       sync.Mutex
	headTime time.Time
	n        uint64
}

func (c *node) HeaderByNumber(context.Context, *big.Int) (*types.Header, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return &types.Header{Number: new(big.Int).SetUint64(c.n), Time: uint64(c.headTime.Unix())}, nil
}

func newWatcher(t *testing.T, c *node, now *time.Time) (*Watcher, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	w, err := New(Options{Dial: func(context.Context) (Chain, error) { return c, nil }, Now: func() time.Time { return *now }, Log: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	return w, logs
}

func TestASystemClockAnHourAheadIsReportedAndCorrected(t *testing.T) {
	c := &node{headTime: chainT0}
	now := chainT0.Add(time.Hour + time.Second) // an hour ahead, and the head a second old
	w, logs := newWatcher(t, c, &now)
	if err := w.Sample(context.Background()); err != nil {
		t.Fatal(err)
	}
	if skew, ok := w.Skew(); !ok || skew != time.Hour+time.Second {
		t.Fatalf("skew %s %v, want 1h0m1s", skew, ok)
	}
	if got := w.Now(); !got.Equal(chainT0) {
		t.Fatalf("chain time %s, want the head's %s", got, chainT0)
	}
	if n := logs.FilterMessageSnippet("system clock is off").Len(); n != 1 {
		t.Fatalf("%d warnings about the clock, want 1", n)
	}
	// Fixed: the warning is lifted once the window's samples agree.
	now = chainT0.Add(2 * time.Second)
	for range DefaultWindow {
		if err := w.Sample(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if skew, _ := w.Skew(); skew != 2*time.Second || !w.Now().Equal(now) {
		t.Fatalf("after the clock was fixed: skew %s, Now %s", skew, w.Now())
	}
	if logs.FilterMessageSnippet("agrees with the chain").Len() != 1 || logs.FilterMessageSnippet("system clock is off").Len() != 1 {
		t.Fatalf("logs %v: want one warning and one all-clear", logs.All())
	}
}

func TestAClockBehindIsReportedToo(t *testing.T) {
	c := &node{headTime: chainT0}
	now := chainT0.Add(-10 * time.Minute)
	w, logs := newWatcher(t, c, &now)
	if err := w.Sample(context.Background()); err != nil {
		t.Fatal(err)
	}
	if skew, _ := w.Skew(); skew != -10*time.Minute || !w.Now().Equal(chainT0) || logs.Len() != 1 {
		t.Fatalf("skew %s, Now %s, %d log lines", skew, w.Now(), logs.Len())
	}
}

// A head that arrives late (a lagging node) is not read as a wrong clock: the estimate is the
// smallest lead of the window.
func TestALateHeadIsNotAClockSkew(t *testing.T) {
	c := &node{headTime: chainT0}
	now := chainT0.Add(2 * time.Second)
	w, logs := newWatcher(t, c, &now)
	_ = w.Sample(context.Background())
	now = chainT0.Add(45 * time.Second) // the node's head stalled for 45 s
	_ = w.Sample(context.Background())
	if skew, _ := w.Skew(); skew != 2*time.Second || logs.Len() != 0 || !w.Now().Equal(now) {
		t.Fatalf("skew %s, %d log lines, Now %s: a late head read as a clock skew", skew, logs.Len(), w.Now())
	}
}

func TestRunSamplesUntilCancelled(t *testing.T) {
	c := &node{headTime: chainT0}
	now := chainT0
	w, _ := newWatcher(t, c, &now)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for {
		if _, ok := w.Skew(); ok {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestTheGenesisBlockIsNoClock(t *testing.T) {
	c := &node{headTime: time.Unix(0, 0)}
	c.n = ^uint64(0) // the next header is block 0
	now := chainT0
	w, _ := newWatcher(t, c, &now)
	if err := w.Sample(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.Skew(); ok {
		t.Fatal("a genesis block's time 0 was read as a clock skew of 56 years")
	}
}
