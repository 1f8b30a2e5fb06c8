package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
)

// This file is the live broker's side of order tracking: an order that rests on the book or
// whose matching the CLOB delays is looked up by its hash until it is final, and cancelled
// when it has waited too long (the executor drives both).

// OrderRef names a placed order to look up or cancel: the hash it was signed with and what it
// was placed for.
type OrderRef struct {
	// Intent names the copy the order belongs to, for error messages.
	Intent string
	Hash   common.Hash
	Token  string // decimal outcome token id
	Side   polymarket.Side
	// Shares and Collateral are the order's size and limit notional (6-decimal base units).
	Shares, Collateral uint64
	// Since, if set, is when the copy was decided: its trades are read from a little before
	// it on, not from the account's whole history in the token.
	Since time.Time
}

// FillStatus says how far an order has filled.
type FillStatus int

// The fill statuses of a looked-up order.
const (
	Unfilled     FillStatus = iota // nothing filled
	PartlyFilled                   // some filled; the rest did not (or not yet)
	Filled                         // filled in full
)

// Fill is what a placed order has filled, cumulative: the shares that traded, the collateral
// they traded for before the fee, the taker fee (6-decimal base units) and the CLOB's order id.
type Fill struct {
	Status           FillStatus
	FilledShares     uint64
	FilledCollateral uint64
	Fee              uint64
	OrderID          string
}

// OrderStatus is a placed order as the CLOB reports it.
type OrderStatus struct {
	// Result is what the order has filled, cumulative. Its Status is filled, partial or
	// unfilled; while Open it tells how far the order has filled so far.
	Result Fill
	// Open says the order is not final: it rests on the book, or its matching is delayed.
	Open bool
	// State is the CLOB's word for the order's status (LIVE, DELAYED, MATCHED, CANCELED…), or
	// TRADES / TRADES_SETTLING when the CLOB no longer lists the order and Result was read
	// from its trades (trades.go).
	State string
	// Settling says a trade of the order is not final on chain yet (MATCHED, MINED or
	// RETRYING): Result may still lose the fill of a trade that FAILS.
	Settling bool
	// FailedShares are the shares of the order's trades that FAILED on chain: matched, then
	// undone. Result does not count them.
	FailedShares uint64
}

// orderStates maps the statuses of GET /data/order (upper case, without an "ORDER_STATUS_"
// prefix) to whether the order is still open. A status not listed is unreadable.
var orderStates = map[string]bool{
	"LIVE": true, "DELAYED": true,
	"MATCHED": false, "CANCELED": false, "CANCELLED": false, "UNMATCHED": false, "INVALID": false,
	"EXPIRED": false, "CANCELED_MARKET_RESOLVED": false,
}

// Lookup reads in's order by its hash (GET /data/order/{hash}): what
// it has filled at the order's price, and whether it is still open. An order GET /data/order
// does not list is read from its trades (GET /data/trades, see trades.go): the CLOB forgets an
// order that filled or was killed. An order neither lists is an error wrapping
// clob.ErrOrderNotFound; a status polybot does not know is unreadable
// (clob.ErrMalformedResponse) and leaves the order's state unknown.
func (b *CLOB) Lookup(ctx context.Context, in OrderRef) (OrderStatus, error) {
	if in.Hash == (common.Hash{}) {
		return OrderStatus{}, fmt.Errorf("intent %s has no order hash: review it by hand", in.Intent)
	}
	oo, err := b.client.GetOrder(ctx, in.Hash.Hex())
	if isNotFound(err) {
		return b.lookupTrades(ctx, in, fmt.Errorf("look up order %s: %w", in.Hash.Hex(), err))
	}
	if err != nil {
		return OrderStatus{}, fmt.Errorf("look up order %s: %w", in.Hash.Hex(), err)
	}
	o := Order{Market: in.Token, Side: in.Side, Shares: in.Shares, Collateral: in.Collateral}
	p := &Prepared{Hash: in.Hash}
	if in.Shares > 0 {
		p.Price = leaderPrice(in.Collateral, in.Shares)
	}
	if oo.SizeMatched.IsPositive() {
		// The fee is charged at the market's rate; without it the fill could not be recorded
		// right, so the order's state stays unknown until the next lookup.
		m, err := b.client.Market(ctx, in.Token)
		if err != nil {
			return OrderStatus{}, fmt.Errorf("order %s: read the market's fee rate: %w", in.Hash.Hex(), err)
		}
		p.FeeRateBps, p.FeeExponent = m.FeeRateBps, m.FeeExponent
		if in.Side == polymarket.Buy && oo.Price.IsPositive() {
			// A market BUY is complete once it got the shares its amount buys at its price.
			maker, taker, amount, err := orderAmounts(b.orderType, order.Buy, oo.Price, sharesOf(in.Shares), m.TickSize)
			if err == nil && amount.IsPositive() {
				p.Amount, p.Order.Order.MakerAmount, p.Order.Order.TakerAmount = amount, maker, taker
			}
		}
	}
	return b.statusOf(o, p, oo)
}

// statusOf reads a looked-up order: its state and what it filled.
func (b *CLOB) statusOf(o Order, p *Prepared, oo *clob.OpenOrder) (OrderStatus, error) {
	state := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(oo.Status)), "ORDER_STATUS_")
	open, known := orderStates[state]
	if !known {
		return OrderStatus{}, fmt.Errorf("%w: order %s has status %q, which polybot does not know", clob.ErrMalformedResponse, p.Hash.Hex(), shortStatus(oo.Status))
	}
	e, err := b.fromLookup(o, p, oo)
	if err != nil {
		return OrderStatus{}, err
	}
	id := oo.ID
	if id == "" {
		id = p.Hash.Hex()
	}
	r := Fill{Status: Unfilled, FilledShares: e.Shares, FilledCollateral: e.Collateral, Fee: e.Fee, OrderID: id}
	switch {
	case e.Shares == 0:
		r.FilledCollateral, r.Fee = 0, 0
	case e.Shares >= o.Shares || e.Complete:
		r.Status = Filled
	default:
		r.Status = PartlyFilled
	}
	return OrderStatus{Result: r, Open: open, State: state}, nil
}

func shortStatus(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// CancelOrder cancels in's order (DELETE /order). An order the CLOB lists as not canceled
// (already matched or canceled) is an error wrapping clob.ErrNotCanceled: look it up for its
// final state.
func (b *CLOB) CancelOrder(ctx context.Context, in OrderRef) error {
	if in.Hash == (common.Hash{}) {
		return fmt.Errorf("intent %s has no order hash", in.Intent)
	}
	if _, err := b.client.CancelOrder(ctx, in.Hash.Hex()); err != nil {
		return fmt.Errorf("cancel order %s: %w", in.Hash.Hex(), err)
	}
	b.log.Info("order cancelled", zap.Stringer("order", in.Hash), zap.String("token", in.Token))
	return nil
}

// answer reads what an accepted order filled from the CLOB's answer. A "matched" answer without
// amounts says nothing of what filled: the order is looked up by its hash instead, and when that
// fails its outcome is unknown (never zero), so the executor keeps looking it up.
func (b *CLOB) answer(ctx context.Context, o Order, p *Prepared, r *clob.PostOrderResponse, log *zap.Logger) (Execution, error) {
	if r.Status != clob.StatusMatched || !r.MakingAmount.IsZero() || !r.TakingAmount.IsZero() {
		return b.fromResponse(o, p, r, log)
	}
	oo, err := b.client.GetOrder(ctx, p.Hash.Hex())
	if isNotFound(err) {
		// Matched and forgotten at once: its trades tell what filled.
		exec, found, terr := b.fromTrades(ctx, o, p)
		if terr == nil && found {
			log.Info("order matched without amounts and no longer listed; read from its trades",
				zap.String("matched_shares", sharesUnits(exec.Shares)))
			return exec, nil
		}
		err = errors.Join(err, terr)
	}
	if err != nil {
		return Execution{}, fmt.Errorf("live %s of token %s (order %s): %w: matched without amounts, and looking it up failed: %w",
			o.Side, o.Market, p.Hash.Hex(), clob.ErrUnknownOutcome, err)
	}
	st, err := b.statusOf(o, p, oo)
	if err != nil {
		return Execution{}, fmt.Errorf("live %s of token %s: %w: %w", o.Side, o.Market, clob.ErrUnknownOutcome, err)
	}
	log.Info("order matched without amounts; looked up by hash", zap.String("status", st.State),
		zap.String("matched_shares", sharesUnits(st.Result.FilledShares)))
	exec := b.executed(o, p, st.Result.FilledShares, st.Result.FilledCollateral)
	exec.Open = st.Open
	return exec, nil
}
