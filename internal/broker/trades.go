package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
)

// This file reads an order's fills from GET /data/trades. The CLOB forgets an order once it
// filled or its rest was killed: GET /data/order answers "not found" ("if the order was
// filled, it will be in get_trades", py-clob-client issue 217), so "not found" means "never
// placed" only when the trades show no fill of it either. A trade's fill counts until the
// trade FAILED on chain (py-clob-client issue 338, py-clob-client-v2 issue 34): a FAILED trade
// never happened, and a fill reported earlier is taken back.

// tradesSinceMargin is how long before a copy's decision its trades are read from (OrderRef.Since):
// far more than any clock skew polybot trades with.
const tradesSinceMargin = 10 * time.Minute

// tradeFill is what the trades of one order say it filled.
type tradeFill struct {
	trades     int    // trades of the order, FAILED ones included
	shares     uint64 // shares of the trades not FAILED
	collateral uint64 // their collateral, at each match's price (a BUY's rounded up, a SELL's down)
	failed     uint64 // shares of FAILED trades
	settling   bool   // a trade is neither CONFIRMED nor FAILED yet
}

// tradesOf reads the trades of order h in token (GET /data/trades, filtered by asset) and sums
// what they filled: as the taker (taker_order_id) at the prices of the orders it matched, as a
// maker (maker_orders[].order_id) at its own price. A trade whose status polybot does not know
// is unreadable (clob.ErrMalformedResponse): its fill could be real or not.
func (b *CLOB) tradesOf(ctx context.Context, h common.Hash, token string, side polymarket.Side, since time.Time) (tradeFill, error) {
	p := clob.TradeParams{AssetID: token}
	if !since.IsZero() {
		// A margin for the CLOB's clock against polybot's.
		p.After = since.Add(-tradesSinceMargin).Unix()
	}
	ts, err := b.client.Trades(ctx, p)
	if err != nil {
		return tradeFill{}, fmt.Errorf("read the trades of order %s: %w", h.Hex(), err)
	}
	var f tradeFill
	var coll decimal.Decimal
	for _, t := range ts {
		var shares, c decimal.Decimal
		if sameHash(t.TakerOrderID, h) {
			shares = t.Size
			for _, m := range t.MakerOrders {
				c = c.Add(m.MatchedAmount.Mul(m.Price))
			}
			if len(t.MakerOrders) == 0 {
				c = t.Size.Mul(t.Price)
			}
		} else {
			for _, m := range t.MakerOrders {
				if sameHash(m.OrderID, h) {
					shares = shares.Add(m.MatchedAmount)
					c = c.Add(m.MatchedAmount.Mul(m.Price))
				}
			}
		}
		if !shares.IsPositive() {
			continue
		}
		f.trades++
		n, err := toUnits(shares)
		if err != nil {
			return tradeFill{}, fmt.Errorf("trade %s of order %s: %w", t.ID, h.Hex(), err)
		}
		switch clob.TradeStatus(t.Status) {
		case clob.TradeFailed:
			f.failed += n
			continue
		case clob.TradeConfirmed:
		case clob.TradeMatched, clob.TradeMined, clob.TradeRetrying, "MATCHED_NOT_BROADCASTED":
			f.settling = true
		default:
			return tradeFill{}, fmt.Errorf("%w: trade %s of order %s has status %q, which polybot does not know",
				clob.ErrMalformedResponse, t.ID, h.Hex(), shortStatus(t.Status))
		}
		f.shares += n
		coll = coll.Add(c)
	}
	coll = coll.Shift(6)
	if side == polymarket.Buy {
		coll = coll.Ceil()
	} else {
		coll = coll.Floor()
	}
	if coll.IsNegative() || !coll.BigInt().IsUint64() {
		return tradeFill{}, fmt.Errorf("%w: trades of order %s: collateral out of range", clob.ErrMalformedResponse, h.Hex())
	}
	f.collateral = coll.BigInt().Uint64()
	return f, nil
}

func sameHash(id string, h common.Hash) bool {
	id = strings.TrimSpace(id)
	return len(id) == 66 && strings.EqualFold(id, h.Hex())
}

// lookupTrades is Lookup for an order GET /data/order does not list: final, with what its
// trades filled. notFound (wrapping clob.ErrOrderNotFound) is returned when no trade of it
// is listed either.
func (b *CLOB) lookupTrades(ctx context.Context, in OrderRef, notFound error) (OrderStatus, error) {
	f, err := b.tradesOf(ctx, in.Hash, in.Token, in.Side, in.Since)
	if err != nil {
		// Not "not found": the trades could hold a fill.
		return OrderStatus{}, fmt.Errorf("order %s is not listed, and its trades could not be read: %w", in.Hash.Hex(), err)
	}
	if f.trades == 0 {
		return OrderStatus{}, notFound
	}
	o := Order{Market: in.Token, Side: in.Side, Shares: in.Shares, Collateral: in.Collateral}
	p := &Prepared{Hash: in.Hash}
	if f.shares > 0 {
		m, err := b.client.Market(ctx, in.Token)
		if err != nil {
			return OrderStatus{}, fmt.Errorf("order %s: read the market's fee rate: %w", in.Hash.Hex(), err)
		}
		p.FeeRateBps, p.FeeExponent = m.FeeRateBps, m.FeeExponent
		if in.Side == polymarket.Buy && in.Shares > 0 {
			// A market BUY is complete once it got the shares its amount buys at its limit:
			// the price Prepare signs for the intent (at the broker's slippage).
			if price, err := LimitPrice(in.Side, in.Collateral, in.Shares, b.slippage, m.TickSize); err == nil {
				maker, taker, amount, err := orderAmounts(b.orderType, order.Buy, price, sharesOf(in.Shares), m.TickSize)
				if err == nil && amount.IsPositive() {
					p.Amount, p.Order.Order.MakerAmount, p.Order.Order.TakerAmount = amount, maker, taker
				}
			}
		}
	}
	e := b.executed(o, p, f.shares, f.collateral)
	r := Fill{Status: Unfilled, FilledShares: e.Shares, FilledCollateral: e.Collateral, Fee: e.Fee, OrderID: in.Hash.Hex()}
	switch {
	case e.Shares == 0:
		r.FilledCollateral, r.Fee = 0, 0
	case e.Shares >= in.Shares || e.Complete:
		r.Status = Filled
	default:
		r.Status = PartlyFilled
	}
	state := "TRADES"
	if f.settling {
		state = "TRADES_SETTLING"
	}
	b.log.Debug("order not listed; read from its trades", zap.Stringer("order", in.Hash), zap.Int("trades", f.trades),
		zap.String("shares", sharesUnits(f.shares)), zap.String("failed_shares", sharesUnits(f.failed)), zap.Bool("settling", f.settling))
	return OrderStatus{Result: r, State: state, Settling: f.settling, FailedShares: f.failed}, nil
}

// fromTrades is what the trades of p's order filled, as an execution of o; found is false when
// no trade of it is listed.
func (b *CLOB) fromTrades(ctx context.Context, o Order, p *Prepared) (exec Execution, found bool, err error) {
	f, err := b.tradesOf(ctx, p.Hash, o.Market, o.Side, time.Time{})
	if err != nil || f.trades == 0 {
		return Execution{}, false, err
	}
	return b.executed(o, p, f.shares, f.collateral), true, nil
}

// isNotFound reports whether err says the CLOB does not list an order.
func isNotFound(err error) bool { return errors.Is(err, clob.ErrOrderNotFound) }

// errNoTrades: no trade of the order is listed.
var errNoTrades = errors.New("no trade of the order is listed")

// Settlement reads what in's order filled from its trades alone (GET /data/trades), whether
// the CLOB still lists the order or not: the fills of trades not FAILED, and whether one is
// still settling. found is false when no trade of it is listed.
func (b *CLOB) Settlement(ctx context.Context, in OrderRef) (st OrderStatus, found bool, err error) {
	st, err = b.lookupTrades(ctx, in, errNoTrades)
	if errors.Is(err, errNoTrades) {
		return OrderStatus{}, false, nil
	}
	return st, err == nil, err
}
