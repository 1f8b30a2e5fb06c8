// Package monitor is polybot's wallet monitor: it streams the exchanges' OrderFilled logs whose
// maker is a leader, decodes them, drops the ones already processed, and hands each new fill on.
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
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/dedup"
	"github.com/polybot/polybot/internal/logging"
	"github.com/polybot/polybot/internal/polymarket"
)

// Handler receives each new leader fill, in chain order per connection. An error stops the monitor.
type Handler func(ctx context.Context, f polymarket.Fill) error

// Options configures a Monitor.
type Options struct {
	// Dial connects to the node; it is called again after every disconnect.
	Dial      func(ctx context.Context) (chain.Client, error)
	Exchanges []common.Address
	Leaders   []common.Address
	Dedup     *dedup.Cache
	Handler   Handler
	// StartBlock is where the first backfill starts; 0 means the current head.
	StartBlock uint64
	// HeadStaleAfter is how long the head may stand still before Healthy fails; default 60 s.
	HeadStaleAfter time.Duration
	// BackfillChunk bounds the blocks of one eth_getLogs call; default 2000.
	BackfillChunk uint64
	// RPCTimeout bounds each RPC call; default 30 s.
	RPCTimeout time.Duration
	// MaxBackoff caps the wait between reconnects; default 30 s.
	MaxBackoff time.Duration
	// OnSubscribed is called after every successful subscription (the first one means ready).
	OnSubscribed func()
	Log          *zap.Logger
	Clock        mclock.Clock
}

// Monitor is the wallet monitor. Run it once; its other methods are safe for concurrent use.
type Monitor struct {
	opts    Options
	log     *zap.Logger
	warn    *logging.RateLimiter
	clock   mclock.Clock
	kick    chan struct{}
	started atomic.Bool

	mu        sync.Mutex
	leaders   []common.Address
	exchanges map[common.Address]bool
	rewindTo  uint64 // a pending rewind (block+1), 0 = none

	subscribed atomic.Bool
	head       atomic.Uint64
	headAt     atomic.Int64 // mclock.AbsTime of the last head advance
	nextBlock  atomic.Uint64
	stats      counters
	lastErr    atomic.Pointer[string]
}

type counters struct {
	logs, fills, duplicates, malformed, ignored, removed, reconnects atomic.Uint64
}

// Stats counts what the monitor has seen since start.
type Stats struct {
	Logs       uint64 // logs received (live and backfill)
	Fills      uint64 // new leader fills handed on
	Duplicates uint64 // logs already processed, dropped
	Malformed  uint64 // logs that did not decode, skipped
	Ignored    uint64 // well-formed logs that are not a leader's fill on a configured exchange
	Removed    uint64 // logs reverted by a reorg
	Reconnects uint64
	Head       uint64
	Subscribed bool
	LastError  string
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
	if opts.HeadStaleAfter < 0 || opts.RPCTimeout < 0 || opts.MaxBackoff < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("monitor: %w", err)
	}
	if opts.HeadStaleAfter == 0 {
		opts.HeadStaleAfter = time.Minute
	}
	if opts.BackfillChunk == 0 {
		opts.BackfillChunk = 2000
	}
	if opts.RPCTimeout == 0 {
		opts.RPCTimeout = 30 * time.Second
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Clock == nil {
		opts.Clock = mclock.System{}
	}
	m := &Monitor{
		opts:  opts,
		log:   opts.Log,
		warn:  logging.RateLimited(opts.Log, time.Minute, 5),
		clock: opts.Clock,
		kick:  make(chan struct{}, 1),
	}
	m.setExchanges(opts.Exchanges)
	m.leaders = slices.Clone(opts.Leaders)
	if opts.StartBlock > 0 {
		m.nextBlock.Store(opts.StartBlock)
	}
	return m, nil
}

func (m *Monitor) setExchanges(ex []common.Address) {
	m.exchanges = make(map[common.Address]bool, len(ex))
	for _, a := range ex {
		m.exchanges[a] = true
	}
}

// SetLeaders replaces the watched leaders. A changed set is resubscribed at once and backfilled
// from the last processed block, so a leader added on reload misses nothing since then.
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

// Healthy is nil while the subscription is alive and the chain head advanced within
// HeadStaleAfter; otherwise it says what is wrong. The watchdog is fed only while it is nil.
func (m *Monitor) Healthy() error {
	if !m.subscribed.Load() {
		if e := m.lastErr.Load(); e != nil {
			return fmt.Errorf("not subscribed: %s", *e)
		}
		return errors.New("not subscribed")
	}
	age := m.clock.Now().Sub(mclock.AbsTime(m.headAt.Load()))
	if age > m.opts.HeadStaleAfter {
		return fmt.Errorf("chain head %d has not advanced for %s", m.head.Load(), age.Round(time.Second))
	}
	return nil
}

// Stats returns the counters.
func (m *Monitor) Stats() Stats {
	s := Stats{
		Logs: m.stats.logs.Load(), Fills: m.stats.fills.Load(), Duplicates: m.stats.duplicates.Load(),
		Malformed: m.stats.malformed.Load(), Ignored: m.stats.ignored.Load(), Removed: m.stats.removed.Load(),
		Reconnects: m.stats.reconnects.Load(), Head: m.head.Load(), Subscribed: m.subscribed.Load(),
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
	backoff := 500 * time.Millisecond
	for {
		err := m.session(ctx)
		m.subscribed.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, errHandler) {
			return err
		}
		if err == nil { // resubscribe requested
			backoff = 500 * time.Millisecond
			continue
		}
		msg := err.Error()
		m.lastErr.Store(&msg)
		m.stats.reconnects.Add(1)
		wait := backoff/2 + rand.N(backoff/2+1)
		m.warn.Warn("rpc connection lost; reconnecting", zap.Error(err), zap.Duration("in", wait))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(backoff*2, m.opts.MaxBackoff)
	}
}

var errHandler = errors.New("fill handler")

// session runs one connection: subscribe, backfill the gap, then stream. It returns nil when a
// resubscription was requested and an error when the connection failed.
func (m *Monitor) session(ctx context.Context) error {
	client, err := m.opts.Dial(ctx)
	if err != nil {
		return err
	}
	defer client.Close()

	m.mu.Lock()
	leaders := slices.Clone(m.leaders)
	if m.rewindTo > 0 {
		m.nextBlock.Store(m.rewindTo - 1)
		m.rewindTo = 0
	}
	m.mu.Unlock()

	// Subscribe first, then backfill up to the head: a log mined in between arrives on both
	// paths and the dedup cache drops the second copy, so the seam has no gap.
	heads := make(chan *types.Header, 16)
	headSub, err := client.SubscribeNewHead(ctx, heads)
	if err != nil {
		return fmt.Errorf("subscribe new heads: %w", err)
	}
	defer headSub.Unsubscribe()
	logs := make(chan types.Log, 256)
	var logErr <-chan error
	if len(leaders) > 0 {
		logSub, err := client.SubscribeFilterLogs(ctx, m.query(leaders, nil, nil), logs)
		if err != nil {
			return fmt.Errorf("subscribe logs: %w", err)
		}
		defer logSub.Unsubscribe()
		logErr = logSub.Err()
	}

	head, err := m.headNumber(ctx, client)
	if err != nil {
		return err
	}
	m.noteHead(head)
	if len(leaders) > 0 {
		if err := m.backfill(ctx, client, leaders, head); err != nil {
			return err
		}
	}
	m.subscribed.Store(true)
	m.lastErr.Store(nil)
	m.log.Info("subscribed", zap.Int("leaders", len(leaders)), zap.Int("exchanges", len(m.opts.Exchanges)), zap.Uint64("head", head))
	if m.opts.OnSubscribed != nil {
		m.opts.OnSubscribed()
	}

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-m.kick:
			return nil
		case err := <-headSub.Err():
			return fmt.Errorf("head subscription: %w", errOrClosed(err))
		case err := <-logErr:
			return fmt.Errorf("log subscription: %w", errOrClosed(err))
		case h := <-heads:
			if h != nil && h.Number != nil {
				m.noteHead(h.Number.Uint64())
			}
		case l := <-logs:
			if err := m.process(ctx, &l); err != nil {
				return err
			}
		}
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
	return h.Number.Uint64(), nil
}

func (m *Monitor) noteHead(n uint64) {
	if n > m.head.Load() || m.headAt.Load() == 0 {
		m.head.Store(n)
		m.headAt.Store(int64(m.clock.Now()))
	}
}

// backfill fetches the leaders' logs from the next unprocessed block to head in bounded chunks.
func (m *Monitor) backfill(ctx context.Context, c chain.Client, leaders []common.Address, head uint64) error {
	from := m.nextBlock.Load()
	if from == 0 { // first start without start_block: begin at the head
		from = head
	}
	for from <= head {
		to := min(from+m.opts.BackfillChunk-1, head)
		rctx, cancel := context.WithTimeout(ctx, m.opts.RPCTimeout)
		logs, err := c.FilterLogs(rctx, m.query(leaders, new(big.Int).SetUint64(from), new(big.Int).SetUint64(to)))
		cancel()
		if err != nil {
			return fmt.Errorf("backfill blocks %d-%d: %w", from, to, err)
		}
		if len(logs) > 0 {
			m.log.Info("backfilled", zap.Uint64("from", from), zap.Uint64("to", to), zap.Int("logs", len(logs)))
		}
		for i := range logs {
			if err := m.process(ctx, &logs[i]); err != nil {
				return err
			}
		}
		from = to + 1
	}
	if head+1 > m.nextBlock.Load() {
		m.nextBlock.Store(head + 1)
	}
	return nil
}

// process takes one log through decode and dedup to the handler.
func (m *Monitor) process(ctx context.Context, l *types.Log) error {
	m.stats.logs.Add(1)
	key := dedup.KeyOf(l.TxHash, l.Index)
	if l.Removed {
		m.stats.removed.Add(1)
		m.opts.Dedup.Forget(key)
		m.log.Warn("leader fill reverted by a reorg", zap.Stringer("tx", l.TxHash), zap.Uint("log_index", l.Index), zap.Uint64("block", l.BlockNumber))
		return nil
	}
	f, err := polymarket.DecodeOrderFilled(l)
	if err != nil {
		if errors.Is(err, polymarket.ErrNotOrderFilled) {
			m.stats.ignored.Add(1)
			return nil
		}
		m.stats.malformed.Add(1)
		m.warn.Warn("malformed log skipped", zap.Stringer("tx", l.TxHash), zap.Uint("log_index", l.Index), zap.Error(err))
		return nil
	}
	if !m.exchanges[f.Exchange] || !m.isLeader(f.Maker) {
		// The node filters by address and topic; a log that still gets here is not ours.
		m.stats.ignored.Add(1)
		m.warn.Warn("log from an unexpected exchange or maker skipped", zap.Stringer("address", f.Exchange), zap.Stringer("maker", f.Maker))
		return nil
	}
	if m.opts.Dedup.Seen(key) {
		m.stats.duplicates.Add(1)
		return nil
	}
	// Resume from this block, not the next: a reconnect in the middle of a block's logs
	// must fetch the rest of them, and the dedup cache drops the ones already handled.
	if l.BlockNumber > m.nextBlock.Load() {
		m.nextBlock.Store(l.BlockNumber)
	}
	m.stats.fills.Add(1)
	if err := m.opts.Handler(ctx, f); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%w: %w", errHandler, err)
	}
	return nil
}

func (m *Monitor) isLeader(a common.Address) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Contains(m.leaders, a)
}
