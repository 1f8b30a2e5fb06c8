// Package broker places polybot's copy orders: on paper at the leader's price (the default), on
// paper against the CLOB's real order book (PaperBook), or live on the CLOB (CLOB).
package broker

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
)

// Order is a copy order as the executor sized it. Shares and Collateral are 6-decimal base units;
// Collateral is the limit notional: the most a BUY pays, the least a SELL accepts.
type Order struct {
	Leader     common.Address
	Market     string
	TokenID    *big.Int
	Side       polymarket.Side
	Shares     uint64
	Collateral uint64
	Source     *polymarket.Fill // the leader fill being copied
	// Attempt is 0 for the copy of Source and n for the nth retry of an exit that did not
	// sell: its order gets a salt of its own (order.SaltForAttempt).
	Attempt uint
	// Prepared, when set, is the order already signed for this copy (its hash is journaled in
	// the intent): the live broker posts exactly it instead of preparing another.
	Prepared *Prepared
	// Whole marks a SELL of the whole position held from the leader (the leader exited).
	// As a market order (FAK or FOK) it may be below the market's minimum size, which binds
	// resting (GTC/GTD) orders only: the dust left by earlier copies is sold with it.
	Whole bool
}

// minSizeFor is the smallest size o may have on a market whose resting orders need minSize:
// none (beyond a positive size) for a whole-position SELL sent as a market order.
func minSizeFor(o Order, typ order.OrderType, minSize decimal.Decimal) decimal.Decimal {
	if o.Whole && o.Side == polymarket.Sell && (typ == order.FAK || typ == order.FOK) {
		return decimal.Zero
	}
	return minSize
}

// Paper fills every order in full at its limit, which the executor sets at the leader's price,
// and charges the taker fee of FeeRateBps as the CLOB would (order.TakerFee; 0 charges none).
// The executor records the execution in the position book and logs the copy.
type Paper struct {
	FeeRateBps int
}

// PlaceOrder fills o at once.
func (p Paper) PlaceOrder(_ context.Context, o Order) (Execution, error) {
	e := Execution{
		Leader:     o.Leader,
		Market:     o.Market,
		Side:       o.Side,
		Shares:     o.Shares,
		Collateral: o.Collateral,
		Fee:        order.TakerFee(o.Shares, o.Collateral, p.FeeRateBps),
		Complete:   true,
	}
	if o.Source != nil {
		e.SourceTx, e.SourceLog = o.Source.TxHash, o.Source.LogIndex
	}
	return e, nil
}

// LimitPrice is the price polybot puts on a copy of a leader who traded at collateral/shares
// (base units): the leader's price moved against us by at most slippage and rounded inward to
// the tick grid, so the bound is never exceeded. A BUY pays at most leader+slippage, rounded
// down to the tick; a SELL takes at least leader−slippage, rounded up to the tick. The result is
// kept within [tick, 1−tick]; when that would cross the bound the copy is refused. tick and
// slippage must have at most 4 decimals (every CLOB tick size has). The arithmetic is exact.
func LimitPrice(side polymarket.Side, collateral, shares uint64, slippage, tick decimal.Decimal) (decimal.Decimal, error) {
	if shares == 0 || collateral == 0 {
		return decimal.Decimal{}, fmt.Errorf("no leader price: %d collateral for %d shares", collateral, shares)
	}
	if slippage.IsNegative() {
		return decimal.Decimal{}, fmt.Errorf("slippage %s is negative", slippage)
	}
	if err := order.ValidatePrice(tick, tick); err != nil {
		return decimal.Decimal{}, fmt.Errorf("tick size: %w", err)
	}
	slip4, tick4 := slippage.Shift(4), tick.Shift(4)
	if !slip4.IsInteger() || !tick4.IsInteger() {
		return decimal.Decimal{}, fmt.Errorf("slippage %s and tick %s must have at most 4 decimals", slippage, tick)
	}
	// Prices in 1e-4 units: leader = collateral·1e4/shares. With S = shares:
	// BUY ticks = floor((collateral·1e4 + slip·S) / (tick·S)), SELL ticks = ceil((collateral·1e4 − slip·S) / (tick·S)).
	s := new(big.Int).SetUint64(shares)
	num := new(big.Int).Mul(new(big.Int).SetUint64(collateral), big.NewInt(10_000))
	slipS := new(big.Int).Mul(slip4.BigInt(), s)
	den := new(big.Int).Mul(tick4.BigInt(), s)
	var ticks *big.Int
	switch side {
	case polymarket.Buy:
		num.Add(num, slipS)
		ticks = new(big.Int).Div(num, den) // floor: num, den > 0
	case polymarket.Sell:
		num.Sub(num, slipS)
		// ceil(n/d) for any sign of n, d > 0: -floor(-n/d). big.Int.Div is Euclidean (floor for d > 0).
		ticks = new(big.Int).Neg(new(big.Int).Div(new(big.Int).Neg(num), den))
	default:
		return decimal.Decimal{}, fmt.Errorf("unknown side %v", side)
	}
	maxTicks := new(big.Int).Sub(new(big.Int).Div(big.NewInt(10_000), tick4.BigInt()), big.NewInt(1))
	one := big.NewInt(1)
	switch side {
	case polymarket.Buy:
		if ticks.Cmp(one) < 0 {
			return decimal.Decimal{}, fmt.Errorf("%w: a BUY at most %s above the leader's price %s is below the minimum price %s",
				ErrPriceBound, slippage, leaderPrice(collateral, shares), tick)
		}
		if ticks.Cmp(maxTicks) > 0 {
			ticks = maxTicks
		}
	case polymarket.Sell:
		if ticks.Cmp(maxTicks) > 0 {
			return decimal.Decimal{}, fmt.Errorf("%w: a SELL at most %s below the leader's price %s is above the maximum price %s",
				ErrPriceBound, slippage, leaderPrice(collateral, shares), decimal.New(1, 0).Sub(tick))
		}
		if ticks.Cmp(one) < 0 {
			ticks = one
		}
	}
	return decimal.NewFromBigInt(ticks, 0).Mul(tick), nil
}

func leaderPrice(collateral, shares uint64) decimal.Decimal {
	return decimal.NewFromUint64(collateral).DivRound(decimal.NewFromUint64(shares), 6)
}

// orderSide converts a fill side to an order side.
func orderSide(s polymarket.Side) order.Side {
	if s == polymarket.Sell {
		return order.Sell
	}
	return order.Buy
}

// sharesOf returns o's size as a decimal number of shares, cut to the 0.01 lot.
func sharesOf(units uint64) decimal.Decimal {
	return decimal.NewFromUint64(units).Shift(-6).Truncate(2)
}

// toUnits converts a token amount (up to 6 decimals) to base units, rounding toward zero.
func toUnits(d decimal.Decimal) (uint64, error) {
	u := d.Shift(6).Truncate(0)
	if u.IsNegative() || u.BigInt().BitLen() > 63 {
		return 0, fmt.Errorf("amount %s is negative or too large", d)
	}
	return u.BigInt().Uint64(), nil
}

// execution starts the record of what filled for o.
func execution(o Order, shares, collateral uint64) Execution {
	e := Execution{Leader: o.Leader, Market: o.Market, Side: o.Side, Shares: shares, Collateral: collateral}
	if o.Source != nil {
		e.SourceTx, e.SourceLog = o.Source.TxHash, o.Source.LogIndex
	}
	return e
}
