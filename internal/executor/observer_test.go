package executor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/polymarket"
)

// outcomes is an Observer that counts what it is told.
type outcomes struct {
	mu   sync.Mutex
	seen map[string]int
	neg  bool
}

func (o *outcomes) ObserveCopy(outcome string, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.seen == nil {
		o.seen = map[string]int{}
	}
	o.seen[outcome]++
	o.neg = o.neg || d < 0
}

func (o *outcomes) count(outcome string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.seen[outcome]
}

func TestObserverHearsEveryOutcome(t *testing.T) {
	obs := &outcomes{}
	rec := &recorder{}
	e, err := New(Options{
		Broker:   rec,
		Store:    openStore(t, t.TempDir()),
		Strategy: policy("1", 0),
		Observer: obs,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, time.Second) }()
	submit := func(f polymarket.Fill) {
		t.Helper()
		if err := e.Submit(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	submit(fill(alice, polymarket.Buy, 1, 10_000_000, 5_000_000, 0))  // copied
	submit(fill(bob, polymarket.Buy, 2, 10_000_000, 5_000_000, 1))    // skipped: bob is not copied
	submit(fill(alice, polymarket.Sell, 3, 10_000_000, 5_000_000, 2)) // skipped: nothing held
	deadline := time.Now().Add(10 * time.Second)
	for obs.count("copied")+obs.count("skipped") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("observer heard %v", obs.seen)
		}
		time.Sleep(time.Millisecond)
	}
	rec.mu.Lock()
	rec.fail = broker.ErrRefused
	rec.mu.Unlock()
	submit(fill(alice, polymarket.Buy, 4, 10_000_000, 5_000_000, 3)) // failed
	for obs.count("failed") < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("observer heard %v", obs.seen)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if obs.count("copied") != 1 || obs.count("skipped") != 2 || obs.count("failed") != 1 || obs.neg {
		t.Fatalf("observer heard %v (negative duration %v), want 1 copied, 2 skipped, 1 failed", obs.seen, obs.neg)
	}
	if st := e.Stats(); st.Copied != 1 || st.Skipped != 2 || st.Failed != 1 {
		t.Fatalf("stats %+v disagree with the observer", st)
	}
}
