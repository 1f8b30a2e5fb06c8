package store

import (
	"errors"
	"testing"

	"github.com/polybot/polybot/internal/polymarket"
)

// An open order's fills reach the position as they come; completing it applies only what
// filled beyond them, the day counts it as one copy, and it stays pending (found at a restart)
// until it is final.
func TestAnOpenIntentAppliesFillsAsTheyCome(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t0}
	s := openAt(t, dir, c, nil)
	in := intent(1, alice, "7", polymarket.Buy, 10*usdc, 5*usdc)
	if err := s.BeginIntent(in); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordOpen(in.ID, Result{Status: StatusPartial, FilledShares: 4 * usdc, FilledCollateral: 2 * usdc, OrderID: "o"}); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := s.Position("7"); p.Shares != 4*usdc || p.Cost != 2*usdc {
		t.Fatalf("position %+v after 4 shares filled", p)
	}
	if err := s.Close(); err != nil { // a restart finds it open
		t.Fatal(err)
	}
	s = openAt(t, dir, c, nil)
	t.Cleanup(func() { _ = s.Close() })
	pending, err := s.PendingIntents()
	if err != nil || len(pending) != 1 || pending[0].Status != StatusOpen || pending[0].Result.FilledShares != 4*usdc {
		t.Fatalf("pending %+v %v; want the open intent with its 4 shares", pending, err)
	}
	if err := s.RecordOpen(in.ID, Result{FilledShares: 3 * usdc, FilledCollateral: 1 * usdc}); !errors.Is(err, ErrBadResult) {
		t.Fatalf("a fill taken back: %v", err)
	}
	if err := s.RecordOpen(in.ID, Result{FilledShares: 6 * usdc, FilledCollateral: 3 * usdc}); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteIntent(in.ID, Result{Status: StatusFilled, FilledShares: 10 * usdc, FilledCollateral: 5 * usdc, OrderID: "o"}); err != nil {
		t.Fatal(err)
	}
	p, _, _ := s.Position("7")
	d, _ := s.Daily(t0)
	if p.Shares != 10*usdc || p.Cost != 5*usdc || d.Spent != 5*usdc || d.Copies != 1 {
		t.Fatalf("position %+v, day %+v; want 10 shares for 5 spent in one copy", p, d)
	}
	if pending, _ := s.PendingIntents(); len(pending) != 0 {
		t.Fatalf("still pending: %+v", pending)
	}
	if err := s.RecordOpen(in.ID, Result{FilledShares: 10 * usdc, FilledCollateral: 5 * usdc}); !errors.Is(err, ErrIntentCompleted) {
		t.Fatalf("record open after completion: %v", err)
	}
}
