package monitor

import (
	"testing"
	"time"
)

// A block whose logs cannot be read bound to it holds the checkpoint, even though a range
// answer showed its fill: here eth_getLogs{blockHash} always answers [] and the receipts lack
// one (their root is not the header's). Once the receipts are whole, they prove the block.
func TestABlockNotReadBoundHoldsTheCheckpoint(t *testing.T) {
	node := &fakeNode{noSubs: true, hideByHash: true, shortReceipts: true}
	cp := &memCheckpoint{}
	node.mine(leaderLog(leader, 1e6), false)
	node.mineEmpty()
	h := newHarness(t, node, func(o *Options) { o.Checkpoint = cp; o.PollInterval = time.Millisecond })
	h.sink.wait(t, 1) // the range read found it
	until(t, "a few held reads", func() bool { return h.mon.BoundStats().Held >= 3 })
	if b, ok, _ := cp.Load(); ok && b >= 1 {
		t.Fatalf("checkpoint %d passed block 1, whose logs were never read bound to it", b)
	}
	node.mu.Lock()
	node.shortReceipts = false
	node.mu.Unlock()
	until(t, "the checkpoint to pass block 2", func() bool { b, _, _ := cp.Load(); return b >= 2 })
	if st := h.mon.BoundStats(); st.ByReceipts == 0 {
		t.Fatalf("block 1 passed without its receipts: %+v", st)
	}
	h.stop(t)
	if got := len(h.sink.fills); got != 1 {
		t.Fatalf("handed on %d fills, want 1", got)
	}
}

// Headers that do not chain (a batch answered from two forks) hold the read at the break.
func TestHeadersThatDoNotChainHoldTheCheckpoint(t *testing.T) {
	node := &fakeNode{noSubs: true, forkAt: 3}
	cp := &memCheckpoint{}
	for range 4 {
		node.mineEmpty()
	}
	h := newHarness(t, node, func(o *Options) { o.Checkpoint = cp; o.PollInterval = time.Millisecond })
	until(t, "a few held reads", func() bool { return h.mon.BoundStats().Held >= 3 })
	if b, _, _ := cp.Load(); b != 2 {
		t.Fatalf("checkpoint %d, want 2: block 3's header names another parent", b)
	}
	node.mu.Lock()
	node.forkAt = 0
	node.mu.Unlock()
	until(t, "the checkpoint to pass block 4", func() bool { b, _, _ := cp.Load(); return b >= 4 })
}
