package store

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// BenchmarkRecordParallel is the executor's store traffic: workers (4, the executor's
// default) each record copies (Record with an intent, then CompleteIntent: two durable
// writes) or skips (Record without one). Concurrent writes share commits (group commit), so
// decisions/s grows with the workers while fsyncs/s stays what the disk allows.
func BenchmarkRecordParallel(b *testing.B) {
	for _, bc := range []struct {
		name    string
		copy    bool
		workers int
	}{{"Copy/workers=1", true, 1}, {"Copy/workers=4", true, 4}, {"Skip/workers=1", false, 1}, {"Skip/workers=4", false, 4}} {
		b.Run(bc.name, func(b *testing.B) {
			c := &clock{t0}
			s, err := Open(Options{Dir: b.TempDir(), Now: c.now})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var next atomic.Int64
			var wg sync.WaitGroup
			start, commits0 := time.Now(), s.commits.Load()
			b.ResetTimer()
			for range bc.workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						n := int(next.Add(1))
						if n > b.N {
							return
						}
						if !bc.copy {
							if err := s.Record(decision(c.t, n), nil); err != nil {
								b.Error(err)
								return
							}
							continue
						}
						in := intent(n, alice, strconv.Itoa(n%16), polymarket.Buy, 10*usdc, 5*usdc)
						if err := s.Record(decision(c.t, n), &in); err != nil {
							b.Error(err)
							return
						}
						if err := s.CompleteIntent(in.ID, Result{Status: StatusFilled, FilledShares: in.Shares, FilledCollateral: in.Collateral}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			el := time.Since(start).Seconds()
			b.ReportMetric(float64(b.N)/el, "decisions/s")
			b.ReportMetric(float64(s.commits.Load()-commits0)/el, "commits/s")
		})
	}
}
