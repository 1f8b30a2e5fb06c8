package store

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/polymarket"
)

// A BUY's fill whose trade failed on chain is taken back: from an open intent (it stays
// open), then from a completed one (it becomes unfilled), out of the lot, the position and
// the day's spend; a result above what was applied is refused.
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

}

// undoState is what a user sees of token's position, the lots, the day and the exposure.
type undoState struct {
	Pos      Position
	Open     bool
	Lots     []Lot
	Day      Daily
	Closed   int
	Exposure uint64
}

func stateOf(t *testing.T, s *Store, c *clock, token string) undoState {
	t.Helper()
	p, open, err := s.Position(token)
	if err != nil {
		t.Fatal(err)
	}
	p.UpdatedAt = time.Time{}
	lots, _ := s.Lots()
	d, _ := s.Daily(c.t)
	closed, _ := s.ClosedPositions(time.Time{})
	snap, _ := s.Snapshot(alice, token, c.t)
	return undoState{Pos: p, Open: open, Lots: lots, Day: d, Closed: len(closed), Exposure: snap.TotalExposure}
}

// A SELL that sold more than its leader's lot (part of another leader's lot too), with a fee
// and a rest below the size step written off, closed the position; its trades then FAILED on
// chain. UndoFill puts back exactly what it took: the position (open again, its cost, realised
// P&L and written-off shares as before), both lots and the day's counters. A SELL whose
// trades failed only in part keeps what settled, applied at the lots' cost.
func TestUndoFillPutsAFailedSellBackExactly(t *testing.T) {
	c := &clock{t0}
	s := openAt(t, t.TempDir(), c, nil)
	t.Cleanup(func() { _ = s.Close() })
	for i, b := range []Intent{
		intent(1, alice, "7", polymarket.Buy, 10*usdc, 3_333_333),
		intent(2, bob, "7", polymarket.Buy, 4_005_000, 2_777_777),
	} {
		if err := s.BeginIntent(b); err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteIntent(b.ID, Result{Status: StatusFilled, FilledShares: b.Shares, FilledCollateral: b.Collateral, Fee: uint64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	before := stateOf(t, s, c, "7")
	sell := intent(3, alice, "7", polymarket.Sell, 14*usdc, 9*usdc)
	if err := s.BeginIntent(sell); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Minute)
	if err := s.RecordOpen(sell.ID, Result{FilledShares: 6 * usdc, FilledCollateral: 4 * usdc, Fee: 3}); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Minute)
	// 14 of 14.005 sold: the 0.005 left is below the size step and written off.
	if err := s.CompleteIntent(sell.ID, Result{Status: StatusFilled, FilledShares: 14 * usdc, FilledCollateral: 9_100_001, Fee: 7}); err != nil {
		t.Fatal(err)
	}
	if st := stateOf(t, s, c, "7"); st.Open || len(st.Lots) != 0 || st.Day.Realised == before.Day.Realised {
		t.Fatalf("after the SELL: %+v; want the position closed, no lot, P&L realised", st)
	}
	if err := s.UndoFill(sell.ID, Result{}); err != nil {
		t.Fatal(err)
	}
	after := stateOf(t, s, c, "7")
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("after the undo\n %+v\nwant as before the SELL\n %+v", after, before)
	}
	got, _, _ := s.IntentFor(sell.ID)
	if got.Status != StatusUnfilled || got.Result.FilledShares != 0 || got.Sold != nil {
		t.Fatalf("intent %s with %d shares, book %+v; want unfilled, nothing kept", got.Status, got.Result.FilledShares, got.Sold)
	}

	// A second SELL sells 5 of alice's 10 (her lot cost 3_333_334); 3 of them failed.
	sell2 := intent(4, alice, "7", polymarket.Sell, 5*usdc, 3*usdc)
	if err := s.BeginIntent(sell2); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteIntent(sell2.ID, Result{Status: StatusFilled, FilledShares: 5 * usdc, FilledCollateral: 3 * usdc}); err != nil {
		t.Fatal(err)
	}
	if err := s.UndoFill(sell2.ID, Result{FilledShares: 2 * usdc, FilledCollateral: 1_200_000}); err != nil {
		t.Fatal(err)
	}
	p, _, _ := s.Position("7")
	// Alice's lot cost 3_333_334 for 10: 2 shares cost 666_666; bob's lot is untouched.
	if p.Shares != before.Pos.Shares-2*usdc || p.Cost != before.Pos.Cost-666_666 || p.Realised != 1_200_000-666_666 {
		t.Fatalf("position %+v after 2 of 5 settled; want 2 shares fewer at cost 666666, 533334 realised", p)
	}
	if d, _ := s.Daily(c.t); d.Copies != before.Day.Copies+1 || d.Realised != 1_200_000-666_666 {
		t.Fatalf("day %+v; want the partly settled SELL counted once with its P&L", d)
	}
}
