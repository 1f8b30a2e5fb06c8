package clob_test

import (
	"testing"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// The market cache is bounded: past MaxMarkets the least recently used market is dropped and
// fetched again when next needed, so a daemon that meets many tokens does not grow without end.
func TestTheMarketCacheKeepsAtMostMaxMarkets(t *testing.T) {
	e := newEnv(t, nil, func(o *clob.Options) { o.MaxMarkets = 1 })
	fetches := func() int { return e.sim.Requests(clobsim.RouteBook) }
	for _, tok := range []string{tokenA, tokenA, tokenNeg, tokenNeg, tokenA} {
		if _, err := e.c.Market(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if fetches() != 3 {
		t.Fatalf("%d book fetches for A, A, B, B, A with room for one market, want 3 (A again after B took its place)", fetches())
	}
	if _, err := clob.NewClient(clob.Options{MaxMarkets: -1}); err == nil {
		t.Fatal("a negative MaxMarkets was accepted")
	}
}
