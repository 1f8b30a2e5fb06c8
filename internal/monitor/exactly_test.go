package monitor

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"go.uber.org/zap/zaptest"

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
	cp := &memCheckpoint{}
	rs := &refusingSink{sink: newSink(), take: 1, blocked: make(chan struct{})}
	first := newHarness(t, node, func(o *Options) { o.Checkpoint = cp; o.Handler = rs.handle; o.CheckpointEvery = time.Nanosecond })
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
	cp := &memCheckpoint{}
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

// A node that announces the next head before it delivers a block's log (the log comes late),
// and a restart before it comes: the live checkpoint never passed the block on the heads'
// word alone, so the next start reads the fill from the chain.
func TestALateLogIsNotSkippedAcrossARestart(t *testing.T) {
	node := &fakeNode{}
	cp := &memCheckpoint{}
	first := newHarness(t, node, func(o *Options) { o.Checkpoint = cp; o.CheckpointEvery = time.Hour })
	late := node.mine(leaderLog(leader, 1e6), false) // block 1: its log is still on its way
	node.mineEmpty()                                 // 2
	node.mineEmpty()                                 // 3
	until(t, "head 3", func() bool { return first.mon.Stats().Head == 3 })
	first.stop(t) // restarted before the log arrived
	if b, ok, _ := cp.Load(); ok && b >= late.BlockNumber {
		t.Fatalf("checkpoint %d passed block %d, whose log was never received", b, late.BlockNumber)
	}

	second := newHarness(t, node, func(o *Options) { o.Checkpoint = cp; o.CheckpointEvery = time.Hour })
	second.sink.wait(t, 1)
	exactlyOnce(t, []*sink{first.sink, second.sink}, []types.Log{late})
}

// The checkpoint check takes the late log from eth_getLogs; its late delivery is a duplicate,
// and the checkpoint then passes it: a restart hands on only what is new.
func TestTheCheckpointCheckHandsOnALateLogOnce(t *testing.T) {
	node := &fakeNode{}
	cp := &memCheckpoint{}
	first := newHarness(t, node, func(o *Options) { o.Checkpoint = cp; o.CheckpointEvery = time.Nanosecond })
	late := node.mine(leaderLog(leader, 1e6), false) // block 1
	node.mineEmpty()                                 // 2: the check covers block 1
	first.sink.wait(t, 1)
	node.deliver(late) // it arrives at last
	until(t, "the late delivery to be dropped", func() bool { return first.mon.Stats().Duplicates == 1 })
	until(t, "the checkpoint to pass block 1", func() bool { b, _, _ := cp.Load(); return b >= 1 })
	first.stop(t)

	second := newHarness(t, node, func(o *Options) { o.Checkpoint = cp; o.CheckpointEvery = time.Nanosecond })
	next := node.mine(leaderLog(leader, 2e6), true)
	second.sink.wait(t, 1)
	exactlyOnce(t, []*sink{first.sink, second.sink}, []types.Log{late, next})
}
