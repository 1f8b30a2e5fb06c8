package monitor

import (
	"testing"

	"github.com/polybot/polybot/internal/dedup"
)

// TestARemovedUnknownLogEvictsNothingFromAFullCache: a reorg removes a log polybot never
// handled while the dedup cache is full. Asking the cache whether it was handled must not push
// out a real entry, or that entry's log, delivered again (a resubscription, an overlapping
// backfill), would be copied a second time.
func TestARemovedUnknownLogEvictsNothingFromAFullCache(t *testing.T) {
	node := &fakeNode{}
	cache, err := dedup.New(dedup.Options{Capacity: 2})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, node, func(o *Options) { o.Dedup = cache })
	a := node.mine(leaderLog(leader, 1e6), true)
	node.mine(leaderLog(leader, 2e6), true)
	h.sink.wait(t, 2) // the cache is full: a and b

	unknown := leaderLog(leader, 3e6)
	unknown.BlockNumber, unknown.BlockHash, unknown.Removed = 2, blockHash(2), true
	node.deliver(unknown)
	until(t, "the removal", func() bool { return h.mon.Stats().Removed == 1 })

	node.deliver(a) // the oldest entry, delivered again
	until(t, "the redelivery", func() bool { st := h.mon.Stats(); return st.Duplicates+st.Fills == 3 })
	if st := h.mon.Stats(); st.Fills != 2 || st.Duplicates != 1 {
		t.Fatalf("fills %d, duplicates %d after a redelivery; want 2 and 1: the probe of the removed log evicted a handled one",
			st.Fills, st.Duplicates)
	}
	if got := cache.Stats().Evictions; got != 0 {
		t.Errorf("dedup evictions = %d, want 0", got)
	}
}
