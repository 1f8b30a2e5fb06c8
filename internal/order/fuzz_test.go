package order

import (
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

var amountSeeds = [][3]string{ // price, size or amount, tick
	{"0.55", "10", "0.01"},
	{"0.5", "0.01", "0.1"},
	{"0.0001", "1234567.89", "0.0001"},
	{"0.9975", "5", "0.0025"},
	{"0.995", "3.333", "0.005"},
	{"0.999", "100", "0.001"},
	{"0.5", "1e100", "0.01"},
	{"0.5", "1e10000", "0.01"},
	{"1e-10000", "5", "0.01"},
	{"0.5", "5", "1e-10000"},
	{"0.5", "1e-10000", "0.01"},
	{"-0.5", "-5", "-0.01"},
	{"1", "5", "0.01"},
	{"0.50000000000000000001", "5", "0.01"},
	{"0.5", "115792089237316195423570985008687907853269984665640564039457.584007913129639935", "0.01"},
	{"", "", ""},
	{"abc", "1e", "."},
}

// parseFuzzDecimal parses s as the CLOB client and the config do before any amount is built;
// strings they refuse never reach the builder.
func parseFuzzDecimal(s string) (decimal.Decimal, bool) {
	d, err := decimal.NewFromString(s)
	return d, err == nil
}

// checkAmounts holds for every pair of amounts the builder returns without error: both are
// positive and fit the uint256 fields of the signed order.
func checkAmounts(t *testing.T, maker, taker *big.Int) {
	t.Helper()
	for _, a := range []*big.Int{maker, taker} {
		if a == nil || a.Sign() <= 0 || a.BitLen() > 256 {
			t.Fatalf("amounts of sign %d/%d and %d/%d bits: want both in (0, 2^256)", maker.Sign(), taker.Sign(), maker.BitLen(), taker.BitLen())
		}
	}
}

// FuzzLimitAmounts builds limit orders from arbitrary price, size and tick strings: no panic,
// no hang, and an accepted order is consistent: positive uint256 amounts, shares equal to the
// size cut to the lot, and a notional within one amount-decimal of shares times price.
func FuzzLimitAmounts(f *testing.F) {
	for i, s := range amountSeeds {
		f.Add(uint8(i%2), s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, side uint8, ps, ss, ts string) {
		price, ok1 := parseFuzzDecimal(ps)
		size, ok2 := parseFuzzDecimal(ss)
		tick, ok3 := parseFuzzDecimal(ts)
		if !ok1 || !ok2 || !ok3 {
			return
		}
		sd := Side(side % 3) // 2 is invalid and must be refused
		maker, taker, err := LimitAmounts(sd, price, size, tick)
		if err != nil {
			if !sd.Valid() && !errors.Is(err, ErrInvalidOrder) {
				t.Fatalf("side %d: %v, want ErrInvalidOrder", sd, err)
			}
			return
		}
		if !sd.Valid() {
			t.Fatalf("side %d accepted", sd)
		}
		checkAmounts(t, maker, taker)
		if err := ValidatePrice(price, tick); err != nil {
			t.Fatalf("built an order at a price ValidatePrice refuses: %v", err)
		}
		shares, notional := taker, maker
		if sd == Sell {
			shares, notional = maker, taker
		}
		if want := size.Truncate(sizeDecimals).Shift(baseDecimals).BigInt(); shares.Cmp(want) != 0 {
			t.Fatalf("shares %s, want the size cut to the lot: %s", shares, want)
		}
		if notional.Cmp(shares) > 0 {
			t.Fatalf("notional %s exceeds shares %s at a price below 1", notional, shares)
		}
		r, _ := roundingFor(tick)
		exact := decimal.NewFromBigInt(shares, 0).Mul(price)
		diff := decimal.NewFromBigInt(notional, 0).Sub(exact).Abs()
		if lim := decimal.New(1, baseDecimals-r.amountDP); diff.GreaterThanOrEqual(lim) {
			t.Fatalf("notional %s is %s away from shares*price %s (limit %s)", notional, diff, exact, lim)
		}
	})
}

// FuzzMarketAmounts builds market orders from arbitrary strings, and walks a one-level book
// built from them: no panic, no hang, positive uint256 amounts, and the side that is computed
// never beats the price (a BUY gets at least its collateral in shares, a SELL at most its shares
// in collateral).
func FuzzMarketAmounts(f *testing.F) {
	for i, s := range amountSeeds {
		f.Add(uint8(i%2), uint8(2), s[0], s[1], s[2])
	}
	f.Add(uint8(0), uint8(1), "0.555", "10", "0.01")
	f.Fuzz(func(t *testing.T, side, proto uint8, ps, as, ts string) {
		price, ok1 := parseFuzzDecimal(ps)
		amount, ok2 := parseFuzzDecimal(as)
		tick, ok3 := parseFuzzDecimal(ts)
		if !ok1 || !ok2 || !ok3 {
			return
		}
		sd := Side(side % 3)
		if p, err := MarketPrice(sd, []Level{{Price: price, Size: amount}}, amount, FAK); err == nil && !p.Equal(price) {
			t.Fatalf("one-level book priced at %s, want its level %s", p, price)
		}
		maker, taker, err := MarketAmounts(Protocol(proto%3), sd, price, amount, tick)
		if err != nil {
			return
		}
		if !sd.Valid() || (proto%3 != 1 && proto%3 != 2) {
			t.Fatalf("side %d protocol %d accepted", sd, proto%3)
		}
		checkAmounts(t, maker, taker)
		if want := amount.Truncate(sizeDecimals).Shift(baseDecimals).BigInt(); maker.Cmp(want) != 0 {
			t.Fatalf("maker %s, want the amount cut to 2 decimals: %s", maker, want)
		}
		if sd == Buy && taker.Cmp(maker) < 0 {
			t.Fatalf("BUY of %s collateral gets %s shares at a price below 1", maker, taker)
		}
		if sd == Sell && taker.Cmp(maker) > 0 {
			t.Fatalf("SELL of %s shares gets %s collateral at a price below 1", maker, taker)
		}
	})
}

// TestHostileDecimalsAreRefusedQuickly runs the builder on the largest numbers the decimal
// parser accepts (exponent ±10000, thousands of digits). Each must be answered, and an order
// whose amounts do not fit the signed uint256 fields must be refused. The 10 s bound only
// catches a hang; it is not a timing target.
func TestHostileDecimalsAreRefusedQuickly(t *testing.T) {
	long := "1" + strings.Repeat("0", 5000)
	cases := []struct{ price, size, tick string }{
		{"0.5", "1e10000", "0.01"},
		{"0.5", long, "0.01"},
		{"0.5", "1e78", "0.01"},
		{"1e-10000", "5", "0.01"},
		{"0.5", "5", "1e-10000"},
		{"0.5", "5", "1e10000"},
		{"0.5", "1e-10000", "0.01"},
	}
	for _, c := range cases {
		t.Run(c.price[:min(len(c.price), 12)]+"/"+c.size[:min(len(c.size), 12)]+"/"+c.tick[:min(len(c.tick), 12)], func(t *testing.T) {
			price, size, tick := dec(t, c.price), dec(t, c.size), dec(t, c.tick)
			done := make(chan struct{})
			go func() {
				defer close(done)
				for _, sd := range []Side{Buy, Sell} {
					if m, tk, err := LimitAmounts(sd, price, size, tick); err == nil {
						t.Errorf("limit %v: accepted amounts of %d and %d bits", sd, m.BitLen(), tk.BitLen())
					}
					if m, tk, err := MarketAmounts(V2, sd, price, size, tick); err == nil {
						t.Errorf("market %v: accepted amounts of %d and %d bits", sd, m.BitLen(), tk.BitLen())
					}
				}
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the amount builder did not answer within 10 s")
			}
		})
	}
}
