package store

import (
	"math/big"
	"strconv"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/polymarket"
)

func TestAResolvedMarketClosesThePositionAtItsPayout(t *testing.T) {
	s, c := tempStore(t)
	copyFill(t, s, intent(1, alice, "7", polymarket.Buy, 10*usdc, 4*usdc))
	copyFill(t, s, intent(2, bob, "7", polymarket.Buy, 6*usdc, 3*usdc))
	copyFill(t, s, intent(3, alice, "8", polymarket.Buy, 5*usdc, 2*usdc))
	cid := common.HexToHash("0xc1")
	if err := s.SetMarket("7", Market{Condition: cid, Outcome: 1, Slots: 2}); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Hour)
	// Outcome 1 of 2 wins: 16 shares pay 16 USDC against a cost of 7.
	p, found, err := s.Resolve("7", big.NewInt(1), big.NewInt(1), common.HexToHash("0xee"), 99, c.t)
	if err != nil || !found {
		t.Fatalf("resolve: %v found=%v", err, found)
	}
	if r := p.Resolution; r == nil || r.Payout != 16*usdc || r.PnL != 9*usdc || r.Shares != 16*usdc || p.Realised != 9*usdc {
		t.Fatalf("resolved position %+v %+v", p, p.Resolution)
	}
	snap, err := s.Snapshot(alice, "8", c.t)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Open) != 1 || snap.TotalExposure != 2*usdc || snap.LeaderExposure != 2*usdc || snap.Daily.Realised != 9*usdc {
		t.Fatalf("after resolution: open %d, exposure %d, leader %d, realised %d", len(snap.Open), snap.TotalExposure, snap.LeaderExposure, snap.Daily.Realised)
	}
	lots, _ := s.Lots()
	if len(lots) != 1 || lots[0].Token != "8" {
		t.Fatalf("lots of the resolved market kept: %+v", lots)
	}
	// A losing outcome: 5 shares pay nothing, the cost is lost.
	if err := s.SetMarket("8", Market{Condition: common.HexToHash("0xc2"), Outcome: 0, Slots: 2}); err != nil {
		t.Fatal(err)
	}
	p, _, err = s.Resolve("8", big.NewInt(0), big.NewInt(1), common.Hash{}, 100, c.t)
	if err != nil || p.Resolution.PnL != -2*usdc || p.Resolution.Payout != 0 {
		t.Fatalf("losing resolution: %v %+v", err, p.Resolution)
	}
	if d, _ := s.Daily(c.t); d.Realised != 7*usdc {
		t.Fatalf("day realised %d, want 7 USDC", d.Realised)
	}
	// A second resolution of the same token finds nothing open.
	if _, found, err := s.Resolve("7", big.NewInt(1), big.NewInt(1), common.Hash{}, 101, c.t); err != nil || found {
		t.Fatalf("second resolve: %v found=%v", err, found)
	}
	// Only the winning position waits for a redemption; once recorded it is done.
	pending, err := s.PendingRedemptions()
	if err != nil || len(pending) != 1 || pending[0].Token != "7" {
		t.Fatalf("pending redemptions %+v %v", pending, err)
	}
	if err := s.RecordRedemption(pending[0], common.HexToHash("0xabc"), nil, c.t); err != nil {
		t.Fatal(err)
	}
	if pending, _ := s.PendingRedemptions(); len(pending) != 0 {
		t.Fatalf("redeemed position still pending: %+v", pending)
	}
}

func TestResolveRefusesAPayoutAboveOne(t *testing.T) {
	s, c := tempStore(t)
	copyFill(t, s, intent(1, alice, "7", polymarket.Buy, 10*usdc, 4*usdc))
	if _, _, err := s.Resolve("7", big.NewInt(3), big.NewInt(2), common.Hash{}, 1, c.t); err == nil {
		t.Fatal("payout 3/2 accepted")
	}
	if ps, _ := s.Positions(); len(ps) != 1 {
		t.Fatal("refused resolution closed the position")
	}
}

// Positions opened and closed by resolution, round after round, leave nothing behind once
// compacted: the store stays bounded.
func TestResolvedPositionsArePrunedAndTheFileStaysBounded(t *testing.T) {
	const n, rounds = 300, 5
	c := &clock{t0}
	s := openAt(t, t.TempDir(), c, nil)
	defer s.Close()
	var sizes []int64
	for r := range rounds {
		for i := range n {
			token := strconv.Itoa(r*n + i)
			copyFill(t, s, intent(r*n+i, alice, token, polymarket.Buy, 10*usdc, 5*usdc))
			if err := s.SetMarket(token, Market{Condition: common.BigToHash(big.NewInt(int64(r*n + i))), Slots: 2}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Resolve(token, big.NewInt(int64(i%2)), big.NewInt(1), common.Hash{}, 1, c.t); err != nil {
				t.Fatal(err)
			}
		}
		if ps, _ := s.Positions(); len(ps) != 0 {
			t.Fatalf("round %d: %d resolved positions still open", r, len(ps))
		}
		if lots, _ := s.Lots(); len(lots) != 0 {
			t.Fatalf("round %d: %d lots of resolved markets kept", r, len(lots))
		}
		c.advance(40 * 24 * time.Hour)
		if _, err := s.Compact(c.t); err != nil {
			t.Fatal(err)
		}
		size, err := s.Size()
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, size)
	}
	for r := 2; r < rounds; r++ {
		if sizes[r] > sizes[1] {
			t.Fatalf("file grew from %d to %d bytes although every position resolved and was compacted: %v", sizes[1], sizes[r], sizes)
		}
	}
}
