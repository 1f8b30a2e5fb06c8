package clob_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

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

// A failing fee lookup does not stop copies in a market already priced: when GET /fee-rate
// fails after the metadata expired, the fresh book is kept with the fee rate last read. A
// market never priced has no rate to fall back on, and its lookup still fails.
func TestAFailingFeeLookupKeepsTheRateLastRead(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	e := newEnv(t, nil, func(o *clob.Options) { o.Now, o.MetadataTTL, o.MaxRetries = clock, time.Minute, -1 })
	first, err := e.c.Market(ctx, tokenNeg)
	if err != nil || first.FeeRateBps != 100 {
		t.Fatalf("Market = %+v, %v; want the 100 bps clobsim charges", first, err)
	}
	now.Add(int64(61 * time.Second)) // the metadata expires
	e.sim.FailNext(clobsim.RouteFeeRate, 2, http.StatusInternalServerError, 0)
	books := e.sim.Requests(clobsim.RouteBook)
	info, err := e.c.Market(ctx, tokenNeg)
	if err != nil || info.FeeRateBps != 100 {
		t.Fatalf("Market while /fee-rate fails = %+v, %v; want the book with the 100 bps last read", info, err)
	}
	if e.sim.Requests(clobsim.RouteBook) != books+1 {
		t.Fatal("the book was not read again after the metadata expired")
	}
	if _, err := e.c.Market(ctx, tokenA); err == nil {
		t.Fatal("a market never priced was priced without its fee rate")
	}
}
