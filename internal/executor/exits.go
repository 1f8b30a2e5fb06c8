package executor

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/money"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
)

// This file retries exits. A copy SELL that did not sell what it was to sell (a FAK that found
// no bid at its limit, an order refused before it was sent such as one off the tick-size grid,
// an order the CLOB would not take during a pause, an open CLOB breaker) leaves polybot holding
// shares its leader has sold. It is tried again, with backoff, while the leader stays out:
//
//	arm     a leader SELL's copy records an ExitRetry with its decision and intent, in one
//	        transaction (store.RecordExit); a copy that sells in full deletes it again
//	wait    the retry waits until its next try (exitBackoff: 5 s, doubling, at most 5 min),
//	        and while the CLOB breaker is open
//	settle  the last attempt's intent (the ledger) says what it sold; one still pending or open
//	        is waited for (Recover and the tracker resolve it)
//	try     attempt n is a copy of its own: its intent id and its decision carry the leader
//	        fill's id and n (store.IntentID.Attempt), its order a salt of its own
//	        (order.SaltForAttempt), and the ExitRetry naming attempt n is written in the same
//	        transaction as its decision, so a crash never lets one attempt be decided twice
//	end     the shares are sold (or what is left is below the minimum order and not the whole
//	        lot), the leader's lot is gone (sold by another copy, or resolved
//	        and redeemed), the leader bought into the market again, the market has closed (its
//	        book is gone), the leader's fill was removed by a reorg, or the exit is older than
//	        exitRetryMaxAge
//
// Each attempt is priced as the first copy was, at the leader's price within the slippage
// bound: a retry never sells lower than its copy would have. The retries live in the store, so
// a restart resumes them where they were.

const (
	// exitRetryBase is the wait before an exit's first retry; it doubles with each attempt,
	// up to exitRetryMax.
	exitRetryBase = 5 * time.Second
	exitRetryMax  = 5 * time.Minute
	// exitRetryMaxAge ends an exit's retries this long after its copy did not sell: well
	// within the store's IntentsMaxAge, so its last attempt's intent is still there to read.
	exitRetryMaxAge = 12 * time.Hour
)

// exitBackoff is the wait after attempt n before attempt n+1.
func exitBackoff(n uint) time.Duration {
	return min(exitRetryBase<<min(n, 16), exitRetryMax)
}

// ExitStore is what exit retries need of the store beyond Store; *store.Store has it. With a
// store that lacks it, exits are not retried.
type ExitStore interface {
	RecordExit(d store.Decision, in *store.Intent, r store.ExitRetry) error
	UpdateExitRetry(r store.ExitRetry) (bool, error)
	DeleteExitRetry(id store.IntentID) error
	ExitRetries() ([]store.ExitRetry, error)
}

var _ ExitStore = (*store.Store)(nil)

func (e *Executor) exitStore() (ExitStore, bool) {
	es, ok := e.store.(ExitStore)
	return es, ok
}

// ExitRetry is an exit waiting to be tried again, as polybot status shows it.
type ExitRetry struct {
	Leader  string
	Market  string
	Shares  uint64 // what the last attempt was to sell
	Attempt uint   // the last attempt: 0 is the copy itself
	Since   time.Time
	Next    time.Time
	Reason  string
}

// ExitRetries lists the exits waiting to be tried again, oldest first; nil when the store
// keeps none or cannot be read.
func (e *Executor) ExitRetries() []ExitRetry {
	es, ok := e.exitStore()
	if !ok {
		return nil
	}
	rs, err := es.ExitRetries()
	if err != nil {
		e.log.Warn("exit retries not read", zap.Error(err))
		return nil
	}
	out := make([]ExitRetry, 0, len(rs))
	for _, r := range rs {
		out = append(out, ExitRetry{Leader: r.Leader.Hex(), Market: r.Token, Shares: r.Shares, Attempt: r.Attempt,
			Since: r.Since, Next: r.Next, Reason: r.Reason})
	}
	return out
}

// record records the copy's decision and, when in is not nil, its intent; with the exit
// retry the copy names, when it has one, in the same transaction.
func (c *copyRun) record(in *store.Intent) error {
	if c.exit != nil {
		if es, ok := c.e.exitStore(); ok {
			return es.RecordExit(c.dec, in, *c.exit)
		}
	}
	return c.e.store.Record(c.dec, in)
}

// armExit gives a leader SELL's copy the exit retry it records with its decision, so that an
// exit that does not sell is tried again even when a crash comes right after it.
func (c *copyRun) armExit(d strategy.Decision) {
	f := c.f
	if c.retry || c.exit != nil || f.Side != polymarket.Sell || f.Removed || f.TokenID == nil {
		return
	}
	if _, ok := c.e.exitStore(); !ok {
		return
	}
	c.exit = &store.ExitRetry{Fill: c.id, Leader: f.Maker, Token: c.market, LeaderShares: f.Shares,
		LeaderCollateral: f.Collateral, BlockTime: f.BlockTime, Shares: d.Shares,
		Next: c.now.Add(exitBackoff(0)), Since: c.now}
}

// exitNotSold notes that the copy's exit did not sell (all it was to), and why.
func (c *copyRun) exitNotSold(why string) {
	if c.exit != nil {
		c.exit.Reason = why
	}
}

// exitSold notes that the copy sold all it was to: its exit's retries end.
func (c *copyRun) exitSold() {
	if c.exit != nil {
		c.exit.Reason = ""
		c.exitEnd = "sold"
	}
}

// endExit ends the exit's retries: a first copy arms none, a retry's record is deleted once
// its decision is recorded.
func (c *copyRun) endExit(why string) {
	if !c.retry {
		c.exit = nil
		return
	}
	c.exitEnd = why
}

// exitSettled brings the stored exit retry up to date with the copy's outcome: deleted when
// its retries end, its reason kept when it did not sell. An order still open or whose outcome
// is unknown leaves it as recorded: the next try waits for its intent to be final.
func (c *copyRun) exitSettled(out copyOutcome) {
	es, ok := c.e.exitStore()
	if c.exit == nil || !ok || out.end == endHeld || out.end == endDuplicate {
		return
	}
	r := *c.exit
	switch {
	case c.exitEnd != "":
		if err := es.DeleteExitRetry(r.Fill); err != nil {
			c.log.Warn("exit retry not deleted; it ends at its next try", zap.Error(err))
		}
		if c.retry {
			c.log.Info("exit retries ended", zap.String("why", c.exitEnd), zap.Uint("attempts", r.Attempt))
		}
	case r.Reason != "":
		if _, err := es.UpdateExitRetry(r); err != nil {
			c.log.Warn("exit retry's reason not recorded", zap.Error(err))
		}
		c.log.Warn("exit not sold; it is tried again", zap.String("shares", units(r.Shares)), zap.Uint("attempt", r.Attempt),
			zap.Time("next", r.Next), zap.String("reason", r.Reason))
		c.e.wakeExits()
	default:
		// Its order is open or its outcome unknown: the loop looks again once it is final.
		c.e.wakeExits()
	}
}

// leaderMoved ends, under the market's lock, the exit retries a leader fill makes moot: a
// BUY of the leader in the market (the leader is no longer out), or the leader's SELL removed
// by a reorg.
func (e *Executor) leaderMoved(f *polymarket.Fill) {
	es, ok := e.exitStore()
	if !ok || (f.Side != polymarket.Buy && !f.Removed) {
		return
	}
	rs, err := es.ExitRetries()
	if err != nil || len(rs) == 0 {
		return
	}
	id, market := store.IntentIDOf(f), f.Market()
	for _, r := range rs {
		var why string
		switch {
		case f.Removed && r.Fill == id:
			why = "the leader's SELL was removed by a reorg"
		case !f.Removed && f.Side == polymarket.Buy && r.Leader == f.Maker && r.Token == market:
			why = "the leader bought into the market again"
		default:
			continue
		}
		e.endExitRetry(es, r, why)
	}
}

func (e *Executor) endExitRetry(es ExitStore, r store.ExitRetry, why string) {
	log := e.exitLog(r)
	if err := es.DeleteExitRetry(r.Fill); err != nil {
		log.Warn("exit retry not deleted", zap.String("why", why), zap.Error(err))
		return
	}
	log.Info("exit retries ended", zap.String("why", why), zap.Uint("attempts", r.Attempt))
}

func (e *Executor) exitLog(r store.ExitRetry) *zap.Logger {
	return e.log.With(e.leaderFields(r.Leader, zap.String("market", r.Token), zap.Stringer("tx", r.Fill.Tx),
		zap.Uint("log_index", r.Fill.LogIndex))...)
}

// wakeExits makes the retry loop look at the stored exits at once.
func (e *Executor) wakeExits() {
	select {
	case e.exitWake <- struct{}{}:
	default:
	}
}

// runExits tries the due exits every poll interval while some wait, and at once when one is
// queued, until done is closed; with none waiting it only waits to be woken. Each try runs on
// work (the executor's shutdown grace bounds it).
func (e *Executor) runExits(work context.Context, done <-chan struct{}) {
	if _, ok := e.exitStore(); !ok {
		return
	}
	for {
		select {
		case <-done:
			return
		default:
		}
		if e.retryExits(work) == 0 {
			select {
			case <-done:
				return
			case <-e.exitWake:
				continue
			}
		}
		t := e.clock.NewTimer(e.pollInterval)
		select {
		case <-done:
			t.Stop()
			return
		case <-t.C():
		case <-e.exitWake:
			t.Stop()
		}
	}
}

// retryExits tries each due exit once, oldest first, and returns how many exits it found
// waiting (1 when the store cannot be read: it is read again later). Nothing is tried while
// copying is paused or the CLOB breaker is open: the exits wait with the copies.
func (e *Executor) retryExits(ctx context.Context) int {
	es, ok := e.exitStore()
	if !ok {
		return 0
	}
	rs, err := es.ExitRetries()
	if err != nil {
		e.log.Warn("exit retries not read", zap.Error(err))
		return 1
	}
	for _, r := range rs {
		if ctx.Err() != nil || e.faultPaused() {
			return len(rs)
		}
		now := e.now()
		if br := e.breaker.Status(); br.State == BreakerOpen && now.Before(br.RetryAt) {
			return len(rs)
		}
		if now.Before(r.Next) {
			continue
		}
		e.retryExit(ctx, es, r)
	}
	return len(rs)
}

// retryExit makes the next attempt of the exit r, under its market's lock.
func (e *Executor) retryExit(ctx context.Context, es ExitStore, r store.ExitRetry) {
	start := time.Now()
	unlock := e.locks.Lock(r.Token)
	c, d, why := e.nextAttempt(ctx, es, r)
	if c == nil {
		unlock()
		if why != "" {
			e.endExitRetry(es, r, why)
		}
		return
	}
	c.taken = start
	out := c.send(d)
	unlock()
	c.finish(out, start)
}

// nextAttempt reads what r's last attempt sold and returns the copy of the next attempt and
// its decision; nil and why the retries end ("" when the exit waits: its last attempt's
// order is not final yet, or the store cannot be read now).
func (e *Executor) nextAttempt(ctx context.Context, es ExitStore, r store.ExitRetry) (*copyRun, strategy.Decision, string) {
	// The current record, under the market's lock: a copy may have ended or moved it since.
	cur, ok := e.currentExit(es, r.Fill)
	if !ok || cur.Attempt != r.Attempt {
		return nil, strategy.Decision{}, ""
	}
	now := e.now()
	if now.Sub(r.Since) > exitRetryMaxAge {
		return nil, strategy.Decision{}, fmt.Sprintf("not sold within %s", exitRetryMaxAge)
	}
	last := r.Fill
	last.Attempt = r.Attempt
	in, found, err := e.store.IntentFor(last)
	var sold uint64
	switch {
	case err != nil:
		return nil, strategy.Decision{}, ""
	case found && (in.Status == store.StatusPending || in.Status == store.StatusOpen):
		return nil, strategy.Decision{}, "" // resolved at a restart, or by the tracker
	case found:
		sold = in.Result.FilledShares
	case r.Placed:
		return nil, strategy.Decision{}, "the last attempt's intent is gone: what it sold is unknown"
	}
	left := r.Shares - min(sold, r.Shares)
	if left < store.MinTradableShares {
		return nil, strategy.Decision{}, "sold"
	}
	snap, err := e.store.Snapshot(r.Leader, r.Token, now)
	if err != nil {
		return nil, strategy.Decision{}, ""
	}
	held := snap.Held // the leader's lot: what its SELLs may sell
	if held == 0 {
		return nil, strategy.Decision{}, "no position left from the leader"
	}
	shares := min(left, held)
	minShares := max(e.strategy.Load().Rules.MinShares, 1)
	if held-shares < minShares {
		shares = held // what would remain could never be sold
	}
	if shares < minShares && shares != held {
		// No order may sell so few alone (copy.min_order_shares); the rest is sold with the
		// leader's next SELL, as any dust is.
		return nil, strategy.Decision{}, fmt.Sprintf("the %s shares left are below the minimum order", units(shares))
	}
	token, ok := new(big.Int).SetString(r.Token, 10)
	if !ok || r.LeaderShares == 0 {
		return nil, strategy.Decision{}, "the stored exit is malformed"
	}
	f := polymarket.Fill{Maker: r.Leader, Side: polymarket.Sell, TokenID: token, Shares: r.LeaderShares,
		Collateral: r.LeaderCollateral, TxHash: r.Fill.Tx, LogIndex: r.Fill.LogIndex, OrderHash: r.Fill.OrderHash,
		Nth: r.Fill.Nth, BlockTime: r.BlockTime}
	n := r.Attempt + 1
	c := e.newCopy(ctx, &f, r.Token)
	c.retry = true
	c.id.Attempt, c.dec.Attempt = n, n
	c.log = c.log.With(zap.Uint("exit_attempt", n))
	collateral := money.MulDiv(shares, r.LeaderCollateral, r.LeaderShares)
	d := strategy.Decision{Action: strategy.Copy, Side: polymarket.Sell, Shares: shares, Collateral: collateral, Cost: collateral,
		Whole: shares == held, Reason: fmt.Sprintf("exit retry %d: selling %s of the %s held from the leader, which sold (%s)",
			n, units(shares), units(held), r.Reason)}
	c.dec.Action, c.dec.Reason, c.dec.Shares, c.dec.Collateral = d.Action.String(), d.Reason, d.Shares, d.Collateral
	next := r
	next.Attempt, next.Shares, next.Placed, next.Reason = n, shares, false, ""
	next.Next = now.Add(exitBackoff(n))
	c.exit = &next
	return c, d, ""
}

// currentExit is the stored exit retry of the leader fill id.
func (e *Executor) currentExit(es ExitStore, id store.IntentID) (store.ExitRetry, bool) {
	rs, err := es.ExitRetries()
	if err != nil {
		return store.ExitRetry{}, false
	}
	for _, r := range rs {
		if r.Fill == id {
			return r, true
		}
	}
	return store.ExitRetry{}, false
}

// faultPaused reports whether copying is paused by a store fault.
func (e *Executor) faultPaused() bool {
	e.fault.mu.Lock()
	defer e.fault.mu.Unlock()
	return e.fault.resume != nil
}
