package ingesttest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/monitor"
	"github.com/polybot/polybot/internal/testing/sim"
)

// TestReorgOnPolysim replaces the newest two blocks, both holding leader fills, with a fork that
// mines the same calls again in later blocks. Without confirmations the removed fills are
// reported through OnRemoved and copied again when re-included (net once); with three
// confirmations they are never handed on until they are buried, so each is handed on once.
func TestReorgOnPolysim(t *testing.T) {
	for _, confirmations := range []uint64{0, 3} {
		t.Run(fmt.Sprintf("confirmations %d", confirmations), func(t *testing.T) {
			s, err := sim.New(sim.Options{Leaders: 2, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			// Registered before the monitor's cleanup, so it runs after it: a node closed under a
			// live subscription strands the subscription's goroutine inside go-ethereum.
			t.Cleanup(func() { _ = s.Close() })
			c := newCopier()
			r := runMonitor(t, c, func(ctx context.Context) (chain.Client, error) {
				return chain.Dial(ctx, s.WSURL(), s.ChainID(), 5*time.Second)
			}, func(o *monitor.Options) {
				o.Exchanges = s.Exchanges()
				o.Leaders = s.LeaderAddresses()
				o.Confirmations = confirmations
				o.StartBlock = 1
			})
			emitBlock := func(fills int) {
				t.Helper()
				for range fills {
					if _, _, err := s.EmitRandomFill(); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := s.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			for range 6 {
				emitBlock(5)
			}
			before := len(s.Emitted())
			if confirmations == 0 {
				// The fills of the two newest blocks are handed on before the reorg.
				until(t, "the fills before the reorg", func() bool { return c.has(truthOf(s)) })
			} else {
				until(t, "the confirmed fills before the reorg", func() bool { return r.mon.Stats().Pending == 15 }) // blocks 4, 5 and 6
			}
			if err := s.Reorg(2); err != nil {
				t.Fatal(err)
			}
			if got := len(s.Emitted()); got != before-10 {
				t.Fatalf("reorg left %d fills of %d, want 10 removed", got, before)
			}
			for len(s.Emitted()) < before {
				emitBlock(0) // the removed calls are mined again
			}
			for range 4 {
				emitBlock(3)
			}
			for range int(confirmations) + 1 {
				emitBlock(0)
			}
			truth := truthOf(s)
			until(t, "every canonical fill", func() bool { return c.has(truth) })
			st := r.mon.Stats()
			c.figures(truth).check(t, fmt.Sprintf("(c) 2-block reorg, confirmations %d", confirmations), st)
			c.mu.Lock()
			reported := len(c.removed)
			c.mu.Unlock()
			if st.Removed < 10 {
				t.Fatalf("the node reported %d removed logs, want the 10 reverted fills", st.Removed)
			}
			if confirmations == 0 && reported != 10 {
				t.Fatalf("OnRemoved reported %d fills, want the 10 handed on before the reorg", reported)
			}
			if confirmations > 0 && reported != 0 {
				t.Fatalf("OnRemoved reported %d fills that were never handed on", reported)
			}
		})
	}
}

func truthOf(s *sim.Sim) map[string]uint64 {
	out := map[string]uint64{}
	for _, f := range s.Emitted() {
		out[fillKey(f.TxHash, f.LogIndex)] = f.Block
	}
	return out
}
