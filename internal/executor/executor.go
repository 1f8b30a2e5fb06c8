// Package executor turns leader fills into copy orders: it sizes each copy, serialises copies per
// market through a TTL lock table, hands the order to a broker and records the execution.
package executor

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/positions"
)

// Broker places a sized copy order and answers with what filled.
type Broker interface {
	PlaceOrder(ctx context.Context, o broker.Order) (positions.Execution, error)
}

// Policy is the sizing in force; the app swaps it atomically on reload.
type Policy struct {
	// Ratios holds the copy ratio of each enabled leader. A leader missing here is not copied.
	Ratios map[common.Address]decimal.Decimal
	// MaxTrade caps the collateral of one copy, in base units.
	MaxTrade uint64
}

// Options configures an Executor.
type Options struct {
	Broker  Broker
	Book    *positions.Book
	Policy  *Policy
	LockTTL time.Duration // idle expiry of a market's lock entry; default 30 min
	Workers int           // markets copied in parallel; default 4
	Queue   int           // fills buffered per worker; default 1024
	Log     *zap.Logger
	Clock   mclock.Clock
	// Observer, if set, is told each copy's outcome and duration (metrics).
	Observer Observer
}

// Observer receives each copy's outcome ("copied", "skipped" or "failed") and the time from a
// worker taking the fill to that outcome. It must be fast and safe for concurrent use.
type Observer interface {
	ObserveCopy(outcome string, d time.Duration)
}

// Executor copies leader fills. Fills of one market are copied in the order they arrive; fills of
// different markets in parallel.
type Executor struct {
	broker Broker
	book   *positions.Book
	locks  *LockTable
	policy atomic.Pointer[Policy]
	log    *zap.Logger
	seed   maphash.Seed
	queues []chan polymarket.Fill

	// queued holds the fills submitted and not yet taken by a worker, so that a fill a reorg
	// removes can still be cancelled; its size is bounded by the queues'.
	queuedMu sync.Mutex
	queued   map[fillID]bool // value: cancelled
	obs      Observer

	copied, skipped, failed atomic.Uint64
}

// ShareUnit is the smallest size polybot orders: 0.01 share, the CLOB's size precision.
const ShareUnit = 10_000

// New validates opts and returns an executor; call Run to start its workers.
func New(opts Options) (*Executor, error) {
	if opts.Broker == nil || opts.Book == nil || opts.Policy == nil {
		return nil, errors.New("executor: Broker, Book and Policy are required")
	}
	if opts.LockTTL < 0 || opts.Workers < 0 || opts.Queue < 0 {
		return nil, errors.New("executor: LockTTL, Workers and Queue must not be negative")
	}
	if opts.LockTTL == 0 {
		opts.LockTTL = 30 * time.Minute
	}
	if opts.Workers == 0 {
		opts.Workers = 4
	}
	if opts.Queue == 0 {
		opts.Queue = 1024
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	e := &Executor{
		broker: opts.Broker,
		book:   opts.Book,
		locks:  NewLockTable(opts.LockTTL, opts.Clock),
		log:    opts.Log,
		seed:   maphash.MakeSeed(),
		queues: make([]chan polymarket.Fill, opts.Workers),
		obs:    opts.Observer,
	}
	for i := range e.queues {
		e.queues[i] = make(chan polymarket.Fill, opts.Queue)
	}
	e.queued = make(map[fillID]bool)
	e.policy.Store(opts.Policy)
	return e, nil
}

// SetPolicy swaps the sizing policy; copies already sized keep the old one.
func (e *Executor) SetPolicy(p *Policy) { e.policy.Store(p) }

// Locks exposes the lock table (its size is reported, its TTL reloaded).
func (e *Executor) Locks() *LockTable { return e.locks }

// Submit queues a fill for copying. It blocks while the fill's market queue is full (never drops)
// and returns ctx's error if ctx ends first.
func (e *Executor) Submit(ctx context.Context, f polymarket.Fill) error {
	q := e.queues[maphash.Bytes(e.seed, f.TokenID.Bytes())%uint64(len(e.queues))]
	id := fillID{f.TxHash, f.LogIndex}
	e.queuedMu.Lock()
	e.queued[id] = false
	e.queuedMu.Unlock()
	select {
	case q <- f:
		return nil
	case <-ctx.Done():
		e.queuedMu.Lock()
		delete(e.queued, id)
		e.queuedMu.Unlock()
		return ctx.Err()
	}
}

type fillID struct {
	tx  common.Hash
	idx uint
}

// Cancel withdraws the copy of a fill that a reorg removed from the chain. It reports whether
// the copy was still waiting and is now dropped; false means it was already placed (or never
// submitted), which the caller reports.
func (e *Executor) Cancel(f polymarket.Fill) bool {
	e.queuedMu.Lock()
	defer e.queuedMu.Unlock()
	id := fillID{f.TxHash, f.LogIndex}
	if _, ok := e.queued[id]; !ok {
		return false
	}
	e.queued[id] = true
	return true
}

// take removes a fill from the queued set as a worker starts on it; true means it was cancelled.
func (e *Executor) take(f *polymarket.Fill) (cancelled bool) {
	id := fillID{f.TxHash, f.LogIndex}
	e.queuedMu.Lock()
	cancelled = e.queued[id]
	delete(e.queued, id)
	e.queuedMu.Unlock()
	return cancelled
}

// Run copies queued fills until ctx ends, then finishes the copies already queued or in flight
// within grace, and returns. Cancellation is not an error; a copy cut off by grace is reported.
func (e *Executor) Run(ctx context.Context, grace time.Duration) error {
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, q := range e.queues {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case f := <-q:
					e.copy(workCtx, f)
				case <-done:
					// Drain what was queued before shutdown.
					for {
						select {
						case f := <-q:
							e.copy(workCtx, f)
						default:
							return
						}
					}
				}
			}
		}()
	}
	<-ctx.Done()
	close(done)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-finished:
		return nil
	case <-t.C:
		cancelWork()
		<-finished
		return fmt.Errorf("executor: in-flight copies did not finish within %s", grace)
	}
}

// Stats counts outcomes since start.
type Stats struct {
	Copied, Skipped, Failed uint64
	Locks                   int
}

func (e *Executor) Stats() Stats {
	return Stats{Copied: e.copied.Load(), Skipped: e.skipped.Load(), Failed: e.failed.Load(), Locks: e.locks.Len()}
}

// copy sizes and places the copy of one leader fill.
func (e *Executor) copy(ctx context.Context, f polymarket.Fill) {
	market := f.Market()
	log := e.log.With(zap.Stringer("leader", f.Maker), zap.String("market", market), zap.Stringer("tx", f.TxHash), zap.Uint("log_index", f.LogIndex))
	outcome := "failed"
	if e.obs != nil {
		start := time.Now()
		defer func() { e.obs.ObserveCopy(outcome, time.Since(start)) }()
	}
	unlock := e.locks.Lock(market)
	defer unlock()

	o, reason := e.size(&f, market)
	if e.take(&f) {
		reason = "reverted by a reorg before it was copied"
	}
	if reason != "" {
		e.skipped.Add(1)
		outcome = "skipped"
		log.Info("copy skipped", zap.String("reason", reason), zap.Stringer("side", f.Side), zap.String("leader_shares", units(f.Shares)))
		return
	}
	exec, err := e.broker.PlaceOrder(ctx, o)
	if err != nil {
		e.failed.Add(1)
		log.Error("copy failed", zap.Stringer("side", o.Side), zap.String("shares", units(o.Shares)), zap.Error(err))
		return
	}
	pos, closed := e.book.Apply(exec)
	if closed {
		e.locks.Release(market)
	}
	e.copied.Add(1)
	outcome = "copied"
	log.Info("copied",
		zap.Stringer("side", exec.Side),
		zap.String("shares", units(exec.Shares)),
		zap.String("price", f.Price().String()),
		zap.String("usdc", units(exec.Collateral)),
		zap.String("position", units(pos.Shares)),
		zap.Bool("closed", closed),
		zap.Uint64("block", f.Block))
}

// size applies the policy to a leader fill. It returns the order, or why the fill is not copied.
func (e *Executor) size(f *polymarket.Fill, market string) (broker.Order, string) {
	p := e.policy.Load()
	ratio, ok := p.Ratios[f.Maker]
	if !ok {
		return broker.Order{}, "leader not copied"
	}
	shares := roundShares(decimal.NewFromUint64(f.Shares).Mul(ratio))
	o := broker.Order{Leader: f.Maker, Market: market, TokenID: f.TokenID, Side: f.Side, Source: f}
	switch f.Side {
	case polymarket.Buy:
		cost := positions.MulDiv(shares, f.Collateral, f.Shares)
		if p.MaxTrade > 0 && cost > p.MaxTrade {
			shares = positions.MulDiv(p.MaxTrade, f.Shares, f.Collateral) / ShareUnit * ShareUnit
			cost = positions.MulDiv(shares, f.Collateral, f.Shares)
		}
		if shares == 0 {
			return broker.Order{}, "below minimum size of 0.01 share"
		}
		o.Shares, o.Collateral = shares, cost
	case polymarket.Sell:
		held := e.book.Held(o.Market)
		if held == 0 {
			return broker.Order{}, "no position to sell"
		}
		if shares >= held || held-shares < ShareUnit {
			shares = held
		}
		if shares == 0 {
			return broker.Order{}, "below minimum size of 0.01 share"
		}
		o.Shares, o.Collateral = shares, positions.MulDiv(shares, f.Collateral, f.Shares)
	default:
		return broker.Order{}, "unknown side"
	}
	return o, ""
}

// roundShares truncates a share amount in base units to the 0.01-share grid.
func roundShares(d decimal.Decimal) uint64 {
	if d.Sign() <= 0 {
		return 0
	}
	u := d.Shift(-4).Floor() // ShareUnit = 10^4 base units
	if !u.IsInteger() || u.BigInt().BitLen() > 63 {
		return 0
	}
	return u.BigInt().Uint64() * ShareUnit
}

// units formats base units as an exact decimal string ("12.5").
func units(v uint64) string { return decimal.NewFromUint64(v).Shift(-6).String() }
