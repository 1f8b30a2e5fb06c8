package broker

import (
	"context"
	"testing"

	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

const (
	tokenMilli = "3003" // a 0.001-tick market
	tokenBasis = "4004" // a 0.0001-tick market
)

// TestMarketOrdersOnFineTicksAreTakenByTheCLOB: FAK copies on 0.001 and 0.0001 ticks whose
// amount over price does not divide evenly are taken by clobsim, which refuses a market order's
// taker amount past 4 decimals as the CLOB does ("invalid amounts, the market buy orders maker
// amount supports a max accuracy of 2 decimals, taker amount a max of 4 decimals",
// py-clob-client-v2 issue 99).
func TestMarketOrdersOnFineTicksAreTakenByTheCLOB(t *testing.T) {
	f := newFixture(t, func(so *clobsim.Options, _ *CLOBOptions) {
		so.Markets = append(so.Markets,
			clobsim.Market{TokenID: tokenMilli, TickSize: d("0.001"), MinSize: d("5"),
				Asks: []order.Level{{Price: d("0.056"), Size: d("1000")}}},
			clobsim.Market{TokenID: tokenBasis, TickSize: d("0.0001"), MinSize: d("5"),
				Asks: []order.Level{{Price: d("0.0057"), Size: d("10000")}},
				Bids: []order.Level{{Price: d("0.0557"), Size: d("100")}}})
		for a, b := range so.Balances {
			b.Tokens[tokenBasis] = 50 * unit
			so.Balances[a] = b
		}
	})
	for _, c := range []struct {
		name string
		o    Order
	}{
		// 17 shares at 0.056: the 0.076 limit spends 1.29, which buys 16.973684… shares.
		{"a buy on 0.001", copyOrder(tokenMilli, polymarket.Buy, 17*unit, 952_000)},
		// 333 shares at 0.0057: the 0.0257 limit spends 8.55, which buys 332.684824… shares.
		{"a buy on 0.0001", copyOrder(tokenBasis, polymarket.Buy, 333*unit, 1_898_100)},
		// 12.34 shares at 0.0557: the 0.0357 limit asks 0.440538.
		{"a sell on 0.0001", copyOrder(tokenBasis, polymarket.Sell, 12_340_000, 687_338)},
	} {
		e, err := f.broker.PlaceOrder(context.Background(), c.o)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if e.Shares == 0 || e.Collateral == 0 {
			t.Errorf("%s: nothing filled: %+v", c.name, e)
		}
	}
}

// TestAFineTickMarketBuyTakesAnAskExactlyAtItsLimit: with no slippage the limit is the leader's
// price, and the only ask sits there. A taker amount cut to the CLOB's 4 decimals still crosses
// it (the signed price is above the limit by less than a tick, and the fill is at the ask's
// price); one rounded up would sit a hair below the ask and fill nothing.
func TestAFineTickMarketBuyTakesAnAskExactlyAtItsLimit(t *testing.T) {
	f := newFixture(t, func(so *clobsim.Options, bo *CLOBOptions) {
		bo.Slippage = d("0")
		so.Markets = append(so.Markets, clobsim.Market{TokenID: tokenMilli, TickSize: d("0.001"), MinSize: d("5"),
			Asks: []order.Level{{Price: d("0.056"), Size: d("1000")}}})
	})
	// 31 shares at 0.056: the copy spends 1.73, which buys 30.892857… shares at 0.056.
	e, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenMilli, polymarket.Buy, 31*unit, 1_736_000))
	if err != nil {
		t.Fatal(err)
	}
	if e.Shares != 30_892_857 || e.Collateral != 1_729_999 {
		t.Fatalf("execution %d shares for %d, want 30.892857 for 1.729999 (all at 0.056)", e.Shares, e.Collateral)
	}
}
