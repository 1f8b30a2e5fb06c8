package clobsim

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/order"
)

// TestAmountDecimalsPerKindSideAndTick: each order kind and side is held to the decimals the
// CLOB's refusals state, on every tick, and refused with the CLOB's own words.
func TestAmountDecimalsPerKindSideAndTick(t *testing.T) {
	const (
		buy4  = "invalid amounts, the buy orders maker amount supports a max accuracy of 4 decimals, taker amount a max of 2 decimals"
		buy5  = "invalid amounts, the buy orders maker amount supports a max accuracy of 5 decimals, taker amount a max of 2 decimals"
		sell6 = "invalid amounts, the sell orders maker amount supports a max accuracy of 2 decimals, taker amount a max of 6 decimals"
		sell3 = "invalid amounts, the sell orders maker amount supports a max accuracy of 2 decimals, taker amount a max of 3 decimals"
	)
	for _, c := range []struct {
		name         string
		side         order.Side
		typ          order.OrderType
		maker, taker int64
		tick         string
		want         string // "" when taken
	}{
		// Market BUY: maker 2 decimals, taker 4, whatever the tick (py-clob-client-v2 issue 99).
		{"a market buy on 0.001 with a 5-decimal taker", order.Buy, order.FAK, 9_980_000, 10_131_970, "0.001", msgMarketBuyAmts},
		{"a market buy on 0.001 with a 4-decimal taker", order.Buy, order.FAK, 9_980_000, 10_132_000, "0.001", ""},
		{"a market buy on 0.0001 with a 6-decimal taker", order.Buy, order.FOK, 1_000_000, 175_438_596, "0.0001", msgMarketBuyAmts},
		{"a market buy on 0.01 with a 4-decimal taker", order.Buy, order.FOK, 100_000_000, 178_571_400, "0.01", ""},
		{"a market buy on 0.1 with a 3-decimal maker", order.Buy, order.FAK, 1_009_200, 1_740_000, "0.1", msgMarketBuyAmts},
		// Market SELL: maker 2 decimals, taker 4 (py-clob-client issue 121).
		{"a market sell of 4-decimal shares", order.Sell, order.FOK, 1_009_200, 580_000, "0.01", msgMarketSellAmts},
		{"a market sell on 0.0001 with a 6-decimal taker", order.Sell, order.FAK, 1_230_000, 7_011, "0.0001", msgMarketSellAmts},
		{"a market sell on 0.0001 with a 4-decimal taker", order.Sell, order.FAK, 1_230_000, 7_100, "0.0001", ""},
		// Limit BUY: maker the tick's amount decimals, taker 2 (py-clob-client 305, clob-client 124).
		{"a limit buy of 4-decimal shares on 0.01", order.Buy, order.GTC, 4_331_800, 19_691_200, "0.01", buy4},
		{"a limit buy of 19.69 at 0.22 on 0.01", order.Buy, order.GTC, 4_331_800, 19_690_000, "0.01", ""},
		{"a limit buy of 5-decimal shares on 0.001", order.Buy, order.GTD, 4_000_000, 6_666_660, "0.001", buy5},
		{"a limit buy with a 5-decimal maker on 0.001", order.Buy, order.GTC, 4_333_330, 19_690_000, "0.001", ""},
		{"a limit buy with a 5-decimal maker on 0.01", order.Buy, order.GTC, 4_333_330, 19_690_000, "0.01", buy4},
		// Limit SELL: the mirror.
		{"a limit sell with a 6-decimal taker on 0.0001", order.Sell, order.GTC, 19_690_000, 4_333_333, "0.0001", ""},
		{"a limit sell of 3-decimal shares on 0.0001", order.Sell, order.GTC, 19_695_000, 4_333_333, "0.0001", sell6},
		{"a limit sell with a 4-decimal taker on 0.1", order.Sell, order.GTC, 19_690_000, 4_333_300, "0.1", sell3},
	} {
		rej := checkAmountDecimals(c.side, c.typ, big.NewInt(c.maker), big.NewInt(c.taker), d(c.tick))
		switch {
		case c.want == "" && rej != nil:
			t.Errorf("%s: refused with %q", c.name, rej.msg)
		case c.want != "" && rej == nil:
			t.Errorf("%s: taken, want %q", c.name, c.want)
		case c.want != "" && rej.msg != c.want:
			t.Errorf("%s: %q, want %q", c.name, rej.msg, c.want)
		}
	}
}

// TestMinimumsOfRestingOrdersAndMarketableBuys: a resting order below min_order_size and a
// marketable BUY (FAK/FOK, or a limit BUY that crosses an ask) below $1 are refused with the
// CLOB's words; a non-crossing limit BUY and a market SELL of dust are not.
func TestMinimumsOfRestingOrdersAndMarketableBuys(t *testing.T) {
	s := &Server{}
	b, err := newBook(Market{TokenID: "1", TickSize: d("0.01"), MinSize: d("5"),
		Asks: []order.Level{{Price: d("0.5"), Size: d("100")}}})
	if err != nil {
		t.Fatal(err)
	}
	hash := common.HexToHash("0xab")
	place := func(side order.Side, typ order.OrderType, maker, taker int64) *placement {
		o := &order.OrderV2{Side: side, MakerAmount: big.NewInt(maker), TakerAmount: big.NewInt(taker)}
		p := &placement{o: o, typ: typ, book: b, hash: hash, num: o.MakerAmount, den: o.TakerAmount, size: taker}
		if side == order.Sell {
			p.num, p.den, p.size = o.TakerAmount, o.MakerAmount, maker
		}
		return p
	}
	for _, c := range []struct {
		name string
		p    *placement
		want string
	}{
		{"a GTC of 4.99 shares", place(order.Buy, order.GTC, 1_996_000, 4_990_000),
			"order " + hash.Hex() + " is invalid. Size (4.99) lower than the minimum: 5"},
		{"a GTC sell of 1.08 shares", place(order.Sell, order.GTC, 1_080_000, 1_000_000),
			"order " + hash.Hex() + " is invalid. Size (1.08) lower than the minimum: 5"},
		{"a FAK buy of $0.99", place(order.Buy, order.FAK, 990_000, 1_980_000),
			"invalid amount for a marketable BUY order ($0.99), min size: $1"},
		{"a crossing GTC buy of 6 shares at 0.6 ($3.6)", place(order.Buy, order.GTC, 3_600_000, 6_000_000), ""},
		{"a GTC buy of 5 shares at 0.19 ($0.95) does not cross 0.5", place(order.Buy, order.GTC, 950_000, 5_000_000), ""},
		{"a FAK buy of $1", place(order.Buy, order.FAK, 1_000_000, 2_000_000), ""},
		{"a FAK sell of 0.5 shares", place(order.Sell, order.FAK, 500_000, 250_000), ""},
	} {
		rej := s.checkMinimumsLocked(c.p)
		switch {
		case c.want == "" && rej != nil:
			t.Errorf("%s: refused with %q", c.name, rej.msg)
		case c.want != "" && rej == nil:
			t.Errorf("%s: taken, want %q", c.name, c.want)
		case c.want != "" && rej.msg != c.want:
			t.Errorf("%s: %q, want %q", c.name, rej.msg, c.want)
		}
	}
	// A limit BUY that crosses the 0.5 ask is marketable: 5 shares at 0.5 is $2.5, taken;
	// a crossing BUY of $0.99 is not.
	b2, _ := newBook(Market{TokenID: "2", TickSize: d("0.01"), MinSize: d("1"),
		Asks: []order.Level{{Price: d("0.5"), Size: d("100")}}})
	p := place(order.Buy, order.GTC, 990_000, 1_800_000) // 1.8 shares at 0.55: crosses 0.5
	p.book = b2
	if rej := s.checkMinimumsLocked(p); rej == nil || rej.msg != "invalid amount for a marketable BUY order ($0.99), min size: $1" {
		t.Errorf("a crossing GTC buy of $0.99: %v", rej)
	}
}
