package broker

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

const (
	condNormal = "0x1111111111111111111111111111111111111111111111111111111111111111"
	condNeg    = "0x2222222222222222222222222222222222222222222222222222222222222222"
)

// A BUY copy spending less than the CLOB's $1 minimum for a marketable BUY is refused before it
// is sent, live and on paper against the book alike, naming the setting that raises such copies
// (the executor raises or skips them first: this is the last guard). The CLOB would refuse it
// ("invalid amount for a marketable BUY order", clobsim rules_amounts.go) after a round trip.
func TestABUYBelowTheOneDollarMinimumIsRefusedBeforeSending(t *testing.T) {
	f := newFixture(t, nil)
	low := copyOrder(tokenNeg, polymarket.Buy, 2*unit, 610_000) // 2 at 0.305 + 0.02: $0.65
	_, err := f.broker.PlaceOrder(context.Background(), low)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "$1 minimum") || !strings.Contains(err.Error(), "copy.raise_to_minimum") {
		t.Fatalf("err = %v; want a refusal naming the $1 minimum and copy.raise_to_minimum", err)
	}
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != 0 {
		t.Errorf("%d POST /order for a copy the CLOB refuses", n)
	}
	ok := copyOrder(tokenNeg, polymarket.Buy, 4*unit, 1_220_000) // 4 at 0.305 + 0.02: $1.30
	if _, err := f.broker.PlaceOrder(context.Background(), ok); err != nil {
		t.Fatalf("a $1.30 BUY: %v", err)
	}

	book := &clob.Book{TickSize: d("0.01"), MinOrderSize: d("1"), Asks: []order.Level{{Price: d("0.30"), Size: d("100")}}}
	p, err := NewPaperBook(PaperBookOptions{Books: bookSource{book}, Slippage: d("0"), OrderType: order.FAK})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 3*unit, 900_000)); !errors.Is(err, ErrRefused) {
		t.Fatalf("paper book: a $0.90 BUY gave %v; want the same refusal as live", err)
	}
}

// Terms tell the executor what the market asks and charges before it decides: live, the fee
// schedule the CLOB charges (GET /clob-markets fd, not the legacy /fee-rate), the price the copy
// is signed at, min_order_size and the $1 minimum; on paper against the book, the same minimums.
func TestTermsReportTheMarketsMinimumsAndTheFeeItCharges(t *testing.T) {
	f := newFixture(t, func(o *clobsim.Options, _ *CLOBOptions) {
		o.Markets[0].FeeRateBps, o.Markets[0].FeeExponent = 700, 1
	})
	tok, _ := new(big.Int).SetString(tokenNormal, 10)
	fill := &polymarket.Fill{Side: polymarket.Buy, TokenID: tok, Shares: 10 * unit, Collateral: 5 * unit}
	got, err := f.broker.Terms(context.Background(), fill)
	if err != nil {
		t.Fatal(err)
	}
	want := Terms{Price: 520_000, MinShares: 5 * unit, MinNotional: order.MinMarketableBuy, FeeRateBps: 700, FeeExponent: 1, FeeSource: clob.FeeFromClobMarket}
	if got != want {
		t.Fatalf("live Terms = %+v, want %+v", got, want)
	}
	book := &clob.Book{TickSize: d("0.01"), MinOrderSize: d("5")}
	p, err := NewPaperBook(PaperBookOptions{Books: bookSource{book}, Slippage: d("0.02"), OrderType: order.FAK, FeeRateBps: 200})
	if err != nil {
		t.Fatal(err)
	}
	pt, err := p.Terms(context.Background(), fill)
	if err != nil || pt.Price != 520_000 || pt.MinShares != 5*unit || pt.MinNotional != order.MinMarketableBuy || pt.FeeRateBps != 200 {
		t.Fatalf("paper book Terms = %+v, %v", pt, err)
	}
}

// A market whose schedule has an exponent (clob-client-v2 1.1.0's example: rate 0.25, exponent
// 2) is recorded as the CLOB charges it: 10 shares at 0.50 pay 10·0.25·(0.25)² = 0.15625.
func TestAFeeScheduleWithAnExponentIsRecordedAsCharged(t *testing.T) {
	f := newFixture(t, func(o *clobsim.Options, b *CLOBOptions) {
		o.Markets[0].FeeRateBps, o.Markets[0].FeeExponent = 2500, 2
		b.Slippage = d("0")
	})
	buy := copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit)
	p, err := f.broker.Prepare(context.Background(), buy)
	if err != nil {
		t.Fatal(err)
	}
	buy.Prepared = p
	e, err := f.broker.PlaceOrder(context.Background(), buy)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.srv.Order(p.Hash)
	if e.Fee != 156_250 || int64(e.Fee) != st.Fee {
		t.Fatalf("fee %d recorded; the CLOB charged %d, want 156250", e.Fee, st.Fee)
	}
}
