// Package monitor is polybot's wallet monitor: it streams the exchanges' OrderFilled logs whose
// maker is a leader, decodes them, drops the ones already processed, and hands each new fill on.
//
// Ingestion is gap-free: the monitor persists the last block whose logs are fully processed (a
// Checkpointer), resumes from it after a restart, backfills what it missed with bounded
// eth_getLogs calls, reconnects after every failure, cross-checks a subscription that falls
// silent, and acts on a fill only once it is Confirmations blocks deep.
//
// Which logs are leader fills is decided by Classify, a pure function the offline replay
// (internal/replay) uses as well. The files follow the concerns: session.go runs a connection
// (subscribe, backfill, stream or poll, silence check), confirm.go takes each log to the
// Handler (confirmations, reorgs), checkpoint.go moves and persists the checkpoint, nth.go gives
// each fill its Nth from its transaction's receipt.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/dedup"
	"github.com/polybot/polybot/internal/logging"
	"github.com/polybot/polybot/internal/polymarket"
)

// Handler receives each new leader fill, in chain order. It returns once the fill is accepted
// (that is what lets the checkpoint pass its block). An error means the fill was not accepted:
// the checkpoint stays before it and the dedup cache forgets it; an error while ctx ends
// (shutdown) just stops the monitor, any other error stops it with that error.
type Handler func(ctx context.Context, f polymarket.Fill) error

// Options configures a Monitor.
type Options struct {
	// Dial connects to the node; it is called again after every disconnect. A client whose
	// SubscribeNewHead answers rpc.ErrNotificationsUnsupported (an http:// or https:// node) is
	// polled with eth_getLogs every PollInterval instead.
	Dial func(ctx context.Context) (chain.Client, error)
	// FallbackDial, when set, connects to a second node. After FailoverAfter consecutive failed
	// connections to one node the monitor switches to the other.
	FallbackDial  func(ctx context.Context) (chain.Client, error)
	FailoverAfter int // default 3
	Exchanges     []common.Address
	Leaders       []common.Address
	Dedup         *dedup.Cache
	Handler       Handler
	// OnRemoved is called with a fill already handed to Handler whose log a reorg removed, so a
	// copy not yet sent can be cancelled. Optional.
	OnRemoved func(f polymarket.Fill)
	// Checkpoint persists progress; nil keeps it in memory only.
	Checkpoint Checkpointer
	// StartBlock is where the first scan starts when there is no checkpoint; 0 means the head.
	StartBlock uint64
	// Confirmations is how many blocks must be mined on top of a fill's block before the fill is
	// handed on; 0 hands it on at once.
	Confirmations uint64
	// HeadStaleAfter is how long the head may stand still, or the node stay unreachable, before
	// Healthy fails; default 60 s.
	HeadStaleAfter time.Duration
	// SilenceAfter is how long the log subscription may deliver nothing while the head advances
	// and the leaders are active before the monitor cross-checks with eth_getLogs; default 2 m.
	SilenceAfter time.Duration
	// ActiveWindow is how recent a leader fill must be for the leaders to count as active;
	// default 1 h.
	ActiveWindow time.Duration
	// PollInterval is the eth_getLogs period against a node without subscriptions; default 2 s.
	PollInterval time.Duration
	// CheckpointEvery is how often, while subscribed, the checkpoint is moved: by one
	// eth_getLogs over the blocks since it, whose leader fills are processed first (a log the
	// subscription has not delivered yet is taken from that answer). The checkpoint never
	// passes a block on the word of the subscription alone. Default 10 s.
	CheckpointEvery time.Duration
	// BackfillChunk bounds the blocks of one eth_getLogs call; default 2000. It is halved while
	// the node answers that a range is too large, and grows back after calls that succeed
	// (chain.Span).
	BackfillChunk uint64
	// RPCTimeout bounds each RPC call; default 30 s.
	RPCTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnects; defaults 500 ms and 30 s.
	// A rate-limited node is waited for at least RateLimitBackoff (default 5 s, at most MaxBackoff).
	MinBackoff       time.Duration
	MaxBackoff       time.Duration
	RateLimitBackoff time.Duration
	// OnSubscribed is called after every successful subscription or first successful poll of a
	// connection (the first one means ready).
	OnSubscribed func()
	// OnProgress, if set, is called from the Run goroutine while a catch-up (a scan of more
	// than BackfillChunk blocks) reads, at most once a second, and once when it is done
	// (Progress.CaughtUp). See progress.go.
	OnProgress func(Progress)
	Log        *zap.Logger
	Clock      mclock.Clock
}

// Monitor is the wallet monitor. Run it once; its other methods are safe for concurrent use.
type Monitor struct {
	opts      Options
	log       *zap.Logger
	warn      *logging.RateLimiter
	clock     mclock.Clock
	kick      chan struct{}
	started   atomic.Bool
	exchanges map[common.Address]bool // read-only after New

	mu       sync.Mutex
	leaders  []common.Address
	rewindTo uint64 // a pending rewind (block+1), 0 = none

	subscribed atomic.Bool
	polling    atomic.Bool
	everUp     atomic.Bool
	downSince  atomic.Int64 // mclock.AbsTime the connection was last lost
	head       atomic.Uint64
	headSeen   atomic.Bool
	headAt     atomic.Int64 // mclock.AbsTime of the last head advance
	next       atomic.Uint64
	checkpoint atomic.Uint64
	fallback   atomic.Bool
	stats      counters
	lastErr    atomic.Pointer[string]

	// Owned by the Run goroutine.
	chunk      *chain.Span // blocks per eth_getLogs call: halved on a range refusal, grows back
	saved      uint64
	haveSaved  bool
	pending    map[dedup.Key]pendingFill
	lastLogAt  mclock.AbsTime
	lastFillAt mclock.AbsTime
	quietFrom  uint64         // first block the silence check would scan
	confirmAt  mclock.AbsTime // when the live checkpoint was last confirmed with eth_getLogs
	failures   int
	client     chain.Client           // the session's connection, for block time lookups
	times      map[common.Hash]uint64 // block hash -> timestamp, of recent blocks
	progress   progress               // the catch-up under way (progress.go)
	receipts   receiptCache           // Fill.Nth of recent transactions' fills (nth.go)
	ords       map[ordKey]*ordEntry   // Fill.Nth of removed fills without a cached receipt
	batch      uint64                 // calls per JSON-RPC batch of the bound reads (bound.go)
	bstats     boundStats
	passed     passedBlock // the last block passed by a bound read
	held       heldBlock   // the block a bound read is held at
}

type counters struct {
	logs, fills, duplicates, malformed, ignored, removed, reconnects atomic.Uint64
	pending, silenceChecks, missed, failovers, rateLimited           atomic.Uint64
	chunkHalvings, checkpointErrors                                  atomic.Uint64
}

// Stats counts what the monitor has seen since start.
type Stats struct {
	Logs          uint64 // logs received (live, backfill and polls)
	Fills         uint64 // new leader fills handed on
	Duplicates    uint64 // logs already processed, dropped
	Malformed     uint64 // logs that did not decode, skipped
	Ignored       uint64 // well-formed logs that are not a leader's fill on a configured exchange
	Removed       uint64 // logs reverted by a reorg
	Pending       uint64 // fills waiting for their confirmations now
	Reconnects    uint64
	SilenceChecks uint64 // eth_getLogs cross-checks of a silent subscription
	Missed        uint64 // fills the subscription never delivered, found by a silence check
	Failovers     uint64 // switches between rpc_url and fallback_rpc_url
	RateLimited   uint64 // failures the node blamed on the call rate
	ChunkHalvings uint64 // eth_getLogs ranges halved after a too-large answer
	// Checkpoint is the last block whose logs are fully processed (0 before the first).
	Checkpoint       uint64
	CheckpointErrors uint64
	Head             uint64
	Subscribed       bool // connected: subscribed, or polling successfully
	Polling          bool // the node has no subscriptions and is polled
	Fallback         bool // connected through fallback_rpc_url
	LastError        string
}

// New validates opts and returns a monitor.
func New(opts Options) (*Monitor, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	opts.setDefaults()
	m := &Monitor{
		opts:      opts,
		log:       opts.Log,
		warn:      logging.RateLimited(opts.Log, time.Minute, 5),
		clock:     opts.Clock,
		kick:      make(chan struct{}, 1),
		exchanges: make(map[common.Address]bool, len(opts.Exchanges)),
		chunk:     chain.NewSpan(opts.BackfillChunk),
		pending:   make(map[dedup.Key]pendingFill),
	}
	for _, a := range opts.Exchanges {
		m.exchanges[a] = true
	}
	m.leaders = slices.Clone(opts.Leaders)
	return m, nil
}

// validate says what is missing or out of range in o.
func (o *Options) validate() error {
	var errs []error
	if o.Dial == nil {
		errs = append(errs, errors.New("Dial is required"))
	}
	if o.Dedup == nil {
		errs = append(errs, errors.New("Dedup is required"))
	}
	if o.Handler == nil {
		errs = append(errs, errors.New("Handler is required"))
	}
	if len(o.Exchanges) == 0 {
		errs = append(errs, errors.New("at least one exchange address is required"))
	}
	for _, d := range []time.Duration{o.HeadStaleAfter, o.SilenceAfter, o.ActiveWindow, o.PollInterval,
		o.CheckpointEvery, o.RPCTimeout, o.MinBackoff, o.MaxBackoff, o.RateLimitBackoff} {
		if d < 0 {
			errs = append(errs, errors.New("durations must not be negative"))
			break
		}
	}
	if o.FailoverAfter < 0 {
		errs = append(errs, errors.New("FailoverAfter must not be negative"))
	}
	if o.MinBackoff > 0 && o.MaxBackoff > 0 && o.MinBackoff > o.MaxBackoff {
		errs = append(errs, errors.New("MinBackoff must not exceed MaxBackoff"))
	}
	return errors.Join(errs...)
}

// setDefaults fills in the defaults of the options left zero.
func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.HeadStaleAfter, time.Minute)
	def(&o.SilenceAfter, 2*time.Minute)
	def(&o.ActiveWindow, time.Hour)
	def(&o.PollInterval, 2*time.Second)
	def(&o.CheckpointEvery, 10*time.Second)
	def(&o.RPCTimeout, 30*time.Second)
	def(&o.MaxBackoff, 30*time.Second)
	def(&o.MinBackoff, min(500*time.Millisecond, o.MaxBackoff))
	def(&o.RateLimitBackoff, 5*time.Second)
	o.RateLimitBackoff = min(o.RateLimitBackoff, o.MaxBackoff)
	if o.BackfillChunk == 0 {
		o.BackfillChunk = 2000
	}
	if o.FailoverAfter == 0 {
		o.FailoverAfter = 3
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Clock == nil {
		o.Clock = mclock.System{}
	}
}

// SetLeaders replaces the watched leaders. A changed set is resubscribed at once and backfilled
// from the checkpoint, so a leader added on reload misses nothing since then.
func (m *Monitor) SetLeaders(leaders []common.Address) {
	m.mu.Lock()
	same := slices.Equal(m.leaders, leaders)
	m.leaders = slices.Clone(leaders)
	m.mu.Unlock()
	if !same {
		m.resubscribe()
	}
}

// Rewind makes the monitor fetch the logs again from block on, through a fresh subscription.
// The dedup cache drops whatever was already processed.
func (m *Monitor) Rewind(block uint64) {
	m.mu.Lock()
	m.rewindTo = block + 1
	m.mu.Unlock()
	m.resubscribe()
}

func (m *Monitor) resubscribe() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Healthy is nil while the monitor is connected (or lost its node less than HeadStaleAfter ago)
// and the chain head advanced within HeadStaleAfter; otherwise it says what is wrong. The
// watchdog is fed only while it is nil.
func (m *Monitor) Healthy() error {
	now := m.clock.Now()
	if !m.subscribed.Load() {
		if !m.everUp.Load() {
			return m.notConnected("not subscribed")
		}
		if d := now.Sub(mclock.AbsTime(m.downSince.Load())); d > m.opts.HeadStaleAfter {
			return m.notConnected(fmt.Sprintf("disconnected for %s", d.Round(time.Second)))
		}
	}
	age := now.Sub(mclock.AbsTime(m.headAt.Load()))
	if age > m.opts.HeadStaleAfter {
		return fmt.Errorf("chain head %d has not advanced for %s", m.head.Load(), age.Round(time.Second))
	}
	return nil
}

func (m *Monitor) notConnected(what string) error {
	if e := m.lastErr.Load(); e != nil {
		return fmt.Errorf("%s: %s", what, *e)
	}
	return errors.New(what)
}

// State is a short description of the connection for a status line: "subscribed", "polling",
// "reconnecting for 4s: <error>" or "connecting".
func (m *Monitor) State() string {
	var s string
	switch {
	case m.subscribed.Load() && m.polling.Load():
		s = "polling"
	case m.subscribed.Load():
		s = "subscribed"
	case m.everUp.Load():
		s = "reconnecting for " + m.clock.Now().Sub(mclock.AbsTime(m.downSince.Load())).Round(time.Second).String()
		if e := m.lastErr.Load(); e != nil {
			s += ": " + *e
		}
	default:
		s = "connecting"
		if e := m.lastErr.Load(); e != nil {
			s += ": " + *e
		}
	}
	if m.fallback.Load() {
		s += " (fallback rpc)"
	}
	return s
}

// Stats returns the counters.
func (m *Monitor) Stats() Stats {
	s := Stats{
		Logs: m.stats.logs.Load(), Fills: m.stats.fills.Load(), Duplicates: m.stats.duplicates.Load(),
		Malformed: m.stats.malformed.Load(), Ignored: m.stats.ignored.Load(), Removed: m.stats.removed.Load(),
		Pending: m.stats.pending.Load(), Reconnects: m.stats.reconnects.Load(),
		SilenceChecks: m.stats.silenceChecks.Load(), Missed: m.stats.missed.Load(),
		Failovers: m.stats.failovers.Load(), RateLimited: m.stats.rateLimited.Load(),
		ChunkHalvings: m.stats.chunkHalvings.Load(), Checkpoint: m.checkpoint.Load(),
		CheckpointErrors: m.stats.checkpointErrors.Load(),
		Head:             m.head.Load(), Subscribed: m.subscribed.Load(), Polling: m.polling.Load(),
		Fallback: m.fallback.Load(),
	}
	if e := m.lastErr.Load(); e != nil {
		s.LastError = *e
	}
	return s
}

// Run watches the chain until ctx ends, reconnecting with capped exponential backoff and jitter.
func (m *Monitor) Run(ctx context.Context) error {
	if !m.started.CompareAndSwap(false, true) {
		return errors.New("monitor: Run called twice")
	}
	m.resume()
	backoff := m.opts.MinBackoff
	for {
		up, err := m.session(ctx)
		m.setDown()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errHandler) {
			return err
		}
		if up {
			backoff = m.opts.MinBackoff
			m.failures = 0
		}
		if err == nil || errors.Is(err, errSilent) { // resubscribe requested or needed
			continue
		}
		msg := err.Error()
		m.lastErr.Store(&msg)
		m.stats.reconnects.Add(1)
		if !up {
			m.noteFailure()
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		if chain.IsRateLimited(err) {
			m.stats.rateLimited.Add(1)
			backoff = max(backoff, m.opts.RateLimitBackoff)
			wait = backoff + rand.N(backoff/2+1)
			m.warn.Warn("rpc node is rate limiting; backing off", zap.Error(err), zap.Duration("in", wait))
		} else {
			m.warn.Warn("rpc connection lost; reconnecting", zap.Error(err), zap.Duration("in", wait))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-m.clock.After(wait):
		}
		backoff = min(backoff*2, m.opts.MaxBackoff)
	}
}

// noteFailure counts a connection that failed before it was up and switches to the other node
// after FailoverAfter of them in a row.
func (m *Monitor) noteFailure() {
	m.failures++
	if m.opts.FallbackDial == nil || m.failures < m.opts.FailoverAfter {
		return
	}
	m.failures = 0
	to := !m.fallback.Load()
	m.fallback.Store(to)
	m.stats.failovers.Add(1)
	name := "chain.rpc_url"
	if to {
		name = "chain.fallback_rpc_url"
	}
	m.log.Warn("rpc node keeps failing; switching node", zap.String("to", name), zap.Int("failures", m.opts.FailoverAfter))
}

func (m *Monitor) setUp() {
	m.subscribed.Store(true)
	m.everUp.Store(true)
	m.downSince.Store(0)
	m.lastErr.Store(nil)
}

func (m *Monitor) setDown() {
	if m.subscribed.Swap(false) {
		m.downSince.Store(int64(m.clock.Now()))
	}
}

var (
	errHandler = errors.New("fill handler")
	errSilent  = errors.New("log subscription missed fills")
	errStopped = errors.New("fill not handed on: stopping")
)
