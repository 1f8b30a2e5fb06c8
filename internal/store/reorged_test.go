package store

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// seenDecision is the skip decision of leader fill n, seen in block n.
func seenDecision(n int, side string, shares uint64) Decision {
	d := leaderDecision(n, side, "7", shares)
	d.OrderHash = common.BigToHash(big.NewInt(int64(1000 + n)))
	d.Block, d.BlockHash = uint64(n), common.BigToHash(big.NewInt(int64(5000+n)))
	return d
}

// A leader fill removed by a reorg for good is taken out of the leader book whatever came
// after it: a removed SELL gives the shares back, a removed BUY takes them away, and the
// later fills keep their effect. Each becomes one orphaned decision.
func TestAnOrphanedFillIsUndoneInTheLeaderBook(t *testing.T) {
	s, _ := tempStore(t)
	for _, d := range []Decision{
		seenDecision(1, "BUY", 100*usdc),
		seenDecision(2, "SELL", 40*usdc), // removed later
		seenDecision(3, "BUY", 10*usdc),  // removed later
		seenDecision(4, "BUY", 5*usdc),
	} {
		if err := s.Record(d, nil); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := leaderPos(t, s, "7", 99); v != 75*usdc {
		t.Fatalf("leader book %d, want 75 shares", v)
	}
	fbs, err := s.FillBlocks(2)
	if err != nil || len(fbs) != 3 || fbs[0].Block != 2 || fbs[1].Block != 3 {
		t.Fatalf("fill blocks from 2: %+v (%v)", fbs, err)
	}
	for _, f := range fbs[:2] {
		ok, err := s.Orphan(f, "test")
		if err != nil || !ok {
			t.Fatalf("orphan %s: %v %v", f.ID, ok, err)
		}
	}
	if v, _ := leaderPos(t, s, "7", 99); v != 105*usdc {
		t.Fatalf("leader book %d after the orphans, want 100 + 5 shares", v)
	}
	if ok, err := s.Orphan(fbs[0], "test"); err != nil || ok {
		t.Fatalf("orphaned twice: %v %v", ok, err)
	}
	ds, _ := s.Decisions(t0.Add(-1), 0)
	n := 0
	for _, d := range ds {
		if d.Action == ActionOrphaned {
			n++
		}
	}
	if c, _ := s.OrphanedCount(); n != 2 || c != 2 {
		t.Fatalf("%d orphaned decisions, count %d; want 2", n, c)
	}
	if pruned, err := s.PruneFillBlocks(4); err != nil || pruned != 1 {
		t.Fatalf("pruned %d (%v), want the fill of block 1", pruned, err)
	}
}
