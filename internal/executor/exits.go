package executor

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/ethereum/go-ethereum/crypto"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/money"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/strategy"
)

// This file retries exits. A copy SELL that did not sell (a FAK that found no bid, an order
// the broker refused before sending it, such as one off the tick-size grid, an order the CLOB
// rejected or would not take, an open CLOB circuit breaker) leaves polybot holding shares the
// leader has sold. Such an exit is queued here and tried again with backoff while polybot
// runs, re-sized to what polybot holds at each try, until it sells or ends: the position is
// gone (sold, resolved and redeemed), the leader buys into the market again, or the queue is
// full. Each try is its own intent (a fresh salt, so a fresh order hash) and its own decision,
// with no leader fill behind it: the leader's book is not moved again. The queue lives in
// memory: a restart forgets exits not yet retried (their intents, once recorded, are resolved
// by Recover like any other).

const (
	// exitRetryBase is the wait before an exit's first retry; it doubles with each try, up
	// to exitRetryMax.
	exitRetryBase = 5 * time.Second
	exitRetryMax  = 5 * time.Minute
	// maxExitRetries bounds the exits queued at once; a market beyond it is not retried.
	maxExitRetries = 1024
)

// exitRetry is one market's exit waiting for its next try.
type exitRetry struct {
	leader  common.Address
	market  string
	fill    polymarket.Fill // the leader's SELL: its price prices each try
	shares  uint64          // still to sell
	attempt int             // tries made after the first
	next    mclock.AbsTime
	since   time.Time
	reason  string // why the last try did not sell
}

type exitQueue struct {
	mu    sync.Mutex
	exits map[string]*exitRetry // by market
	wake  chan struct{}         // 1-buffered
	// tried, if set, is told each market whose exit was tried (tests).
	tried func(market string)
}

// ExitRetry is an exit waiting to be tried again, as polybot status shows it.
type ExitRetry struct {
	Market  string
	Shares  uint64
	Attempt int
	Since   time.Time
	Reason  string
}

// ExitRetries lists the exits waiting to be tried again, oldest first.
func (e *Executor) ExitRetries() []ExitRetry {
	e.exits.mu.Lock()
	defer e.exits.mu.Unlock()
	out := make([]ExitRetry, 0, len(e.exits.exits))
	for _, r := range e.exits.exits {
		out = append(out, ExitRetry{Market: r.market, Shares: r.shares, Attempt: r.attempt, Since: r.since, Reason: r.reason})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out
}

// queueExit queues the exit of a copy SELL that left left shares unsold.
func (e *Executor) queueExit(c *copyRun, left uint64, reason string) {
	q := &e.exits
	q.mu.Lock()
	if q.exits == nil {
		q.exits = make(map[string]*exitRetry)
	}
	r, ok := q.exits[c.market]
	switch {
	case c.exit != nil && r != c.exit:
		// Its retries ended while it was tried (the leader bought again): not queued again.
		q.mu.Unlock()
		return
	case c.exit != nil:
		// A retry that did not sell: try again later, for what it left.
		r, ok = c.exit, true
		r.attempt++
		r.shares = left
		q.exits[c.market] = r
	case ok:
		r.shares += left // another leader SELL in the market: sell that too
	case len(q.exits) >= maxExitRetries:
		q.mu.Unlock()
		c.log.Error("exit not retried: too many exits are waiting", zap.Int("waiting", maxExitRetries), zap.String("shares", units(left)))
		return
	default:
		r = &exitRetry{leader: c.f.Maker, market: c.market, fill: *c.f, shares: left, since: c.now}
		q.exits[c.market] = r
	}
	r.reason = reason
	wait := min(exitRetryBase<<min(r.attempt, 16), exitRetryMax)
	r.next = e.clock.Now().Add(wait)
	q.mu.Unlock()
	c.log.Warn("exit not sold; it is tried again", zap.String("shares", units(left)), zap.Int("attempt", r.attempt+1),
		zap.Duration("retry_in", wait), zap.String("reason", reason))
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// dropExit ends the retries of market's exit; the reason is logged.
func (e *Executor) dropExit(market, why string) {
	e.exits.mu.Lock()
	r, ok := e.exits.exits[market]
	delete(e.exits.exits, market)
	e.exits.mu.Unlock()
	if ok {
		e.log.Info("exit retries ended", zap.String("market", market), zap.String("why", why), zap.Int("attempts", r.attempt))
	}
}

// leaderBought ends the retries of an exit in market once its leader buys there again: the
// leader is no longer out.
func (e *Executor) leaderBought(f *polymarket.Fill) {
	e.exits.mu.Lock()
	r, ok := e.exits.exits[f.Market()]
	e.exits.mu.Unlock()
	if ok && r.leader == f.Maker {
		e.dropExit(r.market, "the leader bought into the market again")
	}
}

// runExits tries the due exits every poll interval while some wait (and at once when one is
// queued) until ctx ends. With none waiting it only waits for one.
func (e *Executor) runExits(ctx context.Context) {
	for {
		e.retryExits(ctx)
		e.exits.mu.Lock()
		waiting := len(e.exits.exits) > 0
		e.exits.mu.Unlock()
		if !waiting {
			select {
			case <-ctx.Done():
				return
			case <-e.exits.wake:
				continue
			}
		}
		t := e.clock.NewTimer(e.pollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		case <-e.exits.wake:
			t.Stop()
		}
	}
}

// retryExits tries each due exit once, oldest first.
func (e *Executor) retryExits(ctx context.Context) {
	now := e.clock.Now()
	e.exits.mu.Lock()
	var due []*exitRetry
	for _, r := range e.exits.exits {
		if r.next <= now {
			due = append(due, r)
		}
	}
	tried := e.exits.tried
	e.exits.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].since.Before(due[j].since) })
	for _, r := range due {
		// A paused executor sends nothing; the exit waits with it.
		if e.fault.wait(ctx) != nil || ctx.Err() != nil {
			return
		}
		e.retryExit(ctx, r)
		if tried != nil {
			tried(r.market)
		}
	}
}

// retryExit tries r once, under the market's lock: re-sized to what polybot holds now, as a
// new intent whose order has a salt of its own.
func (e *Executor) retryExit(ctx context.Context, r *exitRetry) {
	start := time.Now()
	e.exits.mu.Lock()
	want, attempt := r.shares, r.attempt // a copy worker may add to them meanwhile
	e.exits.mu.Unlock()
	unlock := e.locks.Lock(r.market)
	pos, open, err := e.store.Position(r.market)
	switch {
	case err != nil:
		unlock()
		e.exits.mu.Lock()
		r.next = e.clock.Now().Add(exitRetryBase)
		r.reason = "the position cannot be read: " + err.Error()
		e.exits.mu.Unlock()
		return
	case !open || pos.Shares == 0:
		unlock()
		e.dropExit(r.market, "no position left to sell")
		return
	}
	shares := min(want, pos.Shares)
	if min := e.strategy.Load().Rules.MinShares; pos.Shares-shares < max(min, 1) {
		shares = pos.Shares // what would remain could never be sold
	}
	f := r.fill
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(attempt+1))
	// A try of its own: its intent id and its order's salt come from this hash.
	f.TxHash = crypto.Keccak256Hash(r.fill.TxHash[:], []byte("polybot exit retry"), n[:])
	f.OrderHash, f.Nth, f.BlockHash = common.Hash{}, 0, common.Hash{}
	c := e.newCopy(ctx, &f, r.market)
	c.exit = r
	c.taken = start
	d := strategy.Decision{Action: strategy.Copy, Side: polymarket.Sell, Shares: shares,
		Collateral: money.MulDiv(shares, f.Collateral, f.Shares), Whole: shares == pos.Shares,
		Reason: fmt.Sprintf("exit retry %d of the leader's SELL %s:%d: selling %s of %s held", attempt+1,
			r.fill.TxHash.Hex(), r.fill.LogIndex, units(shares), units(pos.Shares))}
	d.Cost = d.Collateral
	c.dec.Action, c.dec.Reason, c.dec.Shares, c.dec.Collateral = d.Action.String(), d.Reason, d.Shares, d.Collateral
	out := c.send(d)
	unlock()
	c.finish(out, start)
	if c.exitLeft == 0 {
		e.dropExit(r.market, "sold, or its order is tracked")
	}
}
