package store

import (
	"testing"

	"github.com/polybot/polybot/internal/polymarket"
)

// BenchmarkCopyRoundTrip is the store's cost of one copy: BeginIntent, CompleteIntent and
// AppendDecision, each one fsynced transaction.
func BenchmarkCopyRoundTrip(b *testing.B) {
	c := &clock{t0}
	s, err := Open(Options{Dir: b.TempDir(), Now: c.now})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	n := 0
	for b.Loop() {
		in := intent(n, alice, "1", polymarket.Buy, 10*usdc, 5*usdc)
		if err := s.BeginIntent(in); err != nil {
			b.Fatal(err)
		}
		if err := s.CompleteIntent(in.ID, Result{Status: StatusFilled, FilledShares: in.Shares, FilledCollateral: in.Collateral}); err != nil {
			b.Fatal(err)
		}
		if err := s.AppendDecision(decision(c.t, n)); err != nil {
			b.Fatal(err)
		}
		n++
	}
}

// BenchmarkSnapshot reads the state for one decision with 100 open positions.
func BenchmarkSnapshot(b *testing.B) {
	c := &clock{t0}
	s, err := Open(Options{Dir: b.TempDir(), Now: c.now})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for n := range 100 {
		in := intent(n, alice, string(rune('a'+n%26))+string(rune('a'+n/26)), polymarket.Buy, 10*usdc, 5*usdc)
		if err := s.BeginIntent(in); err != nil {
			b.Fatal(err)
		}
		if err := s.CompleteIntent(in.ID, Result{Status: StatusFilled, FilledShares: in.Shares, FilledCollateral: in.Collateral}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Snapshot(alice, "aa", c.t); err != nil {
			b.Fatal(err)
		}
	}
}
