package reorgcheck

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/leaktest"
	"github.com/polybot/polybot/internal/testing/sim"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

// rig is polysim, a state store, and what polybot decided on the leader's fills.
type rig struct {
	t      *testing.T
	sim    *sim.Sim
	node   *ethclient.Client
	st     *store.Store
	leader common.Address
	token  string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	s, err := sim.New(sim.Options{Leaders: 1, Markets: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := ethclient.DialContext(ctx, s.WSURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(node.Close)
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return &rig{t: t, sim: s, node: node, st: st, leader: s.LeaderAddresses()[0], token: sim.MarketToken(0).String()}
}

// buy mines a leader BUY of shares and records polybot's copy of it, as the executor does: the
// decision (which moves the leader book) and the copy's intent, with the block the fill was seen in.
func (r *rig) buy(shares uint64) polymarket.Fill {
	r.t.Helper()
	tx, err := r.sim.EmitMatch(sim.Match{Leader: r.leader, Side: polymarket.Buy, TokenID: sim.MarketToken(0), Shares: shares, Price: 500_000})
	if err != nil {
		r.t.Fatal(err)
	}
	r.commit(1)
	var f polymarket.Fill
	for _, e := range r.sim.Emitted() {
		if e.TxHash == tx {
			f = e
		}
	}
	if f.TxHash != tx {
		r.t.Fatalf("fill of %v not emitted", tx)
	}
	id := store.IntentIDOf(&f)
	d := store.Decision{Leader: f.Maker, Token: f.Market(), Side: f.Side.String(), Action: "copy", Shares: shares, Collateral: shares / 2,
		Tx: f.TxHash, LogIndex: f.LogIndex, OrderHash: f.OrderHash, Nth: f.Nth, LeaderShares: f.Shares,
		Block: f.Block, BlockHash: f.BlockHash, Exchange: f.Exchange}
	in := &store.Intent{ID: id, Leader: f.Maker, Token: f.Market(), Side: f.Side, Shares: shares, Collateral: shares / 2}
	if err := r.st.Record(d, in); err != nil {
		r.t.Fatal(err)
	}
	return f
}

func (r *rig) commit(n int) {
	r.t.Helper()
	for range n {
		if _, err := r.sim.Commit(); err != nil {
			r.t.Fatal(err)
		}
	}
}

// check runs one round of a checker made now, as polybot does at start.
func (r *rig) check(settle uint64) Result {
	r.t.Helper()
	c, err := New(Options{Dial: func(context.Context) (Chain, error) { return r.node, nil }, Store: r.st, Settle: settle, Depth: 64})
	if err != nil {
		r.t.Fatal(err)
	}
	res, err := c.Check(context.Background(), r.node)
	if err != nil {
		r.t.Fatal(err)
	}
	return res
}

func (r *rig) leaderPosition() uint64 {
	r.t.Helper()
	pos, err := r.st.LeaderPositions()
	if err != nil {
		r.t.Fatal(err)
	}
	return pos[r.token][r.leader]
}

func (r *rig) orphaned() []store.Decision {
	r.t.Helper()
	ds, err := r.st.Decisions(time.Time{}, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []store.Decision
	for _, d := range ds {
		if d.Action == store.ActionOrphaned {
			out = append(out, d)
		}
	}
	return out
}

// A reorg while polybot was down removes a copied leader BUY for good (the fork spends its
// transaction's nonce). At the next start the check finds the fill's block replaced and the fill
// nowhere on chain: it records an orphaned decision for it, once, and takes the BUY out of the
// leader book, so that a later leader SELL is copied as the right fraction. The leader's other
// BUY stands.
func TestAFillAReorgRemovedWhilePolybotWasDownIsRecordedOrphaned(t *testing.T) {
	r := newRig(t)
	kept := r.buy(10e6)
	gone := r.buy(30e6)
	if got := r.leaderPosition(); got != 40e6 {
		t.Fatalf("leader book %d before the reorg, want 40e6", got)
	}
	// polybot stops; the chain reorganises without the second BUY.
	replaced, err := r.sim.ReorgReplacing(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(replaced) != 1 || replaced[0] != gone.TxHash {
		t.Fatalf("reorg replaced %v, want the second BUY's transaction", replaced)
	}
	r.commit(1)
	if res := r.check(4); res.Orphaned != 0 || res.Waiting != 1 {
		t.Fatalf("right after the reorg: %+v, want the fill waiting to be included again", res)
	}
	r.commit(4)
	res := r.check(4)
	if res.Orphaned != 1 {
		t.Fatalf("check %+v, want one orphaned fill", res)
	}
	ds := r.orphaned()
	if len(ds) != 1 || ds[0].Tx != gone.TxHash || ds[0].OrderHash != gone.OrderHash || ds[0].Leader != r.leader {
		t.Fatalf("orphaned decisions %+v, want one for %v", ds, gone.TxHash)
	}
	if got := r.leaderPosition(); got != 10e6 {
		t.Fatalf("leader book %d after the orphan, want the surviving 10e6 BUY", got)
	}
	if n, err := r.st.OrphanedCount(); err != nil || n != 1 {
		t.Fatalf("orphaned count %d (%v), want 1", n, err)
	}
	if res := r.check(4); res.Orphaned != 0 {
		t.Fatalf("a second check recorded it again: %+v", res)
	}
	if len(r.orphaned()) != 1 {
		t.Fatal("orphaned decision recorded twice")
	}
	_ = kept
}

// A reorg whose fork includes the fill's transaction again (in another block) did not remove the
// fill: nothing is orphaned, the leader book stands, and the fill's new block is kept.
func TestAFillIncludedAgainAfterAReorgIsNotOrphaned(t *testing.T) {
	r := newRig(t)
	f := r.buy(10e6)
	if err := r.sim.Reorg(1); err != nil {
		t.Fatal(err)
	}
	r.commit(6)
	res := r.check(4)
	if res.Orphaned != 0 || res.Moved != 1 {
		t.Fatalf("check %+v, want the fill moved, none orphaned", res)
	}
	if len(r.orphaned()) != 0 || r.leaderPosition() != 10e6 {
		t.Fatalf("orphaned %v, leader book %d: want none and 10e6", r.orphaned(), r.leaderPosition())
	}
	fb, err := r.st.FillBlocks(0)
	if err != nil || len(fb) != 1 || fb[0].BlockHash == f.BlockHash {
		t.Fatalf("fill blocks %+v (%v), want the fill at its new block", fb, err)
	}
	if res := r.check(4); res.Moved != 0 || res.Orphaned != 0 {
		t.Fatalf("second check %+v, want nothing to do", res)
	}
}
