package resolution

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/polybot/polybot/internal/testing/faultproxy"
	"github.com/polybot/polybot/internal/testing/sim"
)

// Behind a provider whose log backend lags its head (faultproxy.Lagging: the first range
// eth_getLogs covering the newest block lacks its logs, the first blockHash read of it is
// empty, its first receipts null), a market resolved in the newest block is still read: the
// cursor does not pass the block until its logs were read bound to it, and the position closes
// at the next round.
func TestALaggingBackendDoesNotLoseAResolution(t *testing.T) {
	s, err := sim.New(sim.Options{Leaders: 1, Markets: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := faultproxy.NewLagging(s.HTTPURL(), "", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	token := s.Markets()[0]
	st := openStore(t)
	buy(t, st, token.String(), 20*usdc, 12*usdc)
	ctx := context.Background()
	w, err := New(Options{
		Dial:    func(ctx context.Context) (Chain, error) { return ethclient.DialContext(ctx, p.URL("http")) },
		Store:   st,
		Markets: fakeMarkets{token.String(): {Condition: sim.ConditionID(token), Outcome: 0, Slots: 2}},
		Now:     func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	commit := func() uint64 {
		t.Helper()
		n, err := s.Commit()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	commit()
	if err := w.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResolveMarket(token, true); err != nil {
		t.Fatal(err)
	}
	block := commit()
	for round := 1; round <= 3; round++ {
		if err := w.Round(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if cur, _, _ := st.ResolutionCursor(); round == 1 && cur >= block {
			t.Fatalf("round 1 moved the cursor to %d past the resolution's block %d, read from a lagging backend", cur, block)
		}
	}
	if ps, _ := st.Positions(); len(ps) != 0 {
		t.Fatalf("position still open after its market resolved behind a lagging backend: %+v (proxy %+v, bound reads %+v)",
			ps, p.Stats(), w.BoundStats())
	}
	if ls := p.Stats(); ls.Omitted == 0 {
		t.Fatalf("the proxy withheld nothing (%+v): the test did not lag", ls)
	}
	if b := w.BoundStats(); b.Held == 0 || b.BloomEmpty == 0 {
		t.Fatalf("bound reads %+v: want empty blocks proven by their bloom and the resolution's block held once", b)
	}
}
