package executor

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/money"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
)

// This file tracks the orders that are not final when the broker answers: an order resting on
// the book (GTC), an order whose matching the CLOB delays, and an order whose outcome is unclear
// (timeout, broken connection, unreadable answer). Each is looked up by its hash until it is
// final: what fills meanwhile is applied to the positions as it comes (the intent is "open"
// in the store, so a restart finds it and tracking resumes), an order still open after the
// order timeout is cancelled, and an unclear one is looked up with backoff. A BUY's
// reservation is kept, less what has filled, until its order is final, then released.

// OrderLookup is implemented by a broker that can look its orders up by hash and cancel them
// (the live CLOB). Without one, an order that is not final is recorded with what filled at once.
type OrderLookup interface {
	Lookup(ctx context.Context, ref broker.OrderRef) (broker.OrderStatus, error)
	CancelOrder(ctx context.Context, ref broker.OrderRef) error
}

var _ OrderLookup = (*broker.CLOB)(nil)

// RefOf names the order of an intent for the broker's lookup: the hash it was signed with and
// what it was placed for.
func RefOf(in store.Intent) broker.OrderRef {
	return broker.OrderRef{Intent: in.ID.String(), Hash: in.OrderHash, Token: in.Token, Side: in.Side,
		Shares: in.Shares, Collateral: in.Collateral, Since: in.CreatedAt}
}

// ResultOfFill turns what the broker's lookup found an order filled into an intent's result,
// with the store's status words.
func ResultOfFill(f broker.Fill) store.Result {
	r := store.Result{FilledShares: f.FilledShares, FilledCollateral: f.FilledCollateral, Fee: f.Fee, OrderID: f.OrderID}
	switch f.Status {
	case broker.Filled:
		r.Status = store.StatusFilled
	case broker.PartlyFilled:
		r.Status = store.StatusPartial
	case broker.Unfilled:
		r.Status = store.StatusUnfilled
	default:
		// Only the three above exist; anything else is read as nothing filled.
		r.Status, r.FilledShares, r.FilledCollateral, r.Fee = store.StatusUnfilled, 0, 0, 0
	}
	return r
}

// Defaults of Options.OrderTimeout and Options.PollInterval.
const (
	DefaultOrderTimeout = time.Minute
	DefaultPollInterval = 2 * time.Second
	// maxLookupBackoff caps the wait between lookups of an order that could not be looked up.
	maxLookupBackoff = time.Minute
)

// tracked is one order being tracked.
type tracked struct {
	in       store.Intent
	held     *reservation // a BUY's hold on the limits, less what has filled; nil for a SELL
	applied  store.Result // what the store has applied so far
	recorded bool         // the store holds the intent as open
	unclear  bool         // its outcome is unknown: it counts in Stats.Unresolved until found
	cancel   bool         // a cancel was sent (or the CLOB said it cannot be cancelled)
	counted  bool         // the copy is counted in Stats already (as failed, its outcome being unclear)
	attempt  int          // failed lookups in a row
	// chainWait: the order is unknown to the CLOB and polybot waits for the chain
	// (forgotten.go) until the ledger has read past chainFrom + NeverPlacedBlocks.
	chainWait bool
	chainFrom uint64
	next      mclock.AbsTime
	log       *zap.Logger
}

type tracker struct {
	mu     sync.Mutex
	orders map[store.IntentID]*tracked
	wake   chan struct{} // 1-buffered: a new order to track
	// settling are completed BUY copies whose trades are watched until final (settlement.go).
	settling map[store.IntentID]*settlingCopy
	// done, if set, is told each order that became final (tests).
	done func(store.IntentID)
}

func (tr *tracker) add(t *tracked) {
	tr.mu.Lock()
	if tr.orders == nil {
		tr.orders = make(map[store.IntentID]*tracked)
	}
	tr.orders[t.in.ID] = t
	tr.mu.Unlock()
	select {
	case tr.wake <- struct{}{}:
	default:
	}
}

// Tracking is the number of orders being tracked until they are final.
func (e *Executor) Tracking() int {
	e.tracker.mu.Lock()
	defer e.tracker.mu.Unlock()
	return len(e.tracker.orders)
}

// trackOpen takes over an order the broker placed and reported not final (exec.Open): what
// filled so far is recorded with the intent, now open, and the order is tracked with the
// reservation held. It reports false, having done nothing, when orders cannot be tracked.
func (e *Executor) trackOpen(log *zap.Logger, in *store.Intent, exec broker.Execution, held *reservation) bool {
	if e.lookup == nil || in.OrderHash == ([32]byte{}) {
		return false
	}
	t := &tracked{in: *in, held: held, next: e.clock.Now().Add(e.pollInterval), log: log}
	r := cumulative(in, store.Result{}, ResultOf(exec, in.Shares))
	if err := e.recordOpen(t, r); err != nil {
		// The order is tracked all the same: the next lookup records what it has filled.
		log.Error("open order not recorded; it is tracked and recorded at its next lookup", zap.Error(err))
	}
	e.tracker.add(t)
	log.Info("order not final; tracking it until it is", zap.Stringer("order", in.OrderHash),
		zap.String("filled_shares", units(t.applied.FilledShares)), zap.String("shares", units(in.Shares)))
	return true
}

// trackUnclear takes over an order whose outcome is unknown: it is looked up by its hash with
// backoff while polybot runs, its reservation held until it is found. false: it cannot be
// looked up, and stays pending until the next start.
func (e *Executor) trackUnclear(log *zap.Logger, in *store.Intent, held *reservation) bool {
	if e.lookup == nil || in.OrderHash == ([32]byte{}) {
		return false
	}
	e.tracker.add(&tracked{in: *in, held: held, unclear: true, counted: true, next: e.clock.Now().Add(e.pollInterval), log: log})
	return true
}

// recordOpen records r, what t's order has filled so far, and takes the collateral of the new
// fills out of its reservation (the store's exposure holds them now).
func (e *Executor) recordOpen(t *tracked, r store.Result) error {
	if t.recorded && r.FilledShares == t.applied.FilledShares {
		return nil
	}
	if err := e.store.RecordOpen(t.in.ID, r); err != nil {
		return err
	}
	if t.held != nil && r.FilledShares > t.applied.FilledShares {
		e.res.shrink(t.held, r.FilledCollateral-t.applied.FilledCollateral)
	}
	if r.FilledShares > t.applied.FilledShares && t.recorded {
		t.log.Info("tracked order filled more", zap.Stringer("order", t.in.OrderHash),
			zap.String("filled_shares", units(r.FilledShares)), zap.String("shares", units(t.in.Shares)),
			zap.String("usdc", units(r.FilledCollateral)))
	}
	t.applied, t.recorded = r, true
	return nil
}

// runTracker looks the tracked orders up every poll interval (and at once when one is added)
// until ctx ends. Orders still open at shutdown stay open in the store: the next start
// tracks them again.
func (e *Executor) runTracker(ctx context.Context) {
	for {
		e.pollTracked(ctx)
		t := e.clock.NewTimer(e.pollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		case <-e.tracker.wake:
			t.Stop()
		}
	}
}

// pollTracked looks up each tracked order that is due, oldest first.
func (e *Executor) pollTracked(ctx context.Context) {
	now := e.clock.Now()
	e.tracker.mu.Lock()
	var due []*tracked
	for _, t := range e.tracker.orders {
		if t.next <= now {
			due = append(due, t)
		}
	}
	e.tracker.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].in.CreatedAt.Before(due[j].in.CreatedAt) })
	defer e.pollSettling(ctx)
	for _, t := range due {
		if ctx.Err() != nil {
			return
		}
		if e.check(ctx, t) {
			e.tracker.mu.Lock()
			delete(e.tracker.orders, t.in.ID)
			done := e.tracker.done
			e.tracker.mu.Unlock()
			if done != nil {
				done(t.in.ID)
			}
		}
	}
}

// FillRefresher is a broker that caches balances (the live CLOB's, refreshed after each fill
// of PlaceOrder): it is told of the fills the tracker finds, so that they refresh that cache as
// the fills of placed orders do. token is the decimal outcome token id.
type FillRefresher interface {
	Refresh(ctx context.Context, token string)
}

// check looks t's order up and, when it filled more since the last lookup, has the broker
// refresh its balances (FillRefresher). It reports whether the order is final and recorded so.
func (e *Executor) check(ctx context.Context, t *tracked) bool {
	before := t.applied.FilledShares
	final := e.checkOrder(ctx, t)
	if r, ok := e.broker.(FillRefresher); ok && t.applied.FilledShares > before {
		r.Refresh(ctx, t.in.Token)
	}
	return final
}

// checkOrder looks t's order up once (twice when it cancels it) and reports whether it is final
// and recorded so.
func (e *Executor) checkOrder(ctx context.Context, t *tracked) bool {
	log := t.log.With(zap.Stringer("order", t.in.OrderHash))
	for range 2 {
		st, err := e.lookup.Lookup(ctx, RefOf(t.in))
		switch {
		case errors.Is(err, broker.ErrOrderNotFound):
			// Neither the order nor a trade of it is listed: the chain decides (forgotten.go).
			r, final := e.unknownToCLOB(t, log)
			if !final {
				t.attempt = 0
				t.next = e.clock.Now().Add(e.pollInterval)
				return false
			}
			return e.finish(t, r)
		case err != nil:
			e.retry(t, log, err)
			return false
		}
		if t.unclear {
			log.Info("order of an unclear outcome found on the CLOB", zap.String("status", st.State),
				zap.String("filled_shares", units(st.Result.FilledShares)))
			t.unclear = false
			e.unresolved.Add(^uint64(0))
		}
		if err := e.undoFailed(t, st, log); err != nil {
			e.retry(t, log, err)
			return false
		}
		r := cumulative(&t.in, t.applied, ResultOfFill(st.Result))
		if !st.Open && st.Settling {
			// Off the book, but a trade of it is not final on chain: the fill stays open
			// until the trade is CONFIRMED, or FAILED and taken back.
			if err := e.recordOpen(t, r); err != nil {
				e.retry(t, log, err)
				return false
			}
			break
		}
		if !st.Open {
			return e.finish(t, r)
		}
		if err := e.recordOpen(t, r); err != nil {
			e.retry(t, log, err)
			return false
		}
		if t.cancel || e.now().Before(t.in.CreatedAt.Add(e.orderTimeout)) {
			break
		}
		err = e.lookup.CancelOrder(ctx, RefOf(t.in))
		if err != nil && !errors.Is(err, broker.ErrNotCanceled) {
			e.retry(t, log, err)
			return false
		}
		t.cancel = true
		log.Info("order still open after the order timeout; cancelled, its fills kept",
			zap.Duration("timeout", e.orderTimeout), zap.String("filled_shares", units(t.applied.FilledShares)),
			zap.String("shares", units(t.in.Shares)), zap.NamedError("cancel", err))
		// Look it up again at once for its final state.
	}
	t.attempt = 0
	t.next = e.clock.Now().Add(e.pollInterval)
	return false
}

// retry schedules t's next lookup with backoff after err.
func (e *Executor) retry(t *tracked, log *zap.Logger, err error) {
	wait := min(e.pollInterval<<min(t.attempt, 16), maxLookupBackoff)
	t.attempt++
	t.next = e.clock.Now().Add(wait)
	log.Warn("tracked order could not be looked up or recorded; trying again", zap.Int("attempt", t.attempt),
		zap.Duration("retry_in", wait), zap.Bool("unclear", t.unclear), zap.Error(err))
}

// finish records t's order as final with r and gives its reservation back.
func (e *Executor) finish(t *tracked, r store.Result) bool {
	log := t.log.With(zap.Stringer("order", t.in.OrderHash))
	if err := e.store.CompleteIntent(t.in.ID, r); err != nil && !errors.Is(err, store.ErrIntentCompleted) {
		e.retry(t, log, err)
		return false
	}
	t.applied = r
	if t.held != nil {
		e.res.release(*t.held)
		t.held = nil
	}
	if t.unclear {
		e.unresolved.Add(^uint64(0))
	}
	switch {
	case t.counted:
	case r.FilledShares > 0:
		e.copied.Add(1)
	default:
		e.skipped.Add(1)
		e.unfilled.Add(1)
	}
	if t.in.Side == polymarket.Sell && r.FilledShares > 0 {
		if _, open, err := e.store.Position(t.in.Token); err == nil && !open {
			e.locks.Release(t.in.Token)
		}
	}
	log.Info("tracked order final", zap.String("status", string(r.Status)), zap.String("filled_shares", units(r.FilledShares)),
		zap.String("shares", units(t.in.Shares)), zap.String("usdc", units(r.FilledCollateral)))
	return true
}

// cumulative is r, what in's order has filled as the broker reports it, made consistent with
// applied, what the store has applied already: a fill once applied is never taken back, and
// the shares beyond it are priced at r's average price. Its status follows from its shares.
func cumulative(in *store.Intent, applied, r store.Result) store.Result {
	out := store.Result{OrderID: r.OrderID, FilledShares: applied.FilledShares, FilledCollateral: applied.FilledCollateral, Fee: applied.Fee}
	if out.OrderID == "" {
		out.OrderID = applied.OrderID
	}
	if r.FilledShares > applied.FilledShares {
		d := r.FilledShares - applied.FilledShares
		out.FilledShares = r.FilledShares
		out.FilledCollateral += money.MulDiv(r.FilledCollateral, d, r.FilledShares)
		out.Fee = max(out.Fee, r.Fee) // the fee of all the fills, at their average price
	}
	switch {
	case out.FilledShares == 0:
		out.Status, out.FilledCollateral, out.Fee = store.StatusUnfilled, 0, 0
	case out.FilledShares < in.Shares && !(r.Status == store.StatusFilled && r.FilledShares == out.FilledShares):
		// (a market BUY that spent its amount is filled with a few shares less than ordered)
		out.Status = store.StatusPartial
	default:
		out.Status = store.StatusFilled
	}
	return out
}

// resume tracks again, at start, an intent a stop left pending or open whose order the CLOB
// still lists as open (st), after recording what it filled meanwhile. A BUY reserves what has
// not filled yet at its worst signed price, as at its decision (intents of older stores, which
// did not keep it, reserve their notional at the leader's price).
func (e *Executor) resume(log *zap.Logger, in store.Intent, st *broker.OrderStatus) error {
	t := &tracked{in: in, log: log, next: e.clock.Now()}
	if in.Status == store.StatusOpen {
		t.applied, t.recorded = in.Result, true
	}
	if st == nil {
		t.unclear = true
		e.unresolved.Add(1)
	} else if err := e.recordOpen(t, cumulative(&in, t.applied, ResultOfFill(st.Result))); err != nil {
		return err
	}
	if in.Side == polymarket.Buy {
		worst := in.Worst
		if worst == 0 {
			worst = in.Collateral
		}
		rest := worst - min(worst, t.applied.FilledCollateral)
		_, held, _ := e.store.Position(in.Token)
		e.res.mu.Lock()
		v := e.res.reserve(in.Token, in.Leader, rest, !held)
		e.res.mu.Unlock()
		t.held = &v
	}
	e.tracker.add(t)
	return nil
}

// shrink takes by (at most what v holds) out of the reservation v, once its order has filled
// that much and the store counts it; v no longer counts as opening a position.
func (r *reservations) shrink(v *reservation, by uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	by = min(by, v.collateral)
	if r.market[v.market] -= by; r.market[v.market] == 0 {
		delete(r.market, v.market)
	}
	if r.leader[v.leader] -= by; r.leader[v.leader] == 0 {
		delete(r.leader, v.leader)
	}
	r.total -= by
	v.collateral -= by
	if v.opens {
		r.opens--
		v.opens = false
	}
}

// recoverTracked resolves at start a pending or open intent whose order can be looked up: a
// final order is completed, an open one (or one that cannot be looked up now) is tracked again.
func (e *Executor) recoverTracked(ctx context.Context, log *zap.Logger, in store.Intent, out *Recovered) error {
	var applied store.Result
	if in.Status == store.StatusOpen {
		applied = in.Result
	}
	st, err := e.lookup.Lookup(ctx, RefOf(in))
	var res store.Result
	switch {
	case e.neverSent(&in, err):
		return e.recoverNeverSent(ctx, log, in, out)
	case errors.Is(err, broker.ErrOrderNotFound) && e.ownFills != nil:
		// Neither the order nor a trade of it is listed: the chain decides (forgotten.go).
		fills, _ := e.ownFills.Of(in.OrderHash)
		got, ok := chainResult(&in, fills)
		if !ok {
			if err := e.resume(log, in, nil); err != nil {
				return err
			}
			out.Tracked++
			log.Info("a copy order from before the restart is unknown to the CLOB; tracking it until the chain shows whether it filled")
			return nil
		}
		res = cumulative(&in, applied, got)
	case errors.Is(err, broker.ErrOrderNotFound):
		res = cumulative(&in, applied, store.Result{})
	case err != nil:
		if err := e.resume(log, in, nil); err != nil {
			return err
		}
		out.Tracked++
		log.Warn("a copy order from before the restart could not be looked up; it is looked up again while polybot runs", zap.Error(err))
		return nil
	case st.Open || st.Settling:
		if err := e.resume(log, in, &st); err != nil {
			return fmt.Errorf("record open intent %s: %w", in.ID, err)
		}
		out.Tracked++
		log.Info("a copy order from before the restart is still open; tracking it again", zap.String("status", st.State),
			zap.String("filled_shares", units(st.Result.FilledShares)))
		return nil
	default:
		if in.Status == store.StatusOpen && st.Result.FilledShares < applied.FilledShares {
			// A trade of it FAILED on chain while polybot was down: take its fill back.
			t := &tracked{in: in, applied: applied, recorded: true, log: log}
			if err := e.undoFailed(t, st, log); err != nil {
				return fmt.Errorf("undo failed fill of intent %s: %w", in.ID, err)
			}
			applied = t.applied
		}
		res = cumulative(&in, applied, ResultOfFill(st.Result))
	}
	if err := e.store.CompleteIntent(in.ID, res); err != nil {
		return fmt.Errorf("complete intent %s: %w", in.ID, err)
	}
	out.Resolved++
	log.Info("pending copy resolved after a restart", zap.String("status", string(res.Status)),
		zap.String("filled_shares", units(res.FilledShares)))
	return nil
}
