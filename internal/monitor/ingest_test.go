package monitor

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/polybot/polybot/internal/dedup"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/chainlog"
)

// until waits for cond, failing the test after a generous deadline.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// exactlyOnce checks that the sink handled each of want once and nothing else.
func exactlyOnce(t *testing.T, sinks []*sink, want []types.Log) {
	t.Helper()
	got := map[common.Hash]int{}
	for _, s := range sinks {
		s.mu.Lock()
		for _, f := range s.fills {
			got[f.TxHash]++
		}
		s.mu.Unlock()
	}
	for _, l := range want {
		if got[l.TxHash] != 1 {
			t.Errorf("fill %s in block %d handled %d times, want once", l.TxHash, l.BlockNumber, got[l.TxHash])
		}
		delete(got, l.TxHash)
	}
	for tx, n := range got {
		t.Errorf("unexpected fill %s handled %d times", tx, n)
	}
}

func TestRestartResumesFromTheCheckpointWithoutRepeatsOrGaps(t *testing.T) {
	node := &fakeNode{}
	cp := &memCheckpoint{}
	withCP := func(o *Options) { o.Checkpoint = cp; o.StartBlock = 0 }

	var want []types.Log
	first := newHarness(t, node, withCP)
	for range 3 {
		want = append(want, node.mine(leaderLog(leader, 1e6), true))
	}
	first.sink.wait(t, 3)
	// Heads and logs arrive on separate subscriptions; stop once the monitor has seen head 3.
	until(t, "head 3", func() bool { return first.mon.Stats().Head == 3 })
	first.stop(t)
	if b, ok, _ := cp.Load(); !ok || b != 3 {
		t.Fatalf("checkpoint after a clean stop = %d (saved %v), want 3: the last block's fills were handled", b, ok)
	}

	// Mined while polybot was down.
	want = append(want, node.mine(leaderLog(leader, 2e6), false))
	node.mineEmpty()
	want = append(want, node.mine(leaderLog(leader, 3e6), false))

	second := newHarness(t, node, withCP) // a fresh dedup cache, as after a restart
	second.sink.wait(t, 2)
	want = append(want, node.mine(leaderLog(leader, 4e6), true))
	second.sink.wait(t, 3)
	exactlyOnce(t, []*sink{first.sink, second.sink}, want)
}

func TestCheckpointTakesPrecedenceOverStartBlock(t *testing.T) {
	node := &fakeNode{}
	node.mine(leaderLog(leader, 1e6), false)
	node.mine(leaderLog(leader, 1e6), false)
	late := node.mine(leaderLog(leader, 1e6), false)
	cp := &memCheckpoint{}
	_ = cp.Save(2)
	h := newHarness(t, node, func(o *Options) { o.Checkpoint = cp; o.StartBlock = 1 })
	h.sink.wait(t, 1)
	live := node.mine(leaderLog(leader, 1e6), true)
	h.sink.wait(t, 2)
	exactlyOnce(t, []*sink{h.sink}, []types.Log{late, live})
}

func TestBackfillHalvesTheRangeWhenTheNodeRefusesIt(t *testing.T) {
	node := &fakeNode{maxRange: 3}
	var want []types.Log
	for range 20 {
		want = append(want, node.mine(leaderLog(leader, 1e6), false))
	}
	h := newHarness(t, node, func(o *Options) { o.BackfillChunk = 16 })
	h.sink.wait(t, 20)
	// The seam: a fill mined right after the backfill arrives live, once.
	want = append(want, node.mine(leaderLog(leader, 1e6), true))
	h.sink.wait(t, 21)
	exactlyOnce(t, []*sink{h.sink}, want)
	// 16→8→4→2; after chain.SpanGrowAfter answered calls it grows back to 4, which the node
	// refuses once more.
	if st := h.mon.Stats(); st.ChunkHalvings != 4 || st.Reconnects != 0 {
		t.Fatalf("want the chunk halved 16→8→4→2, grown back to 4 and halved again, without reconnecting: %+v", st)
	}
}

func TestSilentSubscriptionIsCrossCheckedAndResubscribed(t *testing.T) {
	clock := &mclock.Simulated{}
	node := &fakeNode{}
	h := newHarness(t, node, func(o *Options) { o.Clock = clock; o.SilenceAfter = 2 * time.Minute })

	// Leaders inactive: a long silence is normal and not checked.
	clock.Run(5 * time.Minute)
	node.mineEmpty()
	first := node.mine(leaderLog(leader, 1e6), true)
	h.sink.wait(t, 1)
	if st := h.mon.Stats(); st.SilenceChecks != 0 {
		t.Fatalf("checked a subscription while the leaders were idle: %+v", st)
	}

	// Active leaders, then the subscription goes quiet while blocks keep coming.
	lost := node.mine(leaderLog(leader, 2e6), false)
	// The silence check covers the blocks up to the head the monitor knows: let it see the lost
	// fill's block before the silence elapses.
	until(t, "the head of the lost fill's block", func() bool { return h.mon.Stats().Head >= lost.BlockNumber })
	clock.Run(3 * time.Minute)
	node.mineEmpty()
	h.sink.wait(t, 2)
	h.waitSubscribed(t) // resubscribed after the finding
	st := h.mon.Stats()
	if st.SilenceChecks != 1 || st.Missed != 1 {
		t.Fatalf("want one check that found one missed fill: %+v", st)
	}
	exactlyOnce(t, []*sink{h.sink}, []types.Log{first, lost})
}

func TestHealthyToleratesAShortDisconnectOnly(t *testing.T) {
	clock := &mclock.Simulated{}
	node := &fakeNode{}
	h := newHarness(t, node, func(o *Options) { o.Clock = clock; o.HeadStaleAfter = time.Minute })
	if err := h.mon.Healthy(); err != nil {
		t.Fatalf("unhealthy while subscribed: %v", err)
	}
	node.mu.Lock()
	node.dialErr = errors.New("connection refused")
	node.mu.Unlock()
	node.drop()
	until(t, "the monitor to notice the drop", func() bool { return !h.mon.Stats().Subscribed })

	clock.Run(30 * time.Second)
	if err := h.mon.Healthy(); err != nil {
		t.Fatalf("unhealthy 30 s into a disconnect (bound 60 s): %v", err)
	}
	if s := h.mon.State(); !strings.HasPrefix(s, "reconnecting") {
		t.Fatalf("State() = %q during a disconnect, want it to say reconnecting", s)
	}
	clock.Run(31 * time.Second)
	until(t, "Healthy to fail with the dial error after 61 s without the node", func() bool {
		err := h.mon.Healthy()
		return err != nil && strings.Contains(err.Error(), "connection refused")
	})

	node.mu.Lock()
	node.dialErr = nil
	node.mu.Unlock()
	for h.mon.Stats().Subscribed == false {
		clock.Run(time.Second) // let the backoff elapse
		time.Sleep(time.Millisecond)
	}
	h.waitSubscribed(t)
	node.mineEmpty()
	until(t, "the new head", func() bool { return h.mon.Healthy() == nil })
}

func TestPollingWithoutSubscriptions(t *testing.T) {
	node := &fakeNode{noSubs: true}
	var want []types.Log
	want = append(want, node.mine(leaderLog(leader, 1e6), false))
	h := newHarness(t, node, func(o *Options) {
		o.PollInterval = 5 * time.Millisecond
		o.MinBackoff, o.RateLimitBackoff, o.MaxBackoff = time.Millisecond, 20*time.Millisecond, 50*time.Millisecond
	})
	h.sink.wait(t, 1)
	if st := h.mon.Stats(); !st.Polling || !st.Subscribed || h.mon.State() != "polling" {
		t.Fatalf("want polling: %+v %q", st, h.mon.State())
	}
	want = append(want, node.mine(leaderLog(leader, 2e6), false))
	h.sink.wait(t, 2)

	node.mu.Lock()
	node.filterErrs = []error{errors.New("429 Too Many Requests: rate limit exceeded")}
	node.mu.Unlock()
	want = append(want, node.mine(leaderLog(leader, 3e6), false))
	h.sink.wait(t, 3)
	// The checkpoint is saved after the fill is handed on: wait for it to reach block 3.
	for deadline := time.Now().Add(10 * time.Second); h.mon.Stats().Checkpoint != 3 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if st := h.mon.Stats(); st.RateLimited != 1 || st.Checkpoint != 3 {
		t.Fatalf("want one rate-limited poll and the checkpoint at block 3: %+v", st)
	}
	exactlyOnce(t, []*sink{h.sink}, want)
}

type removals struct {
	mu    sync.Mutex
	fills []polymarket.Fill
}

func (r *removals) add(f polymarket.Fill) {
	r.mu.Lock()
	r.fills = append(r.fills, f)
	r.mu.Unlock()
}

func (r *removals) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.fills)
}

func TestConfirmationsDelayFillsAndDropRemovedOnes(t *testing.T) {
	node := &fakeNode{}
	rm := &removals{}
	cp := &memCheckpoint{}
	h := newHarness(t, node, func(o *Options) { o.Confirmations = 2; o.OnRemoved = rm.add; o.Checkpoint = cp })

	kept := node.mine(leaderLog(leader, 1e6), true) // block 1
	node.mineEmpty()                                // 2
	until(t, "the fill to wait", func() bool { return h.mon.Stats().Pending == 1 })
	if h.sink.len() != 0 {
		t.Fatal("fill handled one block deep, want two")
	}
	node.mineEmpty() // 3: block 1 is two deep
	h.sink.wait(t, 1)

	reverted := node.mine(leaderLog(leader, 2e6), true) // 4
	gone := reverted
	gone.Removed = true
	node.deliver(gone)
	later := node.mine(leaderLog(leader, 3e6), true) // 5
	node.mineEmpty()                                 // 6: block 4 would be released here
	node.mineEmpty()                                 // 7: block 5 is
	h.sink.wait(t, 2)
	exactlyOnce(t, []*sink{h.sink}, []types.Log{kept, later})
	if rm.len() != 0 {
		t.Fatal("OnRemoved called for a fill that was never handed on")
	}
	if b, _, _ := cp.Load(); b > 7-2 {
		t.Fatalf("checkpoint %d passed head-confirmations", b)
	}
}

func TestRemovedAfterHandlingIsReported(t *testing.T) {
	node := &fakeNode{}
	rm := &removals{}
	h := newHarness(t, node, func(o *Options) { o.OnRemoved = rm.add })
	l := node.mine(leaderLog(leader, 1e6), true)
	h.sink.wait(t, 1)
	gone := l
	gone.Removed = true
	node.deliver(gone)
	until(t, "OnRemoved", func() bool { return rm.len() == 1 })
	if f := rm.fills[0]; f.TxHash != l.TxHash || f.Shares != 1e6 {
		t.Fatalf("OnRemoved(%+v), want the handled fill", f)
	}
	// Included again after the reorg: a new fill to copy.
	node.deliver(l)
	h.sink.wait(t, 2)
}

func TestFailsOverToTheFallbackNode(t *testing.T) {
	primary := &fakeNode{dialErr: errors.New("connection refused")}
	fallback := &fakeNode{}
	h := newHarness(t, primary, func(o *Options) {
		o.FallbackDial = fallback.dial
		o.FailoverAfter = 2
		o.MinBackoff, o.MaxBackoff = time.Millisecond, 5*time.Millisecond
	})
	l := fallback.mine(leaderLog(leader, 1e6), true)
	h.sink.wait(t, 1)
	st := h.mon.Stats()
	if !st.Fallback || st.Failovers != 1 || st.Reconnects != 2 || !strings.Contains(h.mon.State(), "fallback") {
		t.Fatalf("want one failover after two refused dials: %+v", st)
	}
	exactlyOnce(t, []*sink{h.sink}, []types.Log{l})
}

func TestOnlyTheLeadersOwnFillsOfBothVersionsCount(t *testing.T) {
	node := &fakeNode{}
	h := newHarness(t, node)

	txSeq++
	v1 := polymarket.Fill{Exchange: exchange, Maker: leader, Taker: exchange, Side: polymarket.Sell, TokenID: big.NewInt(5), Shares: 4e6, Collateral: 1e6}
	topics, data := chainlog.Trade{OrderHash: v1.OrderHash, Maker: v1.Maker, Taker: v1.Taker, Sell: v1.Side == polymarket.Sell, TokenID: v1.TokenID, Shares: v1.Shares, Collateral: v1.Collateral, Fee: v1.Fee}.V1()
	v1Log := node.mine(types.Log{Address: exchange, Topics: topics, Data: data, TxHash: common.BigToHash(big.NewInt(int64(txSeq))), Index: 3}, true)

	// The leader as taker (topic 3): a hostile node delivering it anyway must not make it count.
	taker := leaderLog(stranger, 1e6)
	taker.Topics[3] = polymarket.LeaderTopic(leader)
	node.deliver(taker)
	matched := leaderLog(leader, 1e6)
	matched.Topics[0] = polymarket.OrdersMatchedV2Topic
	node.deliver(matched)

	v2Log := node.mine(leaderLog(leader, 2e6), true)
	h.sink.wait(t, 2)
	exactlyOnce(t, []*sink{h.sink}, []types.Log{v1Log, v2Log})
	if st := h.mon.Stats(); st.Ignored != 2 {
		t.Fatalf("want the taker-side fill and OrdersMatched ignored: %+v", st)
	}
}

func TestNewRejectsBadDurations(t *testing.T) {
	node := &fakeNode{}
	base := func() Options {
		return Options{Dial: node.dial, Exchanges: []common.Address{exchange}, Dedup: mustDedup(t),
			Handler: func(context.Context, polymarket.Fill) error { return nil }}
	}
	for name, tweak := range map[string]func(*Options){
		"negative silence":     func(o *Options) { o.SilenceAfter = -time.Second },
		"negative poll":        func(o *Options) { o.PollInterval = -time.Second },
		"min above max":        func(o *Options) { o.MinBackoff, o.MaxBackoff = time.Minute, time.Second },
		"negative failover at": func(o *Options) { o.FailoverAfter = -1 },
	} {
		o := base()
		tweak(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(base()); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
}

func mustDedup(t *testing.T) *dedup.Cache {
	t.Helper()
	c, err := dedup.New(dedup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// memCheckpoint is a Checkpointer kept in memory, standing for the state store.
type memCheckpoint struct {
	mu    sync.Mutex
	block uint64
	ok    bool
}

func (c *memCheckpoint) Load() (uint64, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.block, c.ok, nil
}

func (c *memCheckpoint) Save(block uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.block, c.ok = block, true
	return nil
}
