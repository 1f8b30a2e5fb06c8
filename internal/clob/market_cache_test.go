package clob_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
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

// The fee rate is read where the CLOB charges it: GET /clob-markets/{condition_id}'s "fd", not
// GET /fee-rate, whose base_fee is the legacy 1000 of every fee-charging market (clobsim
// rules_fees.go). clobsim charges 100 bps here: a client that priced from /fee-rate would count
// ten times the fee in every cap.
func TestTheFeeRateComesFromTheCLOBsMarketDetailsNotTheLegacyBaseFee(t *testing.T) {
	e := newEnv(t, nil, nil)
	legacy, err := e.c.FeeRate(ctx, tokenNeg)
	if err != nil || legacy != 1000 {
		t.Fatalf("GET /fee-rate = %d, %v; want clobsim's legacy 1000", legacy, err)
	}
	info, err := e.c.Market(ctx, tokenNeg)
	if err != nil || info.FeeRateBps != 100 || info.FeeExponent != 1 || info.FeeSource != clob.FeeFromClobMarket {
		t.Fatalf("Market = %+v, %v; want the 100 bps, exponent 1 clobsim charges, from clob-markets", info, err)
	}
	if free, err := e.c.Market(ctx, tokenA); err != nil || free.FeeRateBps != 0 {
		t.Fatalf("Market of a fee-free market = %+v, %v; want 0 bps", free, err)
	}
}

// A failing fee lookup never blocks a copy. GET /clob-markets failing falls back on GET
// /fee-rate's legacy base_fee (an over-estimate); both failing keep the schedule last read; a
// market never priced gets order.UnknownFeeRateBps, the documented conservative rule.
func TestAFailingFeeLookupFallsBackAndNeverBlocks(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	e := newEnv(t, nil, func(o *clob.Options) { o.Now, o.MetadataTTL, o.MaxRetries = clock, time.Minute, -1 })
	first, err := e.c.Market(ctx, tokenNeg)
	if err != nil || first.FeeRateBps != 100 {
		t.Fatalf("Market = %+v, %v; want the 100 bps clobsim charges", first, err)
	}
	now.Add(int64(61 * time.Second)) // the metadata expires
	e.sim.FailNext(clobsim.RouteClobMarket, 1, http.StatusInternalServerError, 0)
	e.sim.FailNext(clobsim.RouteFeeRate, 1, http.StatusInternalServerError, 0)
	books := e.sim.Requests(clobsim.RouteBook)
	info, err := e.c.Market(ctx, tokenNeg)
	if err != nil || info.FeeRateBps != 100 || info.FeeSource != clob.FeeFromLastRead {
		t.Fatalf("Market while both fee sources fail = %+v, %v; want the book with the 100 bps last read", info, err)
	}
	if e.sim.Requests(clobsim.RouteBook) != books+1 {
		t.Fatal("the book was not read again after the metadata expired")
	}
	now.Add(int64(61 * time.Second))
	e.sim.FailNext(clobsim.RouteClobMarket, 1, http.StatusInternalServerError, 0)
	if info, err = e.c.Market(ctx, tokenNeg); err != nil || info.FeeRateBps != 1000 || info.FeeSource != clob.FeeFromFeeRate {
		t.Fatalf("Market while /clob-markets fails = %+v, %v; want /fee-rate's legacy 1000 bps", info, err)
	}
	e.sim.FailNext(clobsim.RouteClobMarket, 1, http.StatusInternalServerError, 0)
	e.sim.FailNext(clobsim.RouteFeeRate, 1, http.StatusInternalServerError, 0)
	never, err := e.c.Market(ctx, tokenA)
	if err != nil || never.FeeRateBps != order.UnknownFeeRateBps || never.FeeSource != clob.FeeFromAssumed {
		t.Fatalf("Market of a market never priced, both fee sources failing = %+v, %v; want the assumed %d bps",
			never, err, order.UnknownFeeRateBps)
	}
}
