package broker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// A "matched" answer without amounts says nothing of what filled: the order is looked up by
// its hash, and the copy records the 20 shares that matched, not zero.
func TestMatchedWithoutAmountsIsLookedUp(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.AnswerMatchedWithoutAmounts(1)
	o := copyOrder(tokenNormal, polymarket.Buy, 20*unit, 10*unit)
	e, err := f.broker.PlaceOrder(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// 10 at 0.50 and 10 at 0.51 matched. The CLOB no longer lists the filled order (GET
	// /data/order: 404); its trade tells the shares and the prices they matched at.
	if e.Shares != 20*unit || e.Collateral != 10_100_000 || e.Open {
		t.Fatalf("execution %+v; want 20 shares for 10.10, final", e)
	}
	if n, m := f.srv.Requests(clobsim.RouteGetOrder), f.srv.Requests(clobsim.RouteTrades); n != 1 || m != 1 {
		t.Fatalf("%d lookups and %d trade reads, want 1 each", n, m)
	}
}

// When the lookup of a matched answer without amounts fails, the outcome is unknown: never an
// execution of zero shares.
func TestMatchedWithoutAmountsAndNoLookupIsUnknown(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.AnswerMatchedWithoutAmounts(1)
	f.srv.FailNext(clobsim.RouteGetOrder, 1, 404, 0)
	f.srv.FailNext(clobsim.RouteTrades, 10, 500, 0) // every retry too
	_, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 20*unit, 10*unit))
	if err == nil || !errors.Is(err, clob.ErrUnknownOutcome) {
		t.Fatalf("err = %v, want an unknown outcome", err)
	}
}

// A delayed answer is an open execution; Lookup follows the order to its match, and
// CancelOrder cancels a delayed order that has not matched yet.
func TestDelayedOrderIsOpenAndLookedUpUntilMatched(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.DelayOrders(1, 0)
	o := copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit)
	p, err := f.broker.Prepare(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.broker.PlaceOrder(context.Background(), o)
	if err != nil || !e.Open || e.Shares != 0 {
		t.Fatalf("execution %+v %v; want open with nothing filled", e, err)
	}
	in := OrderRef{Intent: o.Source.TxHash.Hex(), Token: tokenNormal, Side: polymarket.Buy,
		Shares: o.Shares, Collateral: o.Collateral, Hash: p.Hash}
	st, err := f.broker.Lookup(context.Background(), in)
	if err != nil || !st.Open || st.State != "DELAYED" || st.Result.FilledShares != 0 {
		t.Fatalf("lookup %+v %v; want delayed", st, err)
	}
	f.srv.MatchDelayed()
	st, err = f.broker.Lookup(context.Background(), in)
	if err != nil || st.Open || st.Result.Status != Filled || st.Result.FilledShares != 10*unit {
		t.Fatalf("lookup %+v %v; want matched in full", st, err)
	}

	// A second delayed order is cancelled before its match.
	o2 := copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit)
	p2, _ := f.broker.Prepare(context.Background(), o2)
	if _, err := f.broker.PlaceOrder(context.Background(), o2); err != nil {
		t.Fatal(err)
	}
	in.Hash = p2.Hash
	if err := f.broker.CancelOrder(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if n := f.srv.MatchDelayed(); n != 0 {
		t.Fatalf("%d orders matched after the cancel, want none", n)
	}
	st, err = f.broker.Lookup(context.Background(), in)
	if err != nil || st.Open || st.Result.Status != Unfilled || st.State != "CANCELED" {
		t.Fatalf("lookup %+v %v; want canceled, unfilled", st, err)
	}
	if err := f.broker.CancelOrder(context.Background(), in); !errors.Is(err, clob.ErrNotCanceled) {
		t.Fatalf("cancel of a canceled order: %v", err)
	}
}

// With a matching delay (as polysim runs it), a delayed order matches by itself a little later.
func TestDelayedOrderMatchesAfterTheDelay(t *testing.T) {
	f := newFixture(t, nil)
	creds, _ := f.broker.Client().Credentials()
	f.srv.DelayOrdersOf(creds.APIKey, 1, 20*time.Millisecond)
	o := copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit)
	p, err := f.broker.Prepare(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := f.broker.PlaceOrder(context.Background(), o); err != nil || !e.Open {
		t.Fatalf("execution %+v %v; want open", e, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, ok := f.srv.Order(p.Hash)
		if ok && st.Status == "MATCHED" && st.SizeMatched == 10*unit {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %+v never matched after its delay", st)
		}
		time.Sleep(time.Millisecond)
	}
	if f.srv.Delayed() != 1 {
		t.Fatalf("%d delayed answers, want 1", f.srv.Delayed())
	}
}
