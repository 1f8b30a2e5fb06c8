package order

import (
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func dec(t testing.TB, s string) decimal.Decimal {
	t.Helper()
	d, err := decimal.NewFromString(s)
	if err != nil {
		t.Fatalf("decimal %q: %v", s, err)
	}
	return d
}

func TestOrderAmountVectors(t *testing.T) {
	runVectors(t, "order_amounts", func(t *testing.T, v vector) {
		var in struct {
			Algorithm string `json:"algorithm"`
			Kind      string `json:"kind"`
			Side      string `json:"side"`
			Price     string `json:"price"`
			Size      string `json:"size"`
			Amount    string `json:"amount"`
			TickSize  string `json:"tickSize"`
		}
		var want struct {
			MakerAmount string `json:"makerAmount"`
			TakerAmount string `json:"takerAmount"`
			Error       string `json:"error"`
		}
		decodeJSON(t, v.Inputs, &in)
		decodeJSON(t, v.Expected, &want)
		side, err := ParseSide(in.Side)
		if err != nil {
			t.Fatal(err)
		}
		price, tick := dec(t, in.Price), dec(t, in.TickSize)

		if want.Error != "" {
			// The strict (rs-client) builder refuses a size finer than the lot size; polybot
			// applies that rule through ValidateSize before building its own orders.
			if in.Kind != "limit" {
				t.Fatalf("rejection vector of kind %q not handled", in.Kind)
			}
			err := ValidateSize(dec(t, in.Size), decimal.Zero)
			if !errors.Is(err, ErrSizePrecision) {
				t.Fatalf("ValidateSize(%s) = %v, want ErrSizePrecision (vector: %q)", in.Size, err, want.Error)
			}
			if !strings.Contains(err.Error(), "4 decimal places") {
				t.Errorf("error %q does not say how many decimals the size has", err)
			}
			return
		}

		var maker, taker *big.Int
		switch in.Kind {
		case "limit":
			maker, taker, err = LimitAmounts(side, price, dec(t, in.Size), tick)
		case "market":
			if fineTick(tick) {
				// The clients' amounts on 0.001/0.0001 ticks are refused by the CLOB:
				// TestFineTickMarketOrdersMeetTheCLOBsRule checks these vectors instead.
				t.Skip("fine-tick market order: checked against the CLOB's rule, not the clients' amounts")
			}
			proto := map[string]Protocol{"v1": V1, "v2": V2}[in.Algorithm]
			maker, taker, err = MarketAmounts(proto, side, price, dec(t, in.Amount), tick)
		default:
			t.Fatalf("unknown kind %q", in.Kind)
		}
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		if maker.String() != want.MakerAmount || taker.String() != want.TakerAmount {
			t.Errorf("got maker %s taker %s, want %s %s", maker, taker, want.MakerAmount, want.TakerAmount)
		}
	})
}

func TestValidatePrice(t *testing.T) {
	tests := []struct {
		name, price, tick string
		want              error
	}{
		{"a price on the cent grid passes", "0.56", "0.01", nil},
		{"trailing zeros do not matter", "0.5600", "0.01", nil},
		{"a half-cent price passes on tick 0.005", "0.505", "0.005", nil},
		{"a price between half-cent steps is refused", "0.503", "0.005", ErrPriceOffTick},
		{"a quarter-cent price passes on tick 0.0025", "0.0075", "0.0025", nil},
		{"a price finer than the tick is refused", "0.565", "0.01", ErrPriceOffTick},
		{"zero is refused", "0", "0.01", ErrPriceRange},
		{"one is refused", "1", "0.01", ErrPriceRange},
		{"a negative price is refused", "-0.5", "0.01", ErrPriceRange},
		{"an unknown tick is refused", "0.5", "0.05", ErrUnknownTick},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidatePrice(dec(t, tc.price), dec(t, tc.tick))
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("ValidatePrice(%s, %s) = %v, want %v", tc.price, tc.tick, err, tc.want)
			}
		})
	}
}

func TestValidateSize(t *testing.T) {
	tests := []struct {
		name, size, min string
		want            error
	}{
		{"a whole size passes", "15", "5", nil},
		{"two decimals pass", "21.04", "5", nil},
		{"trailing zeros do not count as decimals", "21.0400", "5", nil},
		{"three decimals are refused", "21.041", "0", ErrSizePrecision},
		{"a size below the market minimum is refused", "4.99", "5", ErrSizeTooSmall},
		{"the minimum itself passes", "5", "5", nil},
		{"zero is refused", "0", "0", ErrSizeTooSmall},
		{"a negative minimum is refused", "5", "-1", ErrInvalidOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateSize(dec(t, tc.size), dec(t, tc.min))
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("ValidateSize(%s, %s) = %v, want %v", tc.size, tc.min, err, tc.want)
			}
		})
	}
}

func TestLimitAmounts(t *testing.T) {
	tests := []struct {
		name                 string
		side                 Side
		price, size, tick    string
		wantMaker, wantTaker string
		wantErr              error
	}{
		{"a buy on a half-cent tick keeps five decimals of notional", Buy, "0.505", "10.01", "0.005", "5055050", "10010000", nil},
		{"a sell on a quarter-cent tick keeps six decimals", Sell, "0.0025", "33.33", "0.0025", "33330000", "83325", nil},
		{"a size is cut to two decimals, not rounded", Buy, "0.5", "1.999", "0.1", "995000", "1990000", nil},
		{"a size below one lot is refused", Buy, "0.5", "0.009", "0.1", "", "", ErrSizeTooSmall},
		{"an off-grid price is refused", Buy, "0.55", "10", "0.1", "", "", ErrPriceOffTick},
		{"an unknown tick is refused", Sell, "0.5", "10", "0.02", "", "", ErrUnknownTick},
		{"an invalid side is refused", Side(7), "0.5", "10", "0.1", "", "", ErrInvalidOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, k, err := LimitAmounts(tc.side, dec(t, tc.price), dec(t, tc.size), dec(t, tc.tick))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.String() != tc.wantMaker || k.String() != tc.wantTaker {
				t.Errorf("got %s/%s, want %s/%s", m, k, tc.wantMaker, tc.wantTaker)
			}
		})
	}
}

func TestMarketAmounts(t *testing.T) {
	tests := []struct {
		name                 string
		proto                Protocol
		side                 Side
		price, amount, tick  string
		wantMaker, wantTaker string
		wantErr              error
	}{
		{"V2 rounds an off-tick price down", V2, Buy, "0.565", "100", "0.01", "100000000", "178571400", nil},
		{"V1 rounds an off-tick price half up", V1, Buy, "0.565", "100", "0.01", "100000000", "175438500", nil},
		{"a sell multiplies shares by the price", V2, Sell, "0.565", "10.129", "0.01", "10120000", "5667200", nil},
		{"the share count is truncated to the tick's amount decimals", V2, Buy, "0.3", "0.01", "0.1", "10000", "33000", nil},
		{"a buy on a quarter-cent tick cuts its shares to 4 decimals", V2, Buy, "0.0075", "1", "0.0025", "1000000", "133333300", nil},
		{"a sell on a 0.0001 tick cuts its proceeds to 4 decimals", V2, Sell, "0.0057", "1.23", "0.0001", "1230000", "7000", nil},
		{"a buy on a 0.001 tick at an exact quotient keeps it", V2, Buy, "0.005", "100", "0.001", "100000000", "20000000000", nil},
		{"V1 half-up rounding to 1 is refused", V1, Buy, "0.996", "10", "0.01", "", "", ErrPriceRange},
		{"V2 rounding to 0 is refused", V2, Sell, "0.004", "10", "0.01", "", "", ErrPriceRange},
		{"an amount below one cent is refused", V2, Buy, "0.5", "0.009", "0.01", "", "", ErrSizeTooSmall},
		{"an unset protocol is refused", Protocol(0), Buy, "0.5", "1", "0.01", "", "", ErrInvalidOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, k, err := MarketAmounts(tc.proto, tc.side, dec(t, tc.price), dec(t, tc.amount), dec(t, tc.tick))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.String() != tc.wantMaker || k.String() != tc.wantTaker {
				t.Errorf("got %s/%s, want %s/%s", m, k, tc.wantMaker, tc.wantTaker)
			}
		})
	}
}

func TestMarketPrice(t *testing.T) {
	lv := func(p, s string) Level { return Level{Price: dec(t, p), Size: dec(t, s)} }
	// As GET /book returns them: asks descending and bids ascending, best last.
	asks := []Level{lv("0.60", "100"), lv("0.55", "100"), lv("0.50", "100")}
	bids := []Level{lv("0.30", "100"), lv("0.40", "100"), lv("0.45", "100")}
	tests := []struct {
		name      string
		side      Side
		levels    []Level
		amount    string
		orderType OrderType
		want      string
		wantErr   error
	}{
		{"a buy the best ask covers takes the best ask", Buy, asks, "50", FOK, "0.50", nil},
		{"a buy exactly equal to the best level stops there", Buy, asks, "50", FAK, "0.50", nil},
		{"a buy spilling into the second level takes its price", Buy, asks, "50.01", FOK, "0.55", nil},
		{"a buy needing the whole book takes the last level", Buy, asks, "165", FOK, "0.60", nil},
		{"a FOK buy larger than the book fails", Buy, asks, "165.01", FOK, "", ErrNoLiquidity},
		{"a FAK buy larger than the book takes the deepest price", Buy, asks, "1000", FAK, "0.60", nil},
		{"a sell sums shares from the best bid down", Sell, bids, "150", FOK, "0.40", nil},
		{"a FAK sell larger than the book takes the deepest bid", Sell, bids, "301", FAK, "0.30", nil},
		{"an empty book fails", Sell, nil, "1", FAK, "", ErrNoLiquidity},
		{"a resting order type is refused", Buy, asks, "1", GTC, "", ErrInvalidOrder},
		{"a zero amount is refused", Buy, asks, "0", FOK, "", ErrSizeTooSmall},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MarketPrice(tc.side, tc.levels, dec(t, tc.amount), tc.orderType)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(dec(t, tc.want)) {
				t.Errorf("price = %s, want %s", got, tc.want)
			}
		})
	}
}

// fineTick reports whether tick makes the clients' market amounts carry more than 4 decimals.
func fineTick(tick decimal.Decimal) bool {
	r, err := roundingFor(tick)
	return err == nil && r.amountDP > 4
}

// TestFineTickMarketOrdersMeetTheCLOBsRule builds every market order of the official clients'
// vectors on a 0.001 or 0.0001 tick and checks what the CLOB requires of it: "invalid amounts, the
// market buy orders maker amount supports a max accuracy of 2 decimals, taker amount a max of 4
// decimals" (py-clob-client-v2 issue 99, rs-clob-client issue 261; py-clob-client issue 121 for
// SELLs). The order spends the clients' amount; its taker is the clients' cut to 4 decimals, so
// its price (collateral per share) is off the limit by less than one tick: no book price lies
// between the two, and every fill is at a price at or better than the limit.
func TestFineTickMarketOrdersMeetTheCLOBsRule(t *testing.T) {
	checked := 0
	for _, v := range loadVectors(t, "order_amounts") {
		var in struct {
			Algorithm, Kind, Side, Price, Amount, TickSize string
		}
		var want struct{ MakerAmount, TakerAmount string }
		decodeJSON(t, v.Inputs, &in)
		decodeJSON(t, v.Expected, &want)
		if in.Kind != "market" || !fineTick(dec(t, in.TickSize)) {
			continue
		}
		checked++
		t.Run(v.Name, func(t *testing.T) {
			side, err := ParseSide(in.Side)
			if err != nil {
				t.Fatal(err)
			}
			proto := map[string]Protocol{"v1": V1, "v2": V2}[in.Algorithm]
			tick := dec(t, in.TickSize)
			maker, taker, err := MarketAmounts(proto, side, dec(t, in.Price), dec(t, in.Amount), tick)
			if err != nil {
				t.Fatal(err)
			}
			if maker.String() != want.MakerAmount {
				t.Errorf("maker %s, want the clients' %s", maker, want.MakerAmount)
			}
			if new(big.Int).Rem(maker, big.NewInt(10_000)).Sign() != 0 {
				t.Errorf("maker %s has more than 2 decimals", maker)
			}
			if new(big.Int).Rem(taker, big.NewInt(100)).Sign() != 0 {
				t.Errorf("taker %s has more than 4 decimals: the CLOB refuses it", taker)
			}
			if cut := dec(t, want.TakerAmount).Shift(-2).Floor().Shift(2); !decimal.NewFromBigInt(taker, 0).Equal(cut) {
				t.Errorf("taker %s, want the clients' %s cut to 4 decimals (%s)", taker, want.TakerAmount, cut)
			}
			// The limit the order was built for, rounded as MarketAmounts rounds it.
			r, _ := roundingFor(tick)
			p := dec(t, in.Price).Truncate(r.priceDP)
			if proto == V1 {
				p = dec(t, in.Price).Round(r.priceDP)
			}
			m, k := decimal.NewFromBigInt(maker, 0), decimal.NewFromBigInt(taker, 0)
			coll, shares := m, k
			if side == Sell {
				coll, shares = k, m
			}
			ratio := coll.DivRound(shares, 20)
			// BUY: p <= ratio < p+tick; SELL: p-tick < ratio <= p.
			if side == Buy && (ratio.LessThan(p) || !ratio.LessThan(p.Add(tick))) ||
				side == Sell && (ratio.GreaterThan(p) || !ratio.GreaterThan(p.Sub(tick))) {
				t.Errorf("price %s is a tick or more from the limit %s", ratio, p)
			}
		})
	}
	if checked < 13 {
		t.Fatalf("checked %d fine-tick market vectors, want at least 13", checked)
	}
	t.Logf("%d fine-tick market vectors checked", checked)
}
