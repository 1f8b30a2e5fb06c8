package store

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/polymarket"
)

// begin records in (with its order hash) and its decision, as the executor does.
func beginOrder(t *testing.T, s *Store, in Intent, hash common.Hash) Intent {
	t.Helper()
	in.OrderHash = hash
	in.CreatedAt = s.opts.Now()
	d := Decision{Time: in.CreatedAt, Leader: in.Leader, Token: in.Token, Side: in.Side.String(), Action: "copy",
		Shares: in.Shares, Collateral: in.Collateral, Tx: in.ID.Tx, LogIndex: in.ID.LogIndex}
	if err := s.Record(d, &in); err != nil {
		t.Fatal(err)
	}
	return in
}

func position(t *testing.T, s *Store, token string) Position {
	t.Helper()
	p, _, err := s.Position(token)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A BUY the CLOB under-reported, then a SELL it over-reported: once each is confirmed on chain
// the position, its cost, the day's spend and the realised P&L are what the chain's figures
// give, the decision carries the confirmation, and confirming again changes nothing.
func TestConfirmOnChainCorrectsTheCLOBsReport(t *testing.T) {
	s, _ := tempStore(t)
	buyHash, sellHash := common.HexToHash("0xb1"), common.HexToHash("0x5e")
	buy := beginOrder(t, s, intent(1, alice, "7", polymarket.Buy, 10*usdc, 5*usdc), buyHash)

	// Before the CLOB's final report, the chain's word waits.
	chain := OnChain{Block: 9, Tx: common.HexToHash("0xf1"), Fills: 1, Shares: 10 * usdc, Collateral: 5 * usdc, Fee: usdc / 10}
	if c, err := s.ConfirmOnChain(buyHash, chain); err != nil || !c.Found || c.Settled {
		t.Fatalf("pending intent: %+v %v, want found and not settled", c, err)
	}
	// The CLOB reports half.
	if err := s.CompleteIntent(buy.ID, Result{Status: StatusPartial, FilledShares: 5 * usdc, FilledCollateral: 2_500_000}); err != nil {
		t.Fatal(err)
	}
	c, err := s.ConfirmOnChain(buyHash, chain)
	if err != nil || !c.Settled || !c.Corrected || c.Before.FilledShares != 5*usdc {
		t.Fatalf("confirm: %+v %v", c, err)
	}
	p := position(t, s, "7")
	if p.Shares != 10*usdc || p.Cost != 5*usdc+usdc/10 {
		t.Fatalf("position after the BUY's correction: %d shares costing %d, want 10 shares costing 5.1", p.Shares, p.Cost)
	}
	if d, _ := s.Daily(s.opts.Now()); d.Spent != 5*usdc+usdc/10 || d.Copies != 1 {
		t.Fatalf("day after the correction: %+v, want spend 5.1 and one copy", d)
	}
	in, _, _ := s.IntentFor(buy.ID)
	if in.Status != StatusFilled || in.Result.FilledShares != 10*usdc || in.Chain == nil || in.Chain.CLOB.FilledShares != 5*usdc {
		t.Fatalf("intent after the correction: %+v", in)
	}
	ds, _ := s.Decisions(t0.Add(-1), 0)
	if len(ds) != 1 || ds[0].Chain == nil || ds[0].Chain.Tx != chain.Tx || ds[0].Chain.Block != 9 {
		t.Fatalf("decision not confirmed: %+v", ds)
	}
	// Again: nothing moves.
	if c, err := s.ConfirmOnChain(buyHash, chain); err != nil || c.Corrected {
		t.Fatalf("second confirmation: %+v %v", c, err)
	}
	if p2 := position(t, s, "7"); p2.Shares != p.Shares || p2.Cost != p.Cost {
		t.Fatalf("a repeated confirmation moved the position: %+v", p2)
	}

	// A SELL of 6 the CLOB reported as 8 sold for 4.8; the chain says 6 for 3.6, fee 0.1.
	sell := beginOrder(t, s, intent(2, alice, "7", polymarket.Sell, 8*usdc, 4*usdc), sellHash)
	if err := s.CompleteIntent(sell.ID, Result{Status: StatusFilled, FilledShares: 8 * usdc, FilledCollateral: 4_800_000}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.ConfirmOnChain(sellHash, OnChain{Block: 11, Tx: common.HexToHash("0xf2"), Fills: 1, Shares: 6 * usdc, Collateral: 3_600_000, Fee: usdc / 10}); err != nil || !c.Corrected {
		t.Fatalf("confirm the SELL: %+v %v", c, err)
	}
	p = position(t, s, "7")
	// 4 shares left at the BUY's average cost 0.51: 2.04; sold 6 costing 3.06 for 3.5 net.
	if p.Shares != 4*usdc || p.Cost != 2_040_000 {
		t.Fatalf("position after the SELL's correction: %d shares costing %d, want 4 costing 2.04", p.Shares, p.Cost)
	}
	if p.Realised != 3_500_000-3_060_000 {
		t.Fatalf("realised %d, want 0.44", p.Realised)
	}
	if d, _ := s.Daily(s.opts.Now()); d.Realised != p.Realised {
		t.Fatalf("day's realised %d, want %d", d.Realised, p.Realised)
	}
}

// An order hash no intent has is found to be nobody's: nothing changes.
func TestConfirmOnChainWithoutIntent(t *testing.T) {
	s, _ := tempStore(t)
	c, err := s.ConfirmOnChain(common.HexToHash("0x77"), OnChain{Block: 1, Fills: 1, Shares: usdc, Collateral: usdc / 2})
	if err != nil || c.Found {
		t.Fatalf("%+v %v, want not found", c, err)
	}
	if ps, _ := s.Positions(); len(ps) != 0 {
		t.Fatalf("positions %+v", ps)
	}
}
