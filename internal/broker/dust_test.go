package broker

import (
	"context"
	"errors"
	"testing"

	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// A leader's full exit sells the whole remainder, even below the market's minimum size, as a
// market order; as a resting (GTC) order it is refused before sending, and stays as dust.
func TestAWholePositionBelowTheMinimumIsSoldAsAMarketOrder(t *testing.T) {
	dust := func() Order {
		o := copyOrder(tokenNormal, polymarket.Sell, 3*unit, 1_485_000) // 3 shares at 0.495, minimum 5
		o.Whole = true
		return o
	}
	f := newFixture(t, nil) // FAK
	e, err := f.broker.PlaceOrder(context.Background(), dust())
	if err != nil {
		t.Fatal(err)
	}
	if e.Shares != 3*unit || f.srv.Balance(f.addr).Tokens[tokenNormal] != 47*unit {
		t.Fatalf("execution %+v; the CLOB holds %d", e, f.srv.Balance(f.addr).Tokens[tokenNormal])
	}
	partial := dust()
	partial.Whole = false
	if _, err := f.broker.PlaceOrder(context.Background(), partial); !errors.Is(err, order.ErrSizeTooSmall) {
		t.Fatalf("a partial sale below the minimum: err = %v, want refused as too small", err)
	}

	g := newFixture(t, func(_ *clobsim.Options, b *CLOBOptions) { b.OrderType = order.GTC })
	if _, err := g.broker.PlaceOrder(context.Background(), dust()); !errors.Is(err, ErrRefused) || !errors.Is(err, order.ErrSizeTooSmall) {
		t.Fatalf("GTC: err = %v, want refused before sending", err)
	}
	if n := g.srv.Requests(clobsim.RoutePostOrder); n != 0 {
		t.Fatalf("GTC: %d orders sent", n)
	}
}
