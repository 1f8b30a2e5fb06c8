package broker

import (
	"context"
	"errors"
	"strings"
	"testing"

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
