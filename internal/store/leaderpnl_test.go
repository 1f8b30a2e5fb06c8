package store

import (
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/polymarket"
)

func fillWithFee(t *testing.T, s *Store, in Intent, shares, coll, fee uint64) {
	t.Helper()
	if err := s.BeginIntent(in); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteIntent(in.ID, Result{Status: StatusFilled, FilledShares: shares, FilledCollateral: coll, Fee: fee, OrderID: "o"}); err != nil {
		t.Fatal(err)
	}
}

// The per-leader ledger moves with the position book through every change the store makes —
// BUY and SELL fills with fees, a SELL that eats another leader's lot, the chain correcting the
// CLOB's report, a failed fill taken back, a market resolving at a payout that does not divide
// evenly — and its totals equal the book's: realised P&L (positions and days), fees, payouts
// and copies, to the base unit.
func TestLeaderLedgerTotalsEqualThePositionBook(t *testing.T) {
	s, c := tempStore(t)
	fillWithFee(t, s, intent(1, alice, "7", polymarket.Buy, 10*usdc, 4*usdc), 10*usdc, 4*usdc, usdc/10)
	fillWithFee(t, s, intent(2, bob, "7", polymarket.Buy, 7*usdc, 3*usdc), 7*usdc, 3*usdc, 0)
	// Alice's SELL of 13 takes her 10 (cost 4.1) and 3 of Bob's (cost 3×3/7).
	fillWithFee(t, s, intent(3, alice, "7", polymarket.Sell, 13*usdc, 6_500_000), 13*usdc, 6_500_000, 50_000)
	wantAlice := int64(6_450_000 - 4_100_000 - 1_285_714)

	// Bob's BUY in "8" the CLOB reported without its fee; the chain adds 0.02.
	buy := beginOrder(t, s, intent(4, bob, "8", polymarket.Buy, 5*usdc, 2*usdc), common.HexToHash("0xb1"))
	if err := s.CompleteIntent(buy.ID, Result{Status: StatusFilled, FilledShares: 5 * usdc, FilledCollateral: 2 * usdc}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmOnChain(common.HexToHash("0xb1"), OnChain{Block: 9, Fills: 1, Shares: 5 * usdc, Collateral: 2 * usdc, Fee: 20_000}); err != nil {
		t.Fatal(err)
	}
	// Bob's SELL of 2 in "8" for 1 the chain says sold 1 for 0.5.
	sell := beginOrder(t, s, intent(5, bob, "8", polymarket.Sell, 2*usdc, usdc), common.HexToHash("0x5e"))
	if err := s.CompleteIntent(sell.ID, Result{Status: StatusFilled, FilledShares: 2 * usdc, FilledCollateral: usdc}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmOnChain(common.HexToHash("0x5e"), OnChain{Block: 10, Fills: 1, Shares: usdc, Collateral: usdc / 2}); err != nil {
		t.Fatal(err)
	}
	// Alice's BUY in "9" whose trade failed on chain: its fee and copy come back out.
	undone := intent(6, alice, "9", polymarket.Buy, 4*usdc, 2*usdc)
	if err := s.BeginIntent(undone); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordOpen(undone.ID, Result{FilledShares: 4 * usdc, FilledCollateral: 2 * usdc, Fee: 40_000, OrderID: "o"}); err != nil {
		t.Fatal(err)
	}
	if err := s.UndoFill(undone.ID, Result{}); err != nil {
		t.Fatal(err)
	}
	// "7" resolves at 1/3 (Bob holds 4 shares), "8" at 2/3 (Bob holds 4): rounding on both.
	c.advance(time.Hour)
	if _, _, err := s.Resolve("7", big.NewInt(1), big.NewInt(3), common.Hash{}, 11, c.t); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Resolve("8", big.NewInt(2), big.NewInt(3), common.Hash{}, 12, c.t); err != nil {
		t.Fatal(err)
	}

	ledger, err := s.LeaderPnLs()
	if err != nil || len(ledger) != 2 || ledger[0].Leader != alice || ledger[1].Leader != bob {
		t.Fatalf("ledger %+v %v, want alice and bob", ledger, err)
	}
	if a := ledger[0]; a.Realised != wantAlice || a.Fees != 150_000 || a.Copies != 2 || a.Redeemed != 0 {
		t.Fatalf("alice %+v, want realised %d, fees 0.15, 2 copies, nothing redeemed", a, wantAlice)
	}
	var realised, dayRealised, bookRealised int64
	var fees, redeemed, payouts, copies, dayCopies uint64
	for _, e := range ledger {
		realised += e.Realised
		fees += e.Fees
		redeemed += e.Redeemed
		copies += e.Copies
	}
	open, _ := s.Positions()
	closed, _ := s.ClosedPositions(time.Time{})
	for _, p := range append(open, closed...) {
		bookRealised += p.Realised
		if p.Resolution != nil {
			payouts += p.Resolution.Payout
		}
	}
	days, _ := s.Days()
	for _, d := range days {
		dayRealised += d.Realised
		dayCopies += d.Copies
	}
	if len(open) != 0 || len(closed) != 2 || payouts == 0 {
		t.Fatalf("book: %d open, %d closed, payouts %d; want all closed, something paid", len(open), len(closed), payouts)
	}
	if realised != bookRealised || realised != dayRealised {
		t.Fatalf("ledger realised %d, positions %d, days %d: they must agree", realised, bookRealised, dayRealised)
	}
	if redeemed != payouts || fees != 100_000+50_000+20_000 || copies != dayCopies || copies != 5 {
		t.Fatalf("ledger redeemed %d (payouts %d), fees %d (want 0.17), copies %d (days %d, want 5)", redeemed, payouts, fees, copies, dayCopies)
	}
	if all, err := s.RealisedAllTime(); err != nil || all != bookRealised {
		t.Fatalf("realised all-time %d %v, want %d", all, err, bookRealised)
	}
}
