package store

import (
	"errors"
	"testing"

	"github.com/polybot/polybot/internal/polymarket"
)

// A BUY's fill whose trade failed on chain is taken back: from an open intent (it stays
// open), then from a completed one (it becomes unfilled), out of the lot, the position and
// the day's spend; a SELL's cannot be, and a result above what was applied is refused.
func TestUndoFillTakesABuysFailedFillBack(t *testing.T) {
	c := &clock{t0}
	s := openAt(t, t.TempDir(), c, nil)
	t.Cleanup(func() { _ = s.Close() })
	in := intent(1, alice, "7", polymarket.Buy, 10*usdc, 5*usdc)
	if err := s.BeginIntent(in); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordOpen(in.ID, Result{FilledShares: 10 * usdc, FilledCollateral: 5 * usdc, Fee: usdc / 10, OrderID: "o"}); err != nil {
		t.Fatal(err)
	}
	if err := s.UndoFill(in.ID, Result{FilledShares: 10 * usdc, FilledCollateral: 5 * usdc}); !errors.Is(err, ErrBadResult) {
		t.Fatalf("undo of nothing: %v, want ErrBadResult", err)
	}
	// 6 of the 10 shares failed: 4 for 2 (and no fee) are left.
	if err := s.UndoFill(in.ID, Result{FilledShares: 4 * usdc, FilledCollateral: 2 * usdc}); err != nil {
		t.Fatal(err)
	}
	p, _, _ := s.Position("7")
	d, _ := s.Daily(t0)
	got, _, _ := s.IntentFor(in.ID)
	if p.Shares != 4*usdc || p.Cost != 2*usdc || d.Spent != 2*usdc || got.Status != StatusOpen || got.Result.FilledShares != 4*usdc {
		t.Fatalf("position %+v, day %+v, intent %+v; want 4 shares for 2 left, open", p, d, got)
	}
	if err := s.CompleteIntent(in.ID, Result{Status: StatusPartial, FilledShares: 4 * usdc, FilledCollateral: 2 * usdc}); err != nil {
		t.Fatal(err)
	}
	if err := s.UndoFill(in.ID, Result{}); err != nil {
		t.Fatal(err)
	}
	_, open, _ := s.Position("7")
	d, _ = s.Daily(t0)
	got, _, _ = s.IntentFor(in.ID)
	lots, _ := s.Lots()
	if open || len(lots) != 0 || d.Spent != 0 || d.Copies != 0 || got.Status != StatusUnfilled {
		t.Fatalf("open %v, lots %+v, day %+v, intent %s; want nothing left, unfilled", open, lots, d, got.Status)
	}

	sell := intent(2, alice, "8", polymarket.Sell, 1*usdc, usdc/2)
	if err := s.BeginIntent(sell); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordOpen(sell.ID, Result{FilledShares: usdc, FilledCollateral: usdc / 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.UndoFill(sell.ID, Result{}); !errors.Is(err, ErrUndoSell) {
		t.Fatalf("undo of a SELL: %v, want ErrUndoSell", err)
	}
}
