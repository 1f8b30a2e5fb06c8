package executor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/money"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
)

// This file holds the copy protocol of one fill, in steps that run under the market's lock:
//
//	check    a fill a reorg removed, or one copied before, ends here
//	decide   the strategy's decision, from the store's snapshot and the BUYs under way
//	reserve  a BUY holds its worst cost against the limits (reservations)
//	journal  the decision and the order intent reach the store before the order leaves
//	place    the order is sent (unless the CLOB breaker is open)
//	complete its result is recorded, which applies it to the positions
//
// Each step returns a copyOutcome; a step that ends the copy returns one whose end is not
// endNone. finish is the one place that counts the outcome, logs the copy's last line, gives
// the CLOB breaker its verdict and the reservation back, and lets the checkpoint pass the fill.

// copyEnd is how a copy ended: the counter it adds to, what the observer is told and whether
// the fill is done (the checkpoint may pass it).
type copyEnd uint8

const (
	// endNone: the copy goes on to its next step.
	endNone copyEnd = iota
	// endAbandoned: shutdown came first (the grace ran out, or a store fault outlasted it).
	// Nothing is observed and the fill stays in flight: the next start reads it again.
	endAbandoned
	// endHeld: the fill got no decision in the store, because the store refused a call with
	// an error that is not a disk fault (store.FaultNone: retrying cannot help). Counted and
	// observed as failed; the fill stays in flight, so Settled holds the checkpoint before it,
	// and the next start reads it from the chain again.
	endHeld
	endSkipped   // nothing placed, or an order that did not fill
	endDuplicate // copied before (its intent is in the store); observed as skipped
	endFailed
	// endTracked: the order is open on the exchange and tracked until it is final (tracker.go),
	// which counts it then; observed as copied.
	endTracked
	endCopied
)

// observed is the outcome the Observer is told.
func (e copyEnd) observed() string {
	switch e {
	case endCopied, endTracked:
		return "copied"
	case endSkipped, endDuplicate:
		return "skipped"
	}
	return "failed"
}

// copyOutcome is what a copy step returns: how the copy ended (endNone: it goes on) and the
// copy's last log line.
type copyOutcome struct {
	end copyEnd
	// unresolved: the order may have traded and its result is not in the store. Counted as
	// unresolved; the reservation stays held (the order may have spent it).
	unresolved bool
	// refused: the broker refused the order, and shutdown then cut off recording that; counted
	// as failed although abandoned.
	refused bool
	level   zapcore.Level
	msg     string // "" logs nothing
	fields  []zap.Field
}

var (
	goOn      = copyOutcome{}
	abandoned = copyOutcome{end: endAbandoned}
)

func ended(end copyEnd, level zapcore.Level, msg string, fields ...zap.Field) copyOutcome {
	return copyOutcome{end: end, level: level, msg: msg, fields: fields}
}

// clobAnswer is what the copy's last CLOB call says about the CLOB; err is kept for an outage.
type clobAnswer struct {
	verdict verdict
	err     error
}

// copyRun is one fill's copy under way: the fill, the decision record the steps fill in, and
// what they hand on to finish (the reservation held, the CLOB breaker's verdict).
type copyRun struct {
	e      *Executor
	ctx    context.Context
	f      *polymarket.Fill
	market string
	log    *zap.Logger
	now    time.Time
	id     store.IntentID
	dec    store.Decision

	held   *reservation // a BUY's hold on the limits (reserve)
	asked  bool         // the CLOB breaker let the order through: finish records its verdict
	probe  bool         // this copy is the half-open breaker's probe
	answer clobAnswer
	// When a worker took the fill, the order went out and its fill came back (Timing).
	taken, sent, filled time.Time
	// exit, when set, is the exit retry this copy records with its decision (exits.go): a
	// leader SELL's copy arms one, and each retry names its attempt in one. retry: this copy
	// is a retry (attempt c.id.Attempt), with no leader fill in flight behind it.
	exit    *store.ExitRetry
	retry   bool
	exitEnd string // why the exit's retries end ("sold"), once they do
}

// copy decides one leader fill, records the decision and, for a copy, places the order
// between its intent and its result. While the store cannot be written it waits (see storeDo):
// the fill stays in flight, so the checkpoint does not pass it, and is copied once the store
// takes writes again. At shutdown during such a fault the fill is abandoned: it stays in flight,
// and the next start reads it from the chain again.
func (e *Executor) copy(ctx context.Context, f polymarket.Fill) {
	// A paused executor starts no new copy. Nor does one whose shutdown grace ran out (ctx
	// ended): the fill is left undecided and in flight, so the checkpoint stays before it and
	// the next start copies it.
	if e.fault.wait(ctx) != nil || ctx.Err() != nil {
		return
	}
	start := time.Now()
	if d, ok := e.obs.(DetectionObserver); ok && f.BlockTime > 0 {
		d.ObserveDetection(start.Sub(time.Unix(int64(f.BlockTime), 0)))
	}
	market := f.Market()
	unlock := e.locks.Lock(market)
	e.leaderMoved(&f) // a leader back in the market, or a SELL a reorg removed, ends its exit's retries
	c := e.newCopy(ctx, &f, market)
	c.taken = start
	out := c.run()
	unlock()
	c.finish(out, start)
}

// leaderFields are a copy's log fields: the leader's address and, when the config names the
// leader, its name (an operator reads "alice", not 0x1000…0001), then more.
func (e *Executor) leaderFields(leader common.Address, more ...zap.Field) []zap.Field {
	fields := []zap.Field{zap.Stringer("leader", leader)}
	if name := e.strategy.Load().Leader(leader).Name; name != "" {
		fields = append(fields, zap.String("leader_name", name))
	}
	return append(fields, more...)
}

func (e *Executor) newCopy(ctx context.Context, f *polymarket.Fill, market string) *copyRun {
	now := e.now()
	return &copyRun{
		e: e, ctx: ctx, f: f, market: market, now: now, id: store.IntentIDOf(f),
		log: e.log.With(append(e.leaderFields(f.Maker, zap.String("market", market), zap.Stringer("tx", f.TxHash),
			zap.Uint("log_index", f.LogIndex)), e.marketFields(market)...)...),
		dec: store.Decision{Time: now, Leader: f.Maker, Token: market, Side: f.Side.String(), Tx: f.TxHash,
			LogIndex: f.LogIndex, OrderHash: f.OrderHash, Nth: f.Nth, Block: f.Block, BlockHash: f.BlockHash, Exchange: f.Exchange},
	}
}

// run takes the copy through its steps until one ends it.
func (c *copyRun) run() copyOutcome {
	if out := c.check(); out.end != endNone {
		return out
	}
	d, out := c.decide()
	if out.end != endNone {
		return out
	}
	c.dec.Action, c.dec.Reason, c.dec.Limit, c.dec.Shares, c.dec.Collateral = d.Action.String(), d.Reason, d.Limit, d.Shares, d.Collateral
	if !d.Action.Places() {
		return c.recordSkip()
	}
	if c.ctx.Err() != nil { // the shutdown grace ran out while deciding: nothing recorded, nothing sent
		return abandoned
	}
	return c.send(d)
}

// finish is where every copy ends: it counts the outcome, logs the copy's last line, gives the
// CLOB breaker its verdict, gives back a reservation no longer needed (the result is in the
// store, or nothing was sent), tells the observer and lets the checkpoint pass the fill.
func (c *copyRun) finish(out copyOutcome, start time.Time) {
	e := c.e
	switch out.end {
	case endCopied:
		e.copied.Add(1)
	case endSkipped:
		e.skipped.Add(1)
	case endDuplicate:
		e.duplicates.Add(1)
	case endFailed, endHeld:
		e.failed.Add(1)
	case endAbandoned:
		if out.refused {
			e.failed.Add(1)
		}
	}
	if out.unresolved {
		e.unresolved.Add(1)
	}
	if out.msg != "" {
		c.log.Log(out.level, out.msg, out.fields...)
	}
	if c.asked {
		e.breaker.record(e.now(), c.probe, c.answer.verdict, c.answer.err)
	}
	// An open order's tracker releases the reservation once the order is final.
	if c.held != nil && !out.unresolved && out.end != endTracked {
		e.res.release(*c.held)
	}
	if out.end == endAbandoned {
		return
	}
	c.exitSettled(out)
	if c.retry {
		return // a retry has no leader fill in flight to pass
	}
	if e.obs != nil {
		e.obs.ObserveCopy(out.end.observed(), time.Since(start))
	}
	if so, ok := e.obs.(SkipObserver); ok && out.end == endSkipped && c.dec.Action == strategy.Skip.String() {
		so.ObserveSkip(c.dec.Limit)
	}
	if out.end != endHeld {
		e.done(c.f)
	}
}

// sdo runs one store call of the copy, waiting out a store fault (storeDo). errAbandoned means
// shutdown came first; it is logged here.
func (c *copyRun) sdo(what string, op func() error) error {
	err := c.e.storeDo(c.ctx, c.log, what, op)
	if errors.Is(err, errAbandoned) {
		c.log.Warn("copy abandoned at shutdown while the state store was failing; the fill is read again at the next start",
			zap.String("step", what))
	}
	return err
}

// check ends the copy of a fill a reorg removed before it was copied, and of one copied before.
func (c *copyRun) check() copyOutcome {
	if c.e.take(c.f) {
		c.dec.Action, c.dec.Reason = strategy.Skip.String(), "reverted by a reorg before it was copied"
		return c.recordSkip()
	}
	var exists bool
	err := c.sdo("read intent", func() (err error) { _, exists, err = c.e.store.IntentFor(c.id); return err })
	switch {
	case errors.Is(err, errAbandoned):
		return abandoned
	case err != nil:
		return c.storeRefused("read intent", err)
	case exists:
		return c.duplicate()
	}
	return goOn
}

func (c *copyRun) duplicate() copyOutcome {
	return ended(endDuplicate, zap.InfoLevel, "copy skipped: already copied", zap.Stringer("side", c.f.Side))
}

// decide asks the strategy what to do with the fill and reserves a BUY copy's cost; it records
// the daily-loss breaker when the decision trips it.
func (c *copyRun) decide() (strategy.Decision, copyOutcome) {
	lp, out := c.leaderPosition()
	if out.end != endNone {
		return strategy.Decision{}, out
	}
	if !c.f.Removed && c.f.TokenID != nil {
		c.dec.LeaderShares = c.f.Shares
	}
	p := c.e.strategy.Load()
	leader := p.Leader(c.f.Maker)
	balance, skipReason := c.e.balanceFor(c.ctx, c.f, leader)
	market := c.e.marketFor(c.ctx, c.f, leader)
	d, pnl, err := c.reserve(p, leader, lp, balance, market, skipReason)
	switch {
	case errors.Is(err, errAbandoned):
		return d, abandoned
	case err != nil:
		return d, c.storeRefused("read snapshot", err)
	}
	if d.TripBreaker {
		return d, c.tripBreaker(pnl)
	}
	return d, goOn
}

// leaderPos is the leader's position in the store's leader book before the fill.
type leaderPos struct {
	before uint64
	known  bool
}

// leaderPosition reads the leader's position before the fill. Every new fill moves it, copied
// or not: Record applies the fill with the decision, once per fill.
func (c *copyRun) leaderPosition() (leaderPos, copyOutcome) {
	var lp leaderPos
	err := c.sdo("read leader position", func() (err error) {
		lp.before, lp.known, err = c.e.store.LeaderPosition(c.f.Maker, c.market, c.id)
		return err
	})
	switch {
	case errors.Is(err, errAbandoned):
		return lp, abandoned
	case err != nil:
		return lp, ended(endFailed, zap.ErrorLevel, "copy failed: the store cannot be read", zap.Error(err))
	}
	return lp, goOn
}

// reserve decides under the reservations' lock, from the snapshot to the reservation, so that
// this decision sees every BUY decided before it in other markets (see reservations). A BUY
// copy holds the most its order may pay (its worst price signed), not its notional at the
// leader's price, and its worst taker fee (market.FeeRateBps). It returns the day's P&L the
// decision saw, and the snapshot's read error.
func (c *copyRun) reserve(p *strategy.Policy, leader strategy.Leader, lp leaderPos, balance uint64, market strategy.Market, skipReason string) (strategy.Decision, int64, error) {
	e, f := c.e, c.f
	e.res.mu.Lock()
	defer e.res.mu.Unlock()
	var snap store.Snapshot
	if err := c.sdo("read snapshot", func() (err error) { snap, err = e.store.Snapshot(f.Maker, c.market, c.now); return err }); err != nil {
		return strategy.Decision{}, 0, err
	}
	if skipReason != "" {
		return strategy.Decision{Action: strategy.Skip, Side: f.Side, Reason: skipReason}, 0, nil
	}
	state := StrategyState(snap, balance, lp.before, lp.known, e.marks)
	if f.Side == polymarket.Buy {
		e.res.add(&state, c.market, f.Maker)
	}
	var fillTime time.Time
	if f.BlockTime > 0 {
		fillTime = time.Unix(int64(f.BlockTime), 0)
	}
	d := strategy.Decide(strategy.Input{Fill: *f, FillTime: fillTime, Now: e.ageNow(c.now), Leader: leader, Rules: p.Rules, State: state, Market: market})
	if d.Action.Places() && f.Side == polymarket.Buy {
		v := e.res.reserve(c.market, f.Maker, d.Cost, snap.MarketShares == 0)
		c.held = &v
	}
	return d, state.PnLToday, nil
}

// tripBreaker records the daily-loss breaker as tripped; the copy goes on unless shutdown
// came first.
func (c *copyRun) tripBreaker(pnl int64) copyOutcome {
	var b store.Breaker
	var tripped bool
	err := c.sdo("trip the daily-loss breaker", func() (err error) { b, tripped, err = c.e.store.TripBreaker(c.now, pnl); return err })
	switch {
	case errors.Is(err, errAbandoned):
		return abandoned
	case err != nil:
		c.log.Error("circuit breaker not recorded", zap.Error(err))
	case tripped:
		c.log.Error("circuit breaker tripped: no BUY is copied until the trading day ends",
			zap.String("pnl_today", strategy.SignedUnits(b.PnL)), zap.String("limit", strategy.LimitDailyLoss))
	}
	return goOn
}

// send places a copy the strategy decided, unless the CLOB circuit breaker is open: while it
// is, the copy is recorded as skipped before any intent is written, so nothing is left pending
// and nothing is sent.
func (c *copyRun) send(d strategy.Decision) copyOutcome {
	c.armExit(d)
	probe, reason, allowed := c.e.breaker.allow(c.e.now())
	if !allowed {
		c.dec.Action, c.dec.Reason = strategy.Skip.String(), reason
		c.exitNotSold(reason)
		return c.recordSkip()
	}
	c.asked, c.probe = true, probe
	o, in, out := c.journal(d)
	if out.end != endNone {
		return out
	}
	return c.place(d, o, in)
}

// answered keeps what a CLOB call's error says about the CLOB for the breaker.
func (c *copyRun) answered(err error) {
	c.answer = clobAnswer{verdict: verdictOf(c.ctx, err)}
	if c.answer.verdict == verdictOutage {
		c.answer.err = err
	}
}

// journal builds the order (signed, with a Preparer) and records its intent with the decision.
// The intent is on disk before the order leaves: a crash from here on leaves a pending intent
// that the next start resolves, never a second order.
func (c *copyRun) journal(d strategy.Decision) (broker.Order, *store.Intent, copyOutcome) {
	f := c.f
	o := broker.Order{Leader: f.Maker, Market: c.market, TokenID: f.TokenID, Side: f.Side, Shares: d.Shares, Collateral: d.Collateral, Source: f, Whole: d.Whole,
		Attempt: c.id.Attempt}
	in := &store.Intent{ID: c.id, Leader: f.Maker, Token: c.market, Side: f.Side, Shares: d.Shares, Collateral: d.Collateral,
		Salt: order.SaltForAttempt(f.TxHash, f.LogIndex, c.id.Attempt).Uint64(), CreatedAt: c.now, BlockTime: f.BlockTime}
	if c.held != nil {
		in.Worst = d.Cost // a restart reserves what the signed order may pay (tracker.go resume)
	}
	if c.e.preparer != nil {
		prep, err := c.e.preparer.Prepare(c.ctx, o)
		if err != nil {
			return o, in, c.prepareFailed(err)
		}
		in.OrderHash = prep.Hash
		// The signed order itself is journaled too: should a crash stop it before it leaves,
		// the next start sends this very order (resend.go), never a second one.
		if j, err := prep.Journal(); err == nil {
			in.Order = j
		}
		// The broker posts this very order: the one whose hash the intent journals.
		o.Prepared = prep
	}
	if c.exit != nil {
		c.exit.Placed = true
	}
	err := c.sdo("record intent", func() error { return c.record(in) })
	switch {
	case errors.Is(err, errAbandoned):
		return o, in, abandoned
	case errors.Is(err, store.ErrIntentExists):
		return o, in, c.duplicate()
	case err != nil:
		return o, in, c.storeRefused("record intent", err)
	}
	return o, in, goOn
}

// prepareFailed records a copy whose order could not be built or signed as skipped.
func (c *copyRun) prepareFailed(err error) copyOutcome {
	c.answered(err)
	if c.ctx.Err() != nil { // cut off by the end of the shutdown grace: not a refusal
		return abandoned
	}
	c.dec.Action, c.dec.Reason = strategy.Skip.String(), refusalReason(err)
	if errors.Is(err, broker.ErrMarketClosed) {
		c.endExit("the market has closed")
	} else {
		c.exitNotSold(c.dec.Reason)
	}
	return c.recordSkip()
}

// refusalReason is the skip reason of a copy whose order could not be built: the broker's own
// words when it says it refused (they begin "copy refused before sending"), else the error
// after that phrase, never the phrase twice.
func refusalReason(err error) string {
	msg := err.Error()
	if strings.Contains(msg, broker.ErrRefused.Error()) {
		return msg
	}
	return broker.ErrRefused.Error() + ": " + msg
}

// place sends the order whose intent is recorded, and hands an order that is not final to the
// tracker.
func (c *copyRun) place(d strategy.Decision, o broker.Order, in *store.Intent) copyOutcome {
	c.sent = time.Now()
	exec, err := c.e.broker.PlaceOrder(c.ctx, o)
	if errors.Is(err, broker.ErrVersionMismatch) {
		exec, err = c.resign(&o, in, err) // resign.go
	}
	c.filled = time.Now()
	c.answered(err)
	if err != nil {
		return c.placeFailed(o, in, err)
	}
	if exec.Open && c.e.trackOpen(c.log, in, exec, c.held) {
		return copyOutcome{end: endTracked}
	}
	out := c.complete(d, o, exec)
	if out.end == endCopied {
		// Matched is not settled: the trade can still fail on chain (settlement.go).
		c.e.watchSettlement(c.log, *in, ResultOf(exec, d.Shares))
	}
	return out
}

// placeFailed handles a broker error. An order that certainly did not trade is recorded
// unfilled; one whose outcome is unknown stays pending, tracked by its hash when it can be.
func (c *copyRun) placeFailed(o broker.Order, in *store.Intent, err error) copyOutcome {
	// An order the CLOB would not take (engine restart, cancel-only mode) did not trade
	// either, but it is not a rejection: it is recorded unfilled and never sent again.
	notPlaced := errors.Is(err, broker.ErrNotPlaced)
	if Rejected(err) || notPlaced {
		return c.rejected(o, notPlaced, err)
	}
	out := ended(endFailed, zap.ErrorLevel, "copy outcome unknown: its intent stays pending and is resolved at the next start",
		zap.Stringer("side", o.Side), zap.String("shares", units(o.Shares)), zap.Stringer("order", in.OrderHash), zap.Error(err))
	out.unresolved = true
	if c.e.trackUnclear(c.log, in, c.held) {
		out.msg = "copy outcome unknown: its order is looked up by hash until it is found"
	}
	return out
}

// rejected records an order that did not trade as unfilled.
func (c *copyRun) rejected(o broker.Order, notPlaced bool, err error) copyOutcome {
	cerr := c.sdo("record a rejected order", func() error {
		return c.e.store.CompleteIntent(c.id, store.Result{Status: store.StatusUnfilled})
	})
	if errors.Is(cerr, errAbandoned) {
		return copyOutcome{end: endAbandoned, refused: true}
	}
	if cerr != nil {
		c.log.Error("rejected copy not recorded as unfilled; the next start resolves it", zap.Error(cerr))
	}
	c.exitNotSold(err.Error())
	msg := "copy failed: the order was rejected"
	if notPlaced {
		msg = "copy failed: the CLOB was not taking orders; nothing traded"
	}
	return ended(endFailed, zap.ErrorLevel, msg, zap.Stringer("side", o.Side), zap.String("shares", units(o.Shares)), zap.Error(err))
}

// complete records the result of an order that traded as soon as the store takes it (an
// abandoned result leaves the intent pending, and the next start resolves it). A SELL that
// closes the position releases the market's lock entry.
func (c *copyRun) complete(d strategy.Decision, o broker.Order, exec broker.Execution) copyOutcome {
	res := ResultOf(exec, d.Shares)
	err := c.sdo("record the order's result", func() error { return c.e.store.CompleteIntent(c.id, res) })
	switch {
	case errors.Is(err, errAbandoned):
		return copyOutcome{end: endAbandoned, unresolved: true}
	case err != nil:
		out := ended(endFailed, zap.ErrorLevel, "copy placed but its result not recorded; the next start resolves it", zap.Error(err))
		out.unresolved = true
		return out
	}
	closed := false
	if c.f.Side == polymarket.Sell && res.FilledShares > 0 {
		if _, open, err := c.e.store.Position(c.market); err == nil && !open {
			c.e.locks.Release(c.market)
			closed = true
		}
	}
	if o.Side == polymarket.Sell && res.FilledShares < o.Shares {
		c.exitNotSold(fmt.Sprintf("the order sold %s of %s shares (%s): no bid at its limit", units(res.FilledShares), units(o.Shares), res.Status))
	} else {
		c.exitSold()
	}
	if res.Status == store.StatusUnfilled {
		c.e.unfilled.Add(1)
		return ended(endSkipped, zap.InfoLevel, "copy not filled", zap.Stringer("side", o.Side), zap.String("shares", units(o.Shares)))
	}
	t := c.timing(exec)
	if c.e.timing != nil {
		c.e.timing(t)
	}
	return ended(endCopied, zap.InfoLevel, "copied", append([]zap.Field{
		zap.Stringer("side", exec.Side),
		zap.String("action", c.dec.Action),
		zap.String("limit", c.dec.Limit),
		zap.String("shares", units(exec.Shares)),
		zap.String("ordered_shares", units(o.Shares)), // a market BUY at a better price gets more
		zap.String("price", c.f.Price().String()),
		zap.String("fill_price", fillPrice(exec.Collateral, exec.Shares)),
		zap.String("usdc", units(exec.Collateral)),
		zap.String("fee", units(exec.Fee)),
		zap.String("status", string(res.Status)),
		zap.Bool("closed", closed),
		zap.Uint64("block", c.f.Block)}, t.fields()...)...)
}

// recordSkip records a decision that places nothing. When the store refuses it, the fill is
// held (endHeld).
func (c *copyRun) recordSkip() copyOutcome {
	err := c.sdo("record decision", func() error { return c.record(nil) })
	switch {
	case errors.Is(err, errAbandoned):
		return abandoned
	case err != nil:
		return ended(endHeld, zap.ErrorLevel, "decision not recorded; the fill is held, and read from the chain again at the next start",
			zap.String("reason", c.dec.Reason), zap.Error(err))
	}
	f := c.f
	if f.Side == polymarket.Sell && c.dec.Limit == strategy.LimitMinShares {
		// What is held stays: too small for a partial copy, it is sold whole when the leader exits.
		return ended(endSkipped, zap.WarnLevel, "dust held: a leader SELL leaves a position below the minimum order unsold",
			zap.String("reason", c.dec.Reason), zap.String("limit", c.dec.Limit), zap.String("leader_shares", units(f.Shares)))
	}
	return ended(endSkipped, zap.InfoLevel, "copy skipped", zap.String("reason", c.dec.Reason), zap.String("limit", c.dec.Limit),
		zap.Stringer("side", f.Side), zap.String("leader_shares", units(f.Shares)))
}

// storeRefused handles a store call of a copy that failed, before any order was sent, with an
// error that is not a disk fault: the fill is recorded as skipped with that error as the reason,
// so that it has a decision before the checkpoint passes it. When even that cannot be recorded,
// the fill is held (endHeld).
func (c *copyRun) storeRefused(what string, err error) copyOutcome {
	c.log.Error("copy failed: the state store refused a call; nothing was sent", zap.String("step", what), zap.Error(err))
	c.dec.Action, c.dec.Reason = strategy.Skip.String(), "state store error ("+what+"): "+err.Error()
	return c.recordSkip()
}

// fillPrice is the average price a copy paid or received, collateral per share, rounded down
// to 0.000001.
func fillPrice(collateral, shares uint64) string {
	if shares == 0 {
		return "0"
	}
	return units(money.MulDiv(collateral, 1_000_000, shares))
}
