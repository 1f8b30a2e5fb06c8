// Package monitor is polybot's wallet monitor: it streams the exchanges' OrderFilled logs whose
// maker is a leader, decodes them, drops the ones already processed, and hands each new fill on.
//
// Ingestion is gap-free: the monitor persists the last block whose logs are fully processed (a
// Checkpointer), resumes from it after a restart, backfills what it missed with bounded
// eth_getLogs calls, reconnects after every failure, cross-checks a subscription that falls
// silent, and acts on a fill only once it is Confirmations blocks deep.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
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

// Checkpointer persists the last block whose logs are fully processed: every leader fill in it
// and before it was handed to the Handler and accepted. The monitor resumes after it.
type Checkpointer interface {
	// Load returns the saved block; ok is false when nothing was saved yet.
	Load() (block uint64, ok bool, err error)
	Save(block uint64) error
}

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
	// the node answers that a range is too large.
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
	Log          *zap.Logger
	Clock        mclock.Clock
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
	chunk      uint64
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
	ords       map[ordKey]*ordEntry   // Fill.Nth of the recent blocks' fills
}

// ordKey is one order's fills in one transaction of one block.
type ordKey struct{ block, tx, order common.Hash }

// ordEntry lists the log indexes of an ordKey's fills in the order they were seen: a fill's
// Nth is its position in it.
type ordEntry struct {
	number uint64
	idx    []uint
}

type pendingFill struct {
	log  types.Log
	fill polymarket.Fill
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
	var errs []error
	if opts.Dial == nil {
		errs = append(errs, errors.New("Dial is required"))
	}
	if opts.Dedup == nil {
		errs = append(errs, errors.New("Dedup is required"))
	}
	if opts.Handler == nil {
		errs = append(errs, errors.New("Handler is required"))
	}
	if len(opts.Exchanges) == 0 {
		errs = append(errs, errors.New("at least one exchange address is required"))
	}
	for _, d := range []time.Duration{opts.HeadStaleAfter, opts.SilenceAfter, opts.ActiveWindow, opts.PollInterval,
		opts.CheckpointEvery, opts.RPCTimeout, opts.MinBackoff, opts.MaxBackoff, opts.RateLimitBackoff} {
		if d < 0 {
			errs = append(errs, errors.New("durations must not be negative"))
			break
		}
	}
	if opts.FailoverAfter < 0 {
		errs = append(errs, errors.New("FailoverAfter must not be negative"))
	}
	if opts.MinBackoff > 0 && opts.MaxBackoff > 0 && opts.MinBackoff > opts.MaxBackoff {
		errs = append(errs, errors.New("MinBackoff must not exceed MaxBackoff"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&opts.HeadStaleAfter, time.Minute)
	def(&opts.SilenceAfter, 2*time.Minute)
	def(&opts.ActiveWindow, time.Hour)
	def(&opts.PollInterval, 2*time.Second)
	def(&opts.CheckpointEvery, 10*time.Second)
	def(&opts.RPCTimeout, 30*time.Second)
	def(&opts.MaxBackoff, 30*time.Second)
	def(&opts.MinBackoff, min(500*time.Millisecond, opts.MaxBackoff))
	def(&opts.RateLimitBackoff, 5*time.Second)
	opts.RateLimitBackoff = min(opts.RateLimitBackoff, opts.MaxBackoff)
	if opts.BackfillChunk == 0 {
		opts.BackfillChunk = 2000
	}
	if opts.FailoverAfter == 0 {
		opts.FailoverAfter = 3
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Clock == nil {
		opts.Clock = mclock.System{}
	}
	m := &Monitor{
		opts:      opts,
		log:       opts.Log,
		warn:      logging.RateLimited(opts.Log, time.Minute, 5),
		clock:     opts.Clock,
		kick:      make(chan struct{}, 1),
		exchanges: make(map[common.Address]bool, len(opts.Exchanges)),
		chunk:     opts.BackfillChunk,
		pending:   make(map[dedup.Key]pendingFill),
	}
	for _, a := range opts.Exchanges {
		m.exchanges[a] = true
	}
	m.leaders = slices.Clone(opts.Leaders)
	return m, nil
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

// resume sets the first block to scan: after the checkpoint, else StartBlock, else (0) the head.
func (m *Monitor) resume() {
	if m.opts.Checkpoint != nil {
		b, ok, err := m.opts.Checkpoint.Load()
		switch {
		case err != nil:
			m.stats.checkpointErrors.Add(1)
			m.log.Error("checkpoint unreadable; starting from chain.start_block", zap.Error(err))
		case ok:
			m.next.Store(b + 1)
			m.checkpoint.Store(b)
			m.saved, m.haveSaved = b, true
			m.log.Info("resuming after the checkpoint", zap.Uint64("checkpoint", b))
			return
		}
	}
	if m.opts.StartBlock > 0 {
		m.next.Store(m.opts.StartBlock)
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

// session runs one connection: subscribe, backfill the gap, then stream (or poll). up says the
// connection got as far as subscribed. It returns a nil error when a resubscription was
// requested or ctx ended.
func (m *Monitor) session(ctx context.Context) (up bool, err error) {
	dial := m.opts.Dial
	if m.fallback.Load() {
		dial = m.opts.FallbackDial
	}
	client, err := dial(ctx)
	if err != nil {
		return false, err
	}
	defer client.Close()
	m.client = client
	defer func() { m.client = nil }()

	m.mu.Lock()
	leaders := slices.Clone(m.leaders)
	if m.rewindTo > 0 {
		m.next.Store(m.rewindTo - 1)
		m.rewindTo = 0
	}
	m.mu.Unlock()
	// Fills waiting for confirmations are fetched again by the backfill, from the chain as it is
	// now: a reorg while disconnected must not leave a removed fill waiting.
	clear(m.pending)
	m.stats.pending.Store(0)

	// Subscribe first, then backfill up to the head: a log mined in between arrives on both
	// paths and the dedup cache drops the second copy, so the seam has no gap.
	heads := make(chan *types.Header, 64)
	headSub, err := client.SubscribeNewHead(ctx, heads)
	if errors.Is(err, rpc.ErrNotificationsUnsupported) {
		return m.poll(ctx, client, leaders)
	}
	if err != nil {
		return false, fmt.Errorf("subscribe new heads: %w", err)
	}
	m.polling.Store(false)
	defer headSub.Unsubscribe()
	logs := make(chan types.Log, 256)
	var logErr <-chan error
	if len(leaders) > 0 {
		logSub, err := client.SubscribeFilterLogs(ctx, m.query(leaders, nil, nil), logs)
		if err != nil {
			return false, fmt.Errorf("subscribe logs: %w", err)
		}
		defer logSub.Unsubscribe()
		logErr = logSub.Err()
	}

	head, err := m.headNumber(ctx, client)
	if err != nil {
		return false, err
	}
	m.noteHead(head)
	if m.next.Load() == 0 { // first start without checkpoint or start_block: begin at the head
		m.next.Store(head)
	}
	if next := m.next.Load(); next > head+1 {
		m.warn.Warn("checkpoint is ahead of the node's head: the node lags, or state_dir holds another chain's checkpoint",
			zap.Uint64("checkpoint", next-1), zap.Uint64("head", head))
	}
	if len(leaders) > 0 {
		if err := m.scan(ctx, client, leaders, m.next.Load(), head); err != nil {
			return false, err
		}
	}
	m.advance(m.safe(head, 0))
	m.quietFrom = head + 1
	m.lastLogAt = m.clock.Now()
	m.confirmAt = m.lastLogAt
	m.setUp()
	m.log.Info("subscribed", zap.Int("leaders", len(leaders)), zap.Int("exchanges", len(m.opts.Exchanges)),
		zap.Uint64("head", head), zap.Uint64("checkpoint", m.checkpoint.Load()))
	if m.opts.OnSubscribed != nil {
		m.opts.OnSubscribed()
	}

	for {
		select {
		case <-ctx.Done():
			m.finish(ctx, client, leaders)
			return true, nil
		case <-m.kick:
			return true, nil
		case err := <-headSub.Err():
			return true, fmt.Errorf("head subscription: %w", errOrClosed(err))
		case err := <-logErr:
			return true, fmt.Errorf("log subscription: %w", errOrClosed(err))
		case h := <-heads:
			if h == nil || h.Number == nil {
				continue
			}
			// Logs delivered before this head belong to earlier blocks (or to this one): take
			// them first, so the checkpoint below never passes a log still in the channel.
		drain:
			for {
				select {
				case l := <-logs:
					if err := m.live(ctx, &l); err != nil {
						return true, err
					}
				default:
					break drain
				}
			}
			if err := m.onHead(ctx, client, leaders, h.Number.Uint64()); err != nil {
				return true, err
			}
		case l := <-logs:
			if err := m.live(ctx, &l); err != nil {
				return true, err
			}
		}
	}
}

func (m *Monitor) live(ctx context.Context, l *types.Log) error {
	m.lastLogAt = m.clock.Now()
	if !l.Removed && l.BlockNumber > m.quietFrom {
		m.quietFrom = l.BlockNumber
	}
	_, err := m.accept(ctx, l)
	return err
}

// onHead releases the fills that reached their confirmations, moves the checkpoint and runs
// the silence check.
func (m *Monitor) onHead(ctx context.Context, c chain.Client, leaders []common.Address, n uint64) error {
	m.noteHead(n)
	head := m.head.Load()
	if err := m.release(ctx, head); err != nil {
		return err
	}
	now := m.clock.Now()
	if err := m.silence(ctx, c, leaders, head, now); err != nil {
		return err
	}
	// A node usually sends a block's logs before it announces the next block, but nothing
	// guarantees it: the checkpoint moves only over blocks an eth_getLogs answer confirmed.
	return m.confirm(ctx, c, leaders, head, now)
}

// silence runs the silence check: the leaders trade, the head moves, and the subscription has
// said nothing for SilenceAfter. A finding is an errSilent error (resubscribe).
func (m *Monitor) silence(ctx context.Context, c chain.Client, leaders []common.Address, head uint64, now mclock.AbsTime) error {
	if len(leaders) == 0 || m.lastFillAt == 0 || now.Sub(m.lastFillAt) > m.opts.ActiveWindow ||
		now.Sub(m.lastLogAt) <= m.opts.SilenceAfter || m.quietFrom > head {
		return nil
	}
	// The leaders trade, the head moves, and the subscription has said nothing for a while:
	// ask the node directly whether it left something out.
	m.stats.silenceChecks.Add(1)
	from := m.quietFrom
	missed := 0
	err := m.scanWith(ctx, c, leaders, from, head, func(l *types.Log) error {
		got, err := m.accept(ctx, l)
		if got == outHandled || got == outPending {
			missed++
		}
		return err
	})
	if err != nil {
		return err
	}
	m.lastLogAt = now
	m.quietFrom = head + 1
	if missed == 0 {
		m.log.Debug("silent log subscription cross-checked; nothing missed", zap.Uint64("from", from), zap.Uint64("to", head))
		return nil
	}
	m.stats.missed.Add(uint64(missed))
	m.log.Warn("log subscription missed leader fills; processed them and resubscribing",
		zap.Int("missed", missed), zap.Uint64("from", from), zap.Uint64("to", head))
	return fmt.Errorf("%w: %d fills in blocks %d-%d", errSilent, missed, from, head)
}

// confirm moves the live checkpoint, at most every CheckpointEvery, up to the newest block whose
// logs had time to arrive (head minus the confirmations, and at least one block back): one
// eth_getLogs over the blocks since the checkpoint, whose leader fills are processed first (the
// dedup cache drops those the subscription delivered). A fill the subscription has not
// delivered yet is handed on from that answer, and its late delivery is then a duplicate.
func (m *Monitor) confirm(ctx context.Context, c chain.Client, leaders []common.Address, head uint64, now mclock.AbsTime) error {
	to := m.safe(head, 1)
	from := m.next.Load()
	if to == 0 || from > to || now.Sub(m.confirmAt) < m.opts.CheckpointEvery {
		return nil
	}
	m.confirmAt = now
	if len(leaders) == 0 {
		m.advance(to)
		return nil
	}
	late := 0
	err := m.scanWith(ctx, c, leaders, from, to, func(l *types.Log) error {
		got, err := m.accept(ctx, l)
		if got == outHandled {
			late++
		}
		return err
	})
	if late > 0 {
		m.log.Info("checkpoint check found leader fills the subscription had not delivered yet; handed them on",
			zap.Int("fills", late), zap.Uint64("from", from), zap.Uint64("to", to))
	}
	return err
}

// poll runs a connection to a node without subscriptions: eth_getLogs from the checkpoint to
// the confirmed head every PollInterval. Only confirmed blocks are scanned, so nothing waits.
func (m *Monitor) poll(ctx context.Context, c chain.Client, leaders []common.Address) (bool, error) {
	m.polling.Store(true)
	up := false
	for {
		head, err := m.headNumber(ctx, c)
		if err != nil {
			return up, err
		}
		m.noteHead(head)
		if head >= m.opts.Confirmations {
			to := head - m.opts.Confirmations
			if m.next.Load() == 0 {
				m.next.Store(to)
			}
			if from := m.next.Load(); len(leaders) > 0 && from <= to {
				if err := m.scan(ctx, c, leaders, from, to); err != nil {
					return up, err
				}
			}
			m.advance(to)
		}
		if !up {
			up = true
			m.setUp()
			m.log.Info("polling", zap.Int("leaders", len(leaders)), zap.Uint64("head", head),
				zap.Uint64("checkpoint", m.checkpoint.Load()), zap.Duration("every", m.opts.PollInterval))
			if m.opts.OnSubscribed != nil {
				m.opts.OnSubscribed()
			}
		}
		select {
		case <-ctx.Done():
			return up, nil
		case <-m.kick:
			return up, nil
		case <-m.clock.After(m.opts.PollInterval):
		}
	}
}

// finish runs when ctx ends: the last head's logs may all have been handled already, which the
// lagging checkpoint does not know. One eth_getLogs tells; the checkpoint moves up to the first
// log not handled, so a restart neither repeats nor skips a fill.
func (m *Monitor) finish(ctx context.Context, c chain.Client, leaders []common.Address) {
	to := m.safe(m.head.Load(), 0)
	from := m.next.Load()
	if len(leaders) == 0 || from > to {
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(m.opts.RPCTimeout, 5*time.Second))
	defer cancel()
	logs, err := c.FilterLogs(fctx, m.query(leaders, new(big.Int).SetUint64(from), new(big.Int).SetUint64(to)))
	if err != nil {
		m.log.Debug("final checkpoint check failed", zap.Error(err))
		return
	}
	done := to
	for i := range logs {
		l := &logs[i]
		f, err := polymarket.DecodeOrderFilled(l)
		if err != nil || !m.exchanges[f.Exchange] || !m.isLeader(f.Maker) {
			continue
		}
		key := dedup.FillKey(l.TxHash, f.OrderHash, m.nth(l, f.OrderHash))
		if !m.opts.Dedup.Contains(key) {
			if l.BlockNumber == 0 {
				return
			}
			done = min(done, l.BlockNumber-1)
		}
	}
	if done+1 > from {
		m.advance(done)
	}
}

func errOrClosed(err error) error {
	if err == nil {
		return errors.New("closed by the node")
	}
	return err
}

func (m *Monitor) query(leaders []common.Address, from, to *big.Int) ethereum.FilterQuery {
	topics := make([]common.Hash, len(leaders))
	for i, l := range leaders {
		topics[i] = polymarket.LeaderTopic(l)
	}
	// Topic 2 is the maker: a leader's own fills. Fills where the leader is the taker (topic 3)
	// and OrdersMatched are left out by the node.
	return ethereum.FilterQuery{
		FromBlock: from,
		ToBlock:   to,
		Addresses: m.opts.Exchanges,
		Topics:    [][]common.Hash{{polymarket.OrderFilledV2Topic, polymarket.OrderFilledV1Topic}, nil, topics},
	}
}

func (m *Monitor) headNumber(ctx context.Context, c chain.Client) (uint64, error) {
	rctx, cancel := context.WithTimeout(ctx, m.opts.RPCTimeout)
	defer cancel()
	h, err := c.HeaderByNumber(rctx, nil)
	if err != nil {
		return 0, fmt.Errorf("latest header: %w", err)
	}
	if h == nil || h.Number == nil {
		return 0, errors.New("latest header: empty answer")
	}
	return h.Number.Uint64(), nil
}

func (m *Monitor) noteHead(n uint64) {
	if n > m.head.Load() || !m.headSeen.Swap(true) {
		m.head.Store(n)
		m.headAt.Store(int64(m.clock.Now()))
	}
}

// safe is the newest block the checkpoint may reach with head known: head minus the
// confirmations, and minus lag (blocks whose logs may still be on their way); 0 when no block
// qualifies yet.
func (m *Monitor) safe(head, lag uint64) uint64 {
	back := max(m.opts.Confirmations, lag)
	if head < back {
		return 0
	}
	return head - back
}

// advance records that every log up to block b is processed, and persists it.
func (m *Monitor) advance(b uint64) {
	if b == 0 || b+1 <= m.next.Load() {
		return
	}
	m.next.Store(b + 1)
	m.checkpoint.Store(b)
	if m.opts.Checkpoint == nil || (m.haveSaved && m.saved == b) {
		return
	}
	if err := m.opts.Checkpoint.Save(b); err != nil {
		m.stats.checkpointErrors.Add(1)
		m.warn.Warn("checkpoint not saved", zap.Uint64("block", b), zap.Error(err))
		return
	}
	m.saved, m.haveSaved = b, true
}

// scan fetches the leaders' logs of blocks from..to in bounded chunks, processes them in order
// and moves the checkpoint after each chunk.
func (m *Monitor) scan(ctx context.Context, c chain.Client, leaders []common.Address, from, to uint64) error {
	return m.scanWith(ctx, c, leaders, from, to, func(l *types.Log) error {
		_, err := m.accept(ctx, l)
		return err
	})
}

func (m *Monitor) scanWith(ctx context.Context, c chain.Client, leaders []common.Address, from, to uint64, each func(*types.Log) error) error {
	limit := m.safe(m.head.Load(), 0)
	for from <= to {
		end := min(from+m.chunk-1, to)
		rctx, cancel := context.WithTimeout(ctx, m.opts.RPCTimeout)
		logs, err := c.FilterLogs(rctx, m.query(leaders, new(big.Int).SetUint64(from), new(big.Int).SetUint64(end)))
		cancel()
		if err != nil {
			if chain.IsRangeLimited(err) && m.chunk > 1 {
				m.chunk = max(m.chunk/2, 1)
				m.stats.chunkHalvings.Add(1)
				m.log.Info("node refused the eth_getLogs range; halving it", zap.Uint64("from", from), zap.Uint64("to", end),
					zap.Uint64("chunk", m.chunk), zap.Error(err))
				continue
			}
			return fmt.Errorf("get logs of blocks %d-%d: %w", from, end, err)
		}
		if len(logs) > 0 {
			m.log.Info("fetched logs", zap.Uint64("from", from), zap.Uint64("to", end), zap.Int("logs", len(logs)))
		}
		slices.SortStableFunc(logs, func(a, b types.Log) int {
			if a.BlockNumber != b.BlockNumber {
				return cmpU(a.BlockNumber, b.BlockNumber)
			}
			return cmpU(uint64(a.Index), uint64(b.Index))
		})
		for i := range logs {
			if err := each(&logs[i]); err != nil {
				return err
			}
		}
		m.advance(min(end, limit))
		from = end + 1
	}
	return nil
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type outcome int

const (
	outSkipped outcome = iota // malformed, foreign, removed or duplicate
	outPending                // waits for confirmations
	outHandled                // handed to the Handler
)

// accept takes one log through decode and dedup to the handler, or to the confirmation buffer.
func (m *Monitor) accept(ctx context.Context, l *types.Log) (outcome, error) {
	m.stats.logs.Add(1)
	f, err := polymarket.DecodeOrderFilled(l)
	if l.Removed {
		m.stats.removed.Add(1)
		if err == nil && m.exchanges[f.Exchange] && m.isLeader(f.Maker) {
			f.Nth = m.nth(l, f.OrderHash)
			m.removed(dedup.FillKey(l.TxHash, f.OrderHash, f.Nth), l, f)
		}
		return outSkipped, nil
	}
	if err != nil {
		if errors.Is(err, polymarket.ErrNotOrderFilled) {
			m.stats.ignored.Add(1)
			return outSkipped, nil
		}
		m.stats.malformed.Add(1)
		m.warn.Warn("malformed log skipped", zap.Stringer("tx", l.TxHash), zap.Uint("log_index", l.Index), zap.Error(err))
		return outSkipped, nil
	}
	if !m.exchanges[f.Exchange] || !m.isLeader(f.Maker) {
		// The node filters by address and topic; a log that still gets here is not ours.
		m.stats.ignored.Add(1)
		m.warn.Warn("log from an unexpected exchange or maker skipped", zap.Stringer("address", f.Exchange), zap.Stringer("maker", f.Maker))
		return outSkipped, nil
	}
	f.Nth = m.nth(l, f.OrderHash)
	key := dedup.FillKey(l.TxHash, f.OrderHash, f.Nth)
	if f.BlockTime == 0 {
		if f.BlockTime, err = m.blockTime(ctx, l); err != nil {
			return outSkipped, err
		}
	}
	if n := m.opts.Confirmations; n > 0 && l.BlockNumber+n > m.head.Load() {
		if _, ok := m.pending[key]; !ok {
			m.pending[key] = pendingFill{log: *l, fill: f}
			m.stats.pending.Store(uint64(len(m.pending)))
		}
		return outPending, nil
	}
	return m.handle(ctx, key, f)
}

func (m *Monitor) handle(ctx context.Context, key dedup.Key, f polymarket.Fill) (outcome, error) {
	if m.opts.Dedup.Seen(key) {
		m.stats.duplicates.Add(1)
		return outSkipped, nil
	}
	m.stats.fills.Add(1)
	m.lastFillAt = m.clock.Now()
	if err := m.opts.Handler(ctx, f); err != nil {
		// The fill was not taken (shutdown came first): it is forgotten, so that nothing
		// counts it as processed, and the caller stops before the checkpoint passes it. The
		// next start reads it from the chain again.
		m.opts.Dedup.Forget(key)
		m.stats.fills.Add(^uint64(0))
		if ctx.Err() != nil {
			return outSkipped, fmt.Errorf("%w: %w", errStopped, ctx.Err())
		}
		return outSkipped, fmt.Errorf("%w: %w", errHandler, err)
	}
	return outHandled, nil
}

// release hands on, in chain order, the waiting fills that are Confirmations deep at head.
func (m *Monitor) release(ctx context.Context, head uint64) error {
	n := m.opts.Confirmations
	if n == 0 || len(m.pending) == 0 || head < n {
		return nil
	}
	var ready []dedup.Key
	for k, p := range m.pending {
		if p.log.BlockNumber+n <= head {
			ready = append(ready, k)
		}
	}
	slices.SortFunc(ready, func(a, b dedup.Key) int {
		pa, pb := m.pending[a].log, m.pending[b].log
		if pa.BlockNumber != pb.BlockNumber {
			return cmpU(pa.BlockNumber, pb.BlockNumber)
		}
		return cmpU(uint64(pa.Index), uint64(pb.Index))
	})
	for _, k := range ready {
		p := m.pending[k]
		delete(m.pending, k)
		m.stats.pending.Store(uint64(len(m.pending)))
		if _, err := m.handle(ctx, k, p.fill); err != nil {
			return err
		}
	}
	return nil
}

// removed handles a log a reorg took out of the chain: a fill still waiting for confirmations is
// dropped; one already handed on is reported through OnRemoved and forgotten by the dedup cache,
// so it is handled again if the chain includes it again.
func (m *Monitor) removed(key dedup.Key, l *types.Log, f polymarket.Fill) {
	if p, ok := m.pending[key]; ok && p.log.BlockHash == l.BlockHash {
		delete(m.pending, key)
		m.stats.pending.Store(uint64(len(m.pending)))
		m.log.Info("unconfirmed leader fill reverted by a reorg; dropped", zap.Stringer("tx", l.TxHash),
			zap.Uint("log_index", l.Index), zap.Uint64("block", l.BlockNumber))
		return
	}
	handled := m.opts.Dedup.Contains(key)
	m.opts.Dedup.Forget(key)
	m.log.Warn("leader fill reverted by a reorg", zap.Stringer("tx", l.TxHash), zap.Uint("log_index", l.Index),
		zap.Uint64("block", l.BlockNumber), zap.Bool("was_handled", handled))
	if handled && m.opts.OnRemoved != nil {
		m.opts.OnRemoved(f)
	}
}

// ordsKept bounds the Nth bookkeeping: the fills of a few hundred recent blocks.
const ordsKept = 4096

// nth returns the Nth of l's fill of order: how many fills of that order its transaction
// made before it, counted in the order the logs were seen (a node sends a block's logs in
// order; the count only has to be stable per fill). A reorg that includes the transaction
// again, in another block at other log indexes, counts its fills again from 0, so each gets
// the Nth, and the dedup key and intent id, it had before.
func (m *Monitor) nth(l *types.Log, order common.Hash) uint {
	k := ordKey{l.BlockHash, l.TxHash, order}
	e := m.ords[k]
	if e == nil {
		if m.ords == nil {
			m.ords = make(map[ordKey]*ordEntry)
		}
		if len(m.ords) >= ordsKept {
			m.pruneOrds(l.BlockNumber)
		}
		e = &ordEntry{number: l.BlockNumber}
		m.ords[k] = e
	}
	for i, x := range e.idx {
		if x == l.Index {
			return uint(i)
		}
	}
	e.idx = append(e.idx, l.Index)
	return uint(len(e.idx) - 1)
}

// pruneOrds drops the Nth bookkeeping of blocks well below the head, or if that is not
// enough, of every block before current (the block being read, whose logs are still coming
// and must keep theirs; logs come in block order).
func (m *Monitor) pruneOrds(current uint64) {
	head := m.head.Load()
	for k, e := range m.ords {
		if e.number+256 < head && e.number < current {
			delete(m.ords, k)
		}
	}
	if len(m.ords) < ordsKept {
		return
	}
	for k, e := range m.ords {
		if e.number < current {
			delete(m.ords, k)
		}
	}
}

// blockTimesKept bounds the cache of block timestamps: a backfill chunk's blocks at most.
const blockTimesKept = 1024

// blockTime returns the timestamp of l's block for a node that sends logs without
// blockTimestamp: one header lookup per block, cached. A failed lookup fails the session, which
// reconnects and fetches the log again: a fill is never decided without its time.
func (m *Monitor) blockTime(ctx context.Context, l *types.Log) (uint64, error) {
	if t, ok := m.times[l.BlockHash]; ok && l.BlockHash != (common.Hash{}) {
		return t, nil
	}
	if m.client == nil {
		return 0, errors.New("block time: not connected")
	}
	rctx, cancel := context.WithTimeout(ctx, m.opts.RPCTimeout)
	defer cancel()
	h, err := m.client.HeaderByNumber(rctx, new(big.Int).SetUint64(l.BlockNumber))
	if err != nil {
		return 0, fmt.Errorf("header of block %d (for its time): %w", l.BlockNumber, err)
	}
	if h == nil {
		return 0, fmt.Errorf("header of block %d (for its time): empty answer", l.BlockNumber)
	}
	if m.times == nil || len(m.times) >= blockTimesKept {
		m.times = make(map[common.Hash]uint64)
	}
	if l.BlockHash != (common.Hash{}) {
		m.times[l.BlockHash] = h.Time
	}
	return h.Time, nil
}

func (m *Monitor) isLeader(a common.Address) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Contains(m.leaders, a)
}
