package clobsim

import (
	"math/big"

	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/order"
)

// The CLOB's rules on an order's amounts: their decimals per order kind and side, the minimum
// size of a resting order and the minimum notional of a marketable BUY. Each rule cites the
// public text of the server's refusal; where sources disagree the stricter reading is taken.

// Refusals of an order's amounts, as the CLOB words them.
const (
	// A market (FOK/FAK) BUY: maker (pUSD) at most 2 decimals, taker (shares) at most 4, on
	// every tick (py-clob-client-v2 issue 99, on a 0.001 tick; rs-clob-client issue 261).
	msgMarketBuyAmts = "invalid amounts, the market buy orders maker amount supports a max accuracy of 2 decimals, taker amount a max of 4 decimals"
	// A market (FOK) SELL: maker (shares) at most 2 decimals, taker (pUSD) at most 4
	// (py-clob-client issue 121: the same amounts were taken as GTC and refused as FOK).
	msgMarketSellAmts = "invalid amounts, the sell orders maker amount supports a max accuracy of 2 decimals, taker amount a max of 4 decimals"
	// A limit BUY: maker (pUSD) at most the tick's amount decimals (the tick's price decimals
	// plus 2), taker (shares) at most 2: "the buy orders maker amount supports a max accuracy of
	// 4 decimals, taker amount a max of 2 decimals" on a 0.01 tick (py-clob-client issues 253,
	// 305), "of 5 decimals" on a 0.001 tick (clob-client issue 124).
	fmtLimitBuyAmts = "invalid amounts, the buy orders maker amount supports a max accuracy of %d decimals, taker amount a max of 2 decimals"
	// A limit SELL: the mirror of the BUY rule, shares at most 2 decimals and pUSD at most the
	// tick's amount decimals. No thread quotes it for a limit SELL; it is the BUY text with the
	// sides swapped, as the market SELL text above is.
	fmtLimitSellAmts = "invalid amounts, the sell orders maker amount supports a max accuracy of 2 decimals, taker amount a max of %d decimals"
	// A resting (GTC/GTD) order below the market's min_order_size (py-clob-client issue 301:
	// "order 0x… is invalid. Size (1.08) lower than the minimum: 5").
	fmtMinSize = "order %s is invalid. Size (%s) lower than the minimum: %s"
	// A marketable BUY (FOK/FAK, or a GTC/GTD BUY that crosses the book) below $1: "invalid
	// amount for a marketable BUY order ($0.9982), min size: $1", quoted by public Polymarket
	// integrations (nautilus_trader issue 3874 states "market order: minimum amount is $1";
	// polymarket.md §Minimums). The stricter reading counts a crossing limit BUY too.
	fmtMarketableMin = "invalid amount for a marketable BUY order ($%s), min size: $1"
)

// marketTakerDecimals is the most decimals of a market order's taker amount, whatever the tick.
const marketTakerDecimals = 4

// minMarketableBuy is the least pUSD a marketable BUY may spend, in base units ($1).
const minMarketableBuy = 1_000_000

// tickAmountDecimals is the number of decimals of a limit order's pUSD amount on tick: the
// tick's price decimals plus 2 (0.1: 3, 0.01: 4, 0.001: 5, 0.0001: 6).
func tickAmountDecimals(tick decimal.Decimal) int {
	dp := 0
	for !tick.Shift(int32(dp)).IsInteger() {
		dp++
	}
	return min(dp+2, 6)
}

// hasDecimals reports whether a base-unit amount (6 decimals) has at most dp decimals.
func hasDecimals(units *big.Int, dp int) bool {
	step := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(6-dp)), nil)
	return new(big.Int).Rem(units, step).Sign() == 0
}

// checkAmountDecimals applies the decimals rule of the order's kind (market: FOK/FAK; limit:
// GTC/GTD) and side.
func checkAmountDecimals(side order.Side, typ order.OrderType, maker, taker *big.Int, tick decimal.Decimal) *rejection {
	market := typ == order.FOK || typ == order.FAK
	amountDP := tickAmountDecimals(tick)
	switch {
	case market && side == order.Buy:
		if !hasDecimals(maker, 2) || !hasDecimals(taker, marketTakerDecimals) {
			return reject("%s", msgMarketBuyAmts)
		}
	case market:
		if !hasDecimals(maker, 2) || !hasDecimals(taker, marketTakerDecimals) {
			return reject("%s", msgMarketSellAmts)
		}
	case side == order.Buy:
		if !hasDecimals(maker, amountDP) || !hasDecimals(taker, 2) {
			return reject(fmtLimitBuyAmts, amountDP)
		}
	default:
		if !hasDecimals(maker, 2) || !hasDecimals(taker, amountDP) {
			return reject(fmtLimitSellAmts, amountDP)
		}
	}
	return nil
}

// checkMinimumsLocked applies the minimum size of a resting order and the minimum notional of
// a marketable BUY. A market (FOK/FAK) SELL has no minimum: a position's dust can be sold.
func (s *Server) checkMinimumsLocked(p *placement) *rejection {
	resting := p.typ == order.GTC || p.typ == order.GTD
	if resting && decimal.NewFromInt(p.size).LessThan(p.book.MinSize.Shift(6)) {
		return reject(fmtMinSize, p.hash.Hex(), decimal.New(p.size, -6), p.book.MinSize)
	}
	if p.o.Side != order.Buy {
		return nil
	}
	marketable := !resting || p.book.available(order.Buy, p.num, p.den) > 0
	if marketable && p.o.MakerAmount.Int64() < minMarketableBuy {
		return reject(fmtMarketableMin, decimal.New(p.o.MakerAmount.Int64(), -6))
	}
	return nil
}
