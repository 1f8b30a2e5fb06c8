// Package executor turns leader fills into copy orders, exactly once across crashes. For each
// fill it asks the strategy what to do (copy, reduce or skip, and why), records that decision in
// the state store, and for a copy commits the order intent before the order is sent and its
// result after the broker answers (which applies the fill to the positions in the same
// transaction). Copies of one market are serialised through a TTL lock table.
//
// Two faults stop copying without losing or duplicating a fill. A CLOB outage (repeated 5xx,
// 429, timeouts) opens the CLOB circuit breaker (breaker.go): while it is open each copy is
// recorded as skipped, with no intent, and no order is sent. A state store that cannot be
// written (disk full, read-only) pauses every worker (fault.go): the fill being copied is kept
// and its store call retried with capped backoff, the others wait in their queues (Submit blocks)
// and the checkpoint stays before them, so no order is sent that is not recorded first, and
// every fill is copied exactly once when the store takes writes again.
package executor

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
)

// Broker places a sized copy order and answers with what filled.
type Broker interface {
	PlaceOrder(ctx context.Context, o broker.Order) (broker.Execution, error)
}

// Preparer is implemented by a broker that signs its orders (the live CLOB). The executor
// prepares each copy before recording its intent, so the intent carries the order's hash and
// recovery can look the order up after a crash.
type Preparer interface {
	Prepare(ctx context.Context, o broker.Order) (*broker.Prepared, error)
}

// TermsReader is implemented by a broker that knows what the exchange asks of a BUY copy and
// what it charges (broker.Terms): the strategy raises or skips a copy below the minimum and
// counts the fee in every cap and in the reservation.
type TermsReader interface {
	Terms(ctx context.Context, f *polymarket.Fill) (broker.Terms, error)
}

// Balance reports the collateral available to trade, for leaders in mode percent_balance.
type Balance func(ctx context.Context) (uint64, error)

// Store is the part of the state store the executor uses (*store.Store implements it).
type Store interface {
	IntentFor(id store.IntentID) (store.Intent, bool, error)
	Snapshot(leader common.Address, token string, now time.Time) (store.Snapshot, error)
	TripBreaker(now time.Time, pnl int64) (store.Breaker, bool, error)
	Record(d store.Decision, in *store.Intent) error
	CompleteIntent(id store.IntentID, r store.Result) error
	RecordOpen(id store.IntentID, filled store.Result) error
	Position(token string) (store.Position, bool, error)
	PendingIntents() ([]store.Intent, error)
	LeaderPosition(leader common.Address, token string, id store.IntentID) (uint64, bool, error)
}

var _ Store = (*store.Store)(nil)

// Options configures an Executor.
type Options struct {
	Broker Broker
	// Store records decisions, intents and positions; required.
	Store Store
	// Strategy is the policy in force; the app swaps it on reload (SetStrategy).
	Strategy *strategy.Policy
	// Preparer, if set, signs each copy before its intent is recorded (see Preparer).
	Preparer Preparer
	// Lookup, if set, tracks the orders that are not final when placed, and those whose outcome
	// is unclear, until they are (tracker.go). OrderTimeout is how long an order may stay open
	// before it is cancelled (default DefaultOrderTimeout); PollInterval how often a tracked
	// order is looked up (default DefaultPollInterval).
	Lookup       OrderLookup
	OrderTimeout time.Duration
	PollInterval time.Duration
	// Terms, if set, gives each BUY the market's minimums and fee schedule; when nil, the
	// Broker's own when it is a TermsReader.
	Terms TermsReader
	// Balance, if set, is the available collateral for percent_balance sizing. Without it a
	// percent_balance BUY is skipped as "balance unknown".
	Balance Balance
	LockTTL time.Duration // idle expiry of a market's lock entry; default 30 min
	Workers int           // markets copied in parallel; default 4
	Queue   int           // fills buffered per worker; default 1024
	Log     *zap.Logger
	Clock   mclock.Clock     // the lock table's and the store retries' clock; default mclock.System
	Now     func() time.Time // decision time; default time.Now
	// ChainNow, if set, is the chain's time, which a fill's age (copy.max_fill_age,
	// max_exit_age) is measured against instead of Now (chaintime.go).
	ChainNow func() time.Time
	// Observer, if set, is told each copy's outcome and duration (metrics).
	Observer Observer
	// Breaker configures the CLOB circuit breaker (breaker.go).
	Breaker BreakerOptions
	// StorePauseLimit is how long copying may stay paused by a recoverable store fault (disk
	// full, read-only) before Healthy reports it, so that the watchdog stops being fed and the
	// service manager restarts polybot; 0 means never (a fatal fault is reported at once).
	StorePauseLimit time.Duration
	// OnChange, if set, is called after the breaker changes state and when copying pauses or
	// resumes (the app refreshes its status line). It must not block.
	OnChange func()
	// Marks, if set, prices an open position's token (micro-USDC per share) for the daily-loss
	// breaker's P&L; a token it has no price for is marked at polybot's last fill price. It
	// must be fast and safe for concurrent use (internal/resolution.Marks is one).
	Marks func(token string) (uint64, bool)
	// MarketLabel, if set, gives a token's market question and outcome when its market is
	// known (internal/resolution.Labels is one); each copy's log lines then carry them as
	// question and outcome. It must be fast, make no network call and be safe for
	// concurrent use.
	MarketLabel func(token string) (question, outcome string, ok bool)
	// Timing, if set, is told each copy's Timing when its order filled at once (latency and
	// slippage figures). It must be fast and safe for concurrent use.
	Timing func(Timing)
	// OwnFills, if set, is the chain's record of polybot's own fills (ownfills.go): what a copy
	// really filled, and whether an order the CLOB no longer lists filled after all.
	OwnFills OwnFills
}

// Observer receives each copy's outcome ("copied", "skipped" or "failed") and the time from a
// worker taking the fill to that outcome. It must be fast and safe for concurrent use.
// DetectionObserver, when the Observer also implements it, receives each fill's detection delay:
// from its block's timestamp to an executor worker taking it.
type DetectionObserver interface {
	ObserveDetection(d time.Duration)
}

type Observer interface {
	ObserveCopy(outcome string, d time.Duration)
}

// SkipObserver, when the Observer also implements it, is told the config key (Decision.Limit,
// "" when none) of each skipped copy: skips below the CLOB's minimum are counted under
// copy.raise_to_minimum.
type SkipObserver interface {
	ObserveSkip(limit string)
}

// Executor copies leader fills. Fills of one market are copied in the order they arrive; fills of
// different markets in parallel.
type Executor struct {
	broker   Broker
	store    Store
	strategy atomic.Pointer[strategy.Policy]
	preparer Preparer
	terms    TermsReader
	balance  Balance
	locks    *LockTable
	log      *zap.Logger
	now      func() time.Time
	chainNow func() time.Time // nil: fill ages in Now's time
	seed     maphash.Seed
	queues   []chan polymarket.Fill

	// queued holds the fills submitted and not yet done, so that a fill a reorg removes can
	// still be cancelled, and so that the checkpoint never passes a fill not yet decided
	// (Settled); its size is bounded by the queues'.
	queuedMu sync.Mutex
	queued   map[fillID]bool // value: cancelled; deleted when a worker takes the fill
	inflight map[uint64]int  // block -> fills submitted and not yet done
	obs      Observer
	res      reservations
	clock    mclock.Clock
	breaker  *CLOBBreaker
	fault    faultState
	marks    func(token string) (uint64, bool)
	timing   func(Timing)
	// marketLabel is Options.MarketLabel.
	marketLabel func(token string) (question, outcome string, ok bool)

	// exitWake wakes the exit retry loop (exits.go); 1-buffered.
	exitWake chan struct{}

	// Tracking of the orders not final when placed (tracker.go).
	lookup                     OrderLookup
	tracker                    tracker
	ownFills                   OwnFills // the chain's record of polybot's fills; nil: the CLOB's word alone
	orderTimeout, pollInterval time.Duration

	copied, skipped, failed, duplicates, unresolved, unfilled atomic.Uint64
	undone                                                    atomic.Uint64 // fills taken back: their trades failed on chain
}

// ShareUnit is the smallest size polybot orders: 0.01 share, the CLOB's size precision.
const ShareUnit = strategy.ShareStep

// setDefaults validates opts and fills in the defaults of the fields left zero.
func (opts *Options) setDefaults() error {
	if opts.Broker == nil || opts.Store == nil || opts.Strategy == nil {
		return errors.New("executor: Broker, Store and Strategy are required")
	}
	if opts.LockTTL < 0 || opts.Workers < 0 || opts.Queue < 0 || opts.StorePauseLimit < 0 || opts.OrderTimeout < 0 || opts.PollInterval < 0 {
		return errors.New("executor: LockTTL, Workers, Queue, StorePauseLimit, OrderTimeout and PollInterval must not be negative")
	}
	if opts.OrderTimeout == 0 {
		opts.OrderTimeout = DefaultOrderTimeout
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = DefaultPollInterval
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
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Clock == nil {
		opts.Clock = mclock.System{}
	}
	return nil
}

// New validates opts and returns an executor; call Run to start its workers.
func New(opts Options) (*Executor, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	br, err := NewCLOBBreaker(opts.Breaker, opts.Log.Named("breaker"), opts.OnChange)
	if err != nil {
		return nil, err
	}
	if opts.Terms == nil {
		opts.Terms, _ = opts.Broker.(TermsReader)
	}
	e := &Executor{
		broker:   opts.Broker,
		store:    opts.Store,
		preparer: opts.Preparer,
		terms:    opts.Terms,
		balance:  opts.Balance,
		lookup:   opts.Lookup,
		ownFills: opts.OwnFills,
		tracker:  tracker{wake: make(chan struct{}, 1)},
		exitWake: make(chan struct{}, 1),
		locks:    NewLockTable(opts.LockTTL, opts.Clock),
		log:      opts.Log,
		now:      opts.Now,
		chainNow: opts.ChainNow,
		seed:     maphash.MakeSeed(),
		queues:   make([]chan polymarket.Fill, opts.Workers),
		queued:   make(map[fillID]bool),
		inflight: make(map[uint64]int),
		obs:      opts.Observer,
		clock:    opts.Clock,
		breaker:  br,
		fault:    faultState{limit: opts.StorePauseLimit, onChange: opts.OnChange},
		marks:    opts.Marks,
		timing:   opts.Timing,

		marketLabel: opts.MarketLabel,

		orderTimeout: opts.OrderTimeout,
		pollInterval: opts.PollInterval,
	}
	for i := range e.queues {
		e.queues[i] = make(chan polymarket.Fill, opts.Queue)
	}
	e.strategy.Store(opts.Strategy)
	return e, nil
}

// SetStrategy swaps the policy; fills already being decided keep the old one.
func (e *Executor) SetStrategy(p *strategy.Policy) { e.strategy.Store(p) }

// Strategy is the policy in force.
func (e *Executor) Strategy() *strategy.Policy { return e.strategy.Load() }

// Locks exposes the lock table (its size is reported, its TTL reloaded).
func (e *Executor) Locks() *LockTable { return e.locks }

// Submit queues a fill for copying. It blocks while the fill's market queue is full (never drops)
// and returns ctx's error if ctx ends first.
func (e *Executor) Submit(ctx context.Context, f polymarket.Fill) error {
	q := e.queues[e.queueOf(f)]
	id := fillID{f.TxHash, f.LogIndex}
	e.queuedMu.Lock()
	e.queued[id] = false
	e.inflight[f.Block]++
	e.queuedMu.Unlock()
	select {
	case q <- f:
		return nil
	case <-ctx.Done():
		e.queuedMu.Lock()
		delete(e.queued, id)
		e.doneLocked(f.Block)
		e.queuedMu.Unlock()
		return ctx.Err()
	}
}

// queueOf is the worker queue of f's market.
func (e *Executor) queueOf(f polymarket.Fill) uint64 {
	return maphash.Bytes(e.seed, f.TokenID.Bytes()) % uint64(len(e.queues))
}

type fillID struct {
	tx  common.Hash
	idx uint
}

// Settled returns the newest block at or before b all of whose submitted fills are decided
// and recorded: a checkpoint there never skips a fill after a crash. A fill still queued or
// being copied holds the checkpoint at the block before its own.
func (e *Executor) Settled(b uint64) uint64 {
	e.queuedMu.Lock()
	defer e.queuedMu.Unlock()
	for block := range e.inflight {
		if block <= b {
			if block == 0 {
				return 0
			}
			b = block - 1
		}
	}
	return b
}

// doneLocked marks one fill of block as finished; queuedMu must be held.
func (e *Executor) doneLocked(block uint64) {
	if n := e.inflight[block]; n <= 1 {
		delete(e.inflight, block)
	} else {
		e.inflight[block] = n - 1
	}
}

func (e *Executor) done(f *polymarket.Fill) {
	e.queuedMu.Lock()
	e.doneLocked(f.Block)
	e.queuedMu.Unlock()
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
	var tracking sync.WaitGroup
	defer tracking.Wait()
	if e.lookup != nil {
		tracking.Add(1)
		go func() { defer tracking.Done(); e.runTracker(ctx) }()
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); e.runExits(workCtx, done) }()
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
	// Duplicates are fills already copied before (their intent was in the store).
	Duplicates uint64
	// Unresolved are copies whose order outcome is unknown: their intent stays pending until
	// the next start resolves it.
	Unresolved uint64
	// Unfilled are copy orders the CLOB did not fill (a FAK with no match, a cancelled order).
	Unfilled uint64
	Locks    int
	// Undone counts fills taken back because their trade FAILED on chain (forgotten.go).
	Undone uint64
}

func (e *Executor) Stats() Stats {
	return Stats{Copied: e.copied.Load(), Skipped: e.skipped.Load(), Failed: e.failed.Load(),
		Duplicates: e.duplicates.Load(), Unresolved: e.unresolved.Load(), Unfilled: e.unfilled.Load(), Locks: e.locks.Len(),
		Undone: e.undone.Load()}
}

// balanceFor returns the available balance a percent_balance BUY is sized from, or why the
// fill is skipped without it.
func (e *Executor) balanceFor(ctx context.Context, f *polymarket.Fill, l strategy.Leader) (uint64, string) {
	if l.Mode != strategy.PercentBalance || f.Side != polymarket.Buy || !l.Enabled {
		return 0, ""
	}
	if e.balance == nil {
		return 0, "balance unknown: percent_balance needs a balance source, and this broker has none"
	}
	b, err := e.balance(ctx)
	if err != nil {
		return 0, "balance unknown: " + err.Error()
	}
	return b, ""
}

// marketFor reads the terms of a BUY copy of f (TermsReader): the market's minimums and fee
// schedule. When they cannot be read the copy goes on under conservative terms (the $1 minimum,
// order.UnknownFeeRateBps): the broker's own read of the market then fails or succeeds as it
// would have, and its error reaches the CLOB breaker as before.
func (e *Executor) marketFor(ctx context.Context, f *polymarket.Fill, l strategy.Leader) strategy.Market {
	if e.terms == nil || f.Side != polymarket.Buy || !l.Enabled || f.Removed || f.TokenID == nil {
		return strategy.Market{}
	}
	t, err := e.terms.Terms(ctx, f)
	if err != nil {
		e.log.Debug("market terms not read; assuming the conservative ones", zap.Stringer("token", f.TokenID), zap.Error(err))
		return strategy.Market{MinNotional: order.MinMarketableBuy, FeeRateBps: order.UnknownFeeRateBps}
	}
	return strategy.Market{Price: t.Price, MinShares: t.MinShares, MinNotional: t.MinNotional, FeeRateBps: t.FeeRateBps}
}

// ResultOf turns the broker's answer to an order for shares into an intent's result: the
// shares that truly traded (a market BUY may get more than ordered), the collateral and the fee.
func ResultOf(exec broker.Execution, shares uint64) store.Result {
	r := store.Result{FilledShares: exec.Shares, FilledCollateral: exec.Collateral, Fee: exec.Fee}
	switch {
	case r.FilledShares == 0:
		r.Status, r.FilledCollateral, r.Fee = store.StatusUnfilled, 0, 0
	case r.FilledShares < shares && !exec.Complete:
		r.Status = store.StatusPartial
	default:
		r.Status = store.StatusFilled
	}
	return r
}

// Rejected reports whether a broker error means the order certainly did not trade: refused
// before sending, or refused by the exchange. Any other error (timeout, broken connection, an
// answer that cannot be read) leaves the outcome unknown.
func Rejected(err error) bool {
	if errors.Is(err, broker.ErrUnknownOutcome) {
		return false
	}
	return errors.Is(err, broker.ErrRefused) || errors.Is(err, broker.ErrPriceBound) || errors.Is(err, broker.ErrRejected)
}

// Resolver finds out what became of a pending intent's order after a crash: the paper broker
// places it again (deterministically), the live broker looks it up by its hash.
type Resolver interface {
	Resolve(ctx context.Context, in store.Intent) (store.Result, error)
}

// OrderResolver is implemented by a broker that finds out what became of a placed order by its
// hash (the live CLOB).
type OrderResolver interface {
	Resolve(ctx context.Context, ref broker.OrderRef) (broker.Fill, error)
}

var _ OrderResolver = (*broker.CLOB)(nil)

// LookUp resolves a pending intent by looking its order up by the hash recorded with it,
// through a broker that can (live).
type LookUp struct{ Broker OrderResolver }

// Resolve looks in's order up and returns its result.
func (l LookUp) Resolve(ctx context.Context, in store.Intent) (store.Result, error) {
	f, err := l.Broker.Resolve(ctx, RefOf(in))
	if err != nil {
		return store.Result{}, err
	}
	return ResultOfFill(f), nil
}

// Replace resolves a pending intent by placing its order again through a broker whose orders
// are deterministic (paper): the same intent gives the same execution.
type Replace struct{ Broker Broker }

// Resolve places in's order again and returns its result.
func (r Replace) Resolve(ctx context.Context, in store.Intent) (store.Result, error) {
	o, err := OrderOf(in)
	if err != nil {
		return store.Result{}, err
	}
	exec, err := r.Broker.PlaceOrder(ctx, o)
	if err != nil {
		return store.Result{}, err
	}
	return ResultOf(exec, in.Shares), nil
}

// OrderOf rebuilds the order of an intent, with a source fill carrying its identity.
func OrderOf(in store.Intent) (broker.Order, error) {
	token, ok := new(big.Int).SetString(in.Token, 10)
	if !ok {
		return broker.Order{}, fmt.Errorf("intent %s: token %q is not a number", in.ID, in.Token)
	}
	src := &polymarket.Fill{Maker: in.Leader, Side: in.Side, TokenID: token, Shares: in.Shares, Collateral: in.Collateral,
		TxHash: in.ID.Tx, LogIndex: in.ID.LogIndex}
	return broker.Order{Leader: in.Leader, Market: in.Token, TokenID: token, Side: in.Side, Shares: in.Shares,
		Collateral: in.Collateral, Source: src, Attempt: in.ID.Attempt}, nil
}

// Recovered counts what Recover did.
type Recovered struct {
	Resolved int // pending intents completed
	Review   int // pending intents left for manual review
	Tracked  int // orders still open, or not found yet, tracked again until they are final
	// Of the pending intents whose order never reached the exchange (resend.go): Resent were
	// sent then as their journaled order (counted in Resolved or Tracked too), TooOld recorded
	// unfilled as too old to copy, NotJournaled recorded unfilled as they had no signed order
	// to send again (intents of older stores).
	Resent, TooOld, NotJournaled int
}

// Recover resolves every pending intent, oldest first, before any new fill is copied. With a
// nil resolver (a live broker without a lookup) each is left pending for manual review and
// logged as such: its fill is never copied again, since its intent exists.
func (e *Executor) Recover(ctx context.Context, r Resolver) (Recovered, error) {
	var out Recovered
	pending, err := e.store.PendingIntents()
	if err != nil {
		return out, fmt.Errorf("read pending intents: %w", err)
	}
	e.unresolved.Store(0)
	for _, in := range pending {
		log := e.log.With(e.leaderFields(in.Leader, zap.String("market", in.Token), zap.Stringer("tx", in.ID.Tx),
			zap.Uint("log_index", in.ID.LogIndex), zap.Stringer("side", in.Side), zap.String("shares", units(in.Shares)),
			zap.Stringer("order", in.OrderHash), zap.Time("created", in.CreatedAt))...)
		if in.ID.Attempt > 0 {
			log = log.With(zap.Uint("exit_attempt", in.ID.Attempt))
		}
		if e.lookup != nil && in.OrderHash != (common.Hash{}) {
			if err := e.recoverTracked(ctx, log, in, &out); err != nil {
				return out, err
			}
			continue
		}
		if r == nil {
			out.Review++
			log.Error("MANUAL REVIEW: a copy order from before the restart may or may not have traded, and this broker cannot look it up; check the exchange and the positions")
			continue
		}
		res, err := r.Resolve(ctx, in)
		if err != nil && ctx.Err() != nil {
			// Shutdown came during recovery: the intents left stay pending for the next start.
			e.log.Info("recovery of pending copies stopped by shutdown; the next start resolves the rest",
				zap.Int("resolved", out.Resolved))
			return out, nil
		}
		if err != nil {
			out.Review++
			log.Error("MANUAL REVIEW: a copy order from before the restart could not be resolved; it stays pending", zap.Error(err))
			continue
		}
		if err := e.store.CompleteIntent(in.ID, res); err != nil {
			return out, fmt.Errorf("complete intent %s: %w", in.ID, err)
		}
		out.Resolved++
		log.Info("pending copy resolved after a restart", zap.String("status", string(res.Status)),
			zap.String("filled_shares", units(res.FilledShares)))
	}
	e.unresolved.Add(uint64(out.Review))
	return out, nil
}

// units formats base units as an exact decimal string ("12.5").
func units(v uint64) string { return strategy.Units(v) }
