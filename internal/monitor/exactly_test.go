package monitor

import (
	"context"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/checkpoint"
	"github.com/polybot/polybot/internal/polymarket"
)

// refusingSink takes the first `take` fills; from then on it behaves like an executor whose
// queue is full at shutdown: it blocks until ctx ends and returns ctx's error (the fill was not
// taken).
type refusingSink struct {
	*sink
	take    int
	mu      sync.Mutex
	n       int
	blocked chan struct{}
}

func (r *refusingSink) handle(ctx context.Context, f polymarket.Fill) error {
	r.mu.Lock()
	r.n++
	n := r.n
	r.mu.Unlock()
	if n <= r.take {
		return r.sink.handle(ctx, f)
	}
	if n == r.take+1 {
		close(r.blocked)
	}
	<-ctx.Done()
	return ctx.Err()
}

// A fill whose hand-off is cut off by shutdown (SIGTERM while the executor's queue is full) is
// not lost: the checkpoint stays before it, and the next start hands it on.
func TestShutdownDuringAHandOffKeepsTheFill(t *testing.T) {
	node := &fakeNode{}
	cp := &checkpoint.Memory{}
	rs := &refusingSink{sink: newSink(), take: 1, blocked: make(chan struct{})}
	first := newHarness(t, node, func(o *Options) { o.Checkpoint = cp; o.Handler = rs.handle })
	want := []types.Log{node.mine(leaderLog(leader, 1e6), true)}
	node.mineEmpty()
	until(t, "the checkpoint to pass the first fill", func() bool { b, _, _ := cp.Load(); return b >= 1 })
	for range 3 {
		want = append(want, node.mine(leaderLog(leader, 1e6), true))
	}
	<-rs.blocked // the second fill is being handed on, and the executor does not take it
	first.stop(t)
	if b, _, _ := cp.Load(); b >= want[1].BlockNumber {
		// Before: finish found the fill marked seen and moved the checkpoint past it.
		t.Fatalf("checkpoint %d passed block %d, whose fill was never taken", b, want[1].BlockNumber)
	}

	second := newHarness(t, node, func(o *Options) { o.Checkpoint = cp })
	second.sink.wait(t, 3)
	exactlyOnce(t, []*sink{rs.sink, second.sink}, want)
}

// The same during the catch-up backfill (one block per eth_getLogs, so the checkpoint moves
// after each): the checkpoint does not pass the fill.
func TestShutdownDuringABackfillHandOffKeepsTheFill(t *testing.T) {
	node := &fakeNode{}
	var want []types.Log
	for range 4 {
		want = append(want, node.mine(leaderLog(leader, 1e6), false))
	}
	cp := &checkpoint.Memory{}
	rs := &refusingSink{sink: newSink(), take: 1, blocked: make(chan struct{})}
	m, err := New(Options{Dial: node.dial, Exchanges: []common.Address{exchange}, Leaders: []common.Address{leader},
		Dedup: mustDedup(t), Handler: rs.handle, StartBlock: 1, Checkpoint: cp, BackfillChunk: 1, Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	<-rs.blocked
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if b, _, _ := cp.Load(); b >= want[1].BlockNumber {
		t.Fatalf("checkpoint %d passed block %d, whose fill was never taken", b, want[1].BlockNumber)
	}
	second := newHarness(t, node, func(o *Options) { o.Checkpoint = cp; o.StartBlock = 1 })
	second.sink.wait(t, 3)
	exactlyOnce(t, []*sink{rs.sink, second.sink}, want)
}
