package broker

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// TestARegionBlockMidRunShowsInAccess: a 403 for the region on an order is a rejection the
// caller can tell (ErrGeoblocked) and shows in Access until the CLOB takes an order again.
func TestARegionBlockMidRunShowsInAccess(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.SetGeoblocked(true)
	_, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit))
	if !errors.Is(err, ErrGeoblocked) || !errors.Is(err, ErrRejected) {
		t.Fatalf("err = %v, want ErrGeoblocked", err)
	}
	if acc := f.broker.Access(); !acc.Geoblocked || !strings.Contains(acc.String(), "trading restricted in your region") {
		t.Fatalf("access %+v %q", acc, acc.String())
	}
	f.srv.SetGeoblocked(false)
	if _, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit)); err != nil {
		t.Fatal(err)
	}
	if acc := f.broker.Access(); acc.String() != "" {
		t.Fatalf("access still %q after an order was taken", acc.String())
	}
}

// TestAV3OrderIsJournaledAndRestoredAsTheSameOrder: on a CLOB that announces order version 3
// the copy is signed for ExchangeV3 (domain "3") whatever its market, the CLOB fills it, and its
// journal restores the very same order after a restart (a crash before it left resends it).
func TestAV3OrderIsJournaledAndRestoredAsTheSameOrder(t *testing.T) {
	f := newFixture(t, func(so *clobsim.Options, _ *CLOBOptions) { so.Version = 3 })
	for token, coll := range map[string]uint64{tokenNormal: 5 * unit, tokenNeg: 3 * unit} {
		o := copyOrder(token, polymarket.Buy, 10*unit, coll)
		p, err := f.broker.Prepare(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		if want := order.ExchangeDomain(order.V3, 137, polymarket.ExchangeV3); p.Order.Order.Hash(want) != p.Hash {
			t.Fatalf("%s: the order is not signed for ExchangeV3's domain", token)
		}
		j, err := p.Journal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := f.broker.Restore(j, p.Hash)
		if err != nil || back.Hash != p.Hash || string(back.Body) != string(p.Body) {
			t.Fatalf("%s: restored %v, %v", token, back, err)
		}
		o.Prepared = back
		if e, err := f.broker.PlaceOrder(context.Background(), o); err != nil || e.Shares == 0 {
			t.Fatalf("%s: the V3 order did not fill: %+v %v", token, e, err)
		}
	}
}

// TestAnUnknownOrderVersionAtStartStartsWithBUYsStopped: a CLOB that announces an order version
// polybot cannot sign when the broker starts does not stop it (a daemon that exits here is
// restarted forever). The broker starts with BUYs stopped and says why; with no version signed
// yet an exit is refused too, before anything is sent, with the reason. Each refusal may
// re-read GET /version (at most once per recheckEvery): once the CLOB announces version 2, the
// next BUY and exit are signed for it and fill.
func TestAnUnknownOrderVersionAtStartStartsWithBUYsStopped(t *testing.T) {
	var now atomic.Int64 // unix seconds; clobsim reads it from its own goroutines
	now.Store(1_780_000_000)
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	f := newFixture(t, func(so *clobsim.Options, bo *CLOBOptions) { so.Version, so.Now, bo.Now = 9, clock, clock })
	acc := f.broker.Access()
	if !acc.UnknownVersion || !acc.NoneSigned || acc.Version != 9 ||
		!strings.Contains(acc.String(), "BUYs stopped") || !strings.Contains(acc.String(), "order version 9") ||
		!strings.Contains(acc.String(), "exits wait") {
		t.Fatalf("access at start %+v %q, want BUYs and exits stopped for order version 9", acc, acc.String())
	}
	buy := copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit)
	sell := copyOrder(tokenNormal, polymarket.Sell, 10*unit, 4_800_000)
	if _, err := f.broker.PlaceOrder(context.Background(), buy); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "BUYs stopped") {
		t.Fatalf("BUY: %v, want refused with BUYs stopped", err)
	}
	if _, err := f.broker.PlaceOrder(context.Background(), sell); !errors.Is(err, ErrRefused) ||
		!strings.Contains(err.Error(), "no version polybot signs") || !strings.Contains(err.Error(), "tried again") {
		t.Fatalf("exit: %v, want refused for no version to sign it for", err)
	}
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != 0 {
		t.Fatalf("%d POST /order while the CLOB wants a version polybot cannot sign", n)
	}
	reads := f.srv.Requests(clobsim.RouteVersion)
	f.srv.SetVersion(2)
	if _, err := f.broker.PlaceOrder(context.Background(), buy); !errors.Is(err, ErrRefused) {
		t.Fatalf("BUY within %s of the last re-read: %v, want still refused", recheckEvery, err)
	}
	if n := f.srv.Requests(clobsim.RouteVersion); n != reads {
		t.Fatalf("GET /version read %d more times within %s", n-reads, recheckEvery)
	}
	now.Add(int64(recheckEvery / time.Second))
	e, err := f.broker.PlaceOrder(context.Background(), buy)
	if err != nil || e.Shares == 0 {
		t.Fatalf("BUY after the CLOB announced version 2: %+v %v, want it to fill", e, err)
	}
	if acc := f.broker.Access(); acc.String() != "" || acc.Version != 2 {
		t.Fatalf("access %+v %q after version 2", acc, acc.String())
	}
	if e, err := f.broker.PlaceOrder(context.Background(), sell); err != nil || e.Shares == 0 {
		t.Fatalf("exit after version 2: %+v %v, want it to fill", e, err)
	}
}
