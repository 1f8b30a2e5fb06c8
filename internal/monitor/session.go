package monitor

// This file runs the connection to the node: connect, subscribe, backfill the gap with bounded
// eth_getLogs calls, stream the logs (or poll a node without subscriptions), and the silence
// check of a subscription that says nothing.

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/polymarket"
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
	leaders := m.begin()

	// Subscribe first, then backfill up to the head: a log mined in between arrives on both
	// paths and the dedup cache drops the second copy, so the seam has no gap.
	s := conn{client: client, leaders: leaders, heads: make(chan *types.Header, 64), logs: make(chan types.Log, 256)}
	headSub, err := client.SubscribeNewHead(ctx, s.heads)
	if errors.Is(err, rpc.ErrNotificationsUnsupported) {
		return m.poll(ctx, client, leaders)
	}
	if err != nil {
		return false, fmt.Errorf("subscribe new heads: %w", err)
	}
	m.polling.Store(false)
	defer headSub.Unsubscribe()
	s.headSub = headSub
	if len(leaders) > 0 {
		logSub, err := client.SubscribeFilterLogs(ctx, m.query(leaders, nil, nil), s.logs)
		if err != nil {
			return false, fmt.Errorf("subscribe logs: %w", err)
		}
		defer logSub.Unsubscribe()
		s.logErr = logSub.Err()
	}
	if err := m.backfill(ctx, client, leaders); err != nil {
		return false, err
	}
	return true, m.stream(ctx, &s)
}

// begin prepares a session: it takes the current leaders and a pending rewind, and drops the
// fills waiting for confirmations.
func (m *Monitor) begin() []common.Address {
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
	return leaders
}

// backfill processes the leaders' logs from the checkpoint up to the head, moves the checkpoint
// and reports the connection up.
func (m *Monitor) backfill(ctx context.Context, client chain.Client, leaders []common.Address) error {
	head, err := m.headNumber(ctx, client)
	if err != nil {
		return err
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
			return err
		}
	} else {
		m.advance(m.safe(head, 0))
	}
	m.quietFrom = head + 1
	m.lastLogAt = m.clock.Now()
	m.confirmAt = m.lastLogAt
	m.setUp()
	m.log.Info("subscribed", zap.Int("leaders", len(leaders)), zap.Int("exchanges", len(m.opts.Exchanges)),
		zap.Uint64("head", head), zap.Uint64("checkpoint", m.checkpoint.Load()))
	if m.opts.OnSubscribed != nil {
		m.opts.OnSubscribed()
	}
	return nil
}

// conn is one subscribed session's connection and subscriptions.
type conn struct {
	client  chain.Client
	leaders []common.Address
	heads   chan *types.Header
	headSub ethereum.Subscription
	logs    chan types.Log
	logErr  <-chan error // nil without leaders
}

// stream takes the subscriptions' heads and logs until ctx ends (nil), a resubscription is
// requested (nil) or the connection fails.
func (m *Monitor) stream(ctx context.Context, s *conn) error {
	for {
		select {
		case <-ctx.Done():
			m.finish(ctx, s.client, s.leaders)
			return nil
		case <-m.kick:
			return nil
		case err := <-s.headSub.Err():
			return fmt.Errorf("head subscription: %w", errOrClosed(err))
		case err := <-s.logErr:
			return fmt.Errorf("log subscription: %w", errOrClosed(err))
		case h := <-s.heads:
			if h == nil || h.Number == nil {
				continue
			}
			// Logs delivered before this head belong to earlier blocks (or to this one): take
			// them first, so the checkpoint below never passes a log still in the channel.
			if err := m.drain(ctx, s.logs); err != nil {
				return err
			}
			if err := m.onHead(ctx, s.client, s.leaders, h.Number.Uint64()); err != nil {
				return err
			}
		case l := <-s.logs:
			if err := m.live(ctx, &l); err != nil {
				return err
			}
		}
	}
}

// drain takes the logs already delivered.
func (m *Monitor) drain(ctx context.Context, logs <-chan types.Log) error {
	for {
		select {
		case l := <-logs:
			if err := m.live(ctx, &l); err != nil {
				return err
			}
		default:
			return nil
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
			if len(leaders) == 0 {
				m.advance(to)
			}
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

// scan fetches the leaders' logs of blocks from..to in bounded chunks, processes them in order
// and moves the checkpoint after each chunk.
func (m *Monitor) scan(ctx context.Context, c chain.Client, leaders []common.Address, from, to uint64) error {
	return m.scanWith(ctx, c, leaders, from, to, func(l *types.Log) error {
		_, err := m.accept(ctx, l)
		return err
	})
}

// The checkpoint moves only by the bound read of each chunk's blocks (bind): a range answer is
// a first report. Once a block could not be read bound, the rest of the scan only discovers.
func (m *Monitor) scanWith(ctx context.Context, c chain.Client, leaders []common.Address, from, to uint64, each func(*types.Log) error) error {
	limit := m.safe(m.head.Load(), 0)
	binding := true
	for from <= to {
		end := min(from+m.chunk.Blocks()-1, to)
		rctx, cancel := context.WithTimeout(ctx, m.opts.RPCTimeout)
		logs, err := c.FilterLogs(rctx, m.query(leaders, new(big.Int).SetUint64(from), new(big.Int).SetUint64(end)))
		cancel()
		if err != nil {
			if chain.IsRangeLimited(err) && m.chunk.Refused() {
				m.stats.chunkHalvings.Add(1)
				m.log.Info("node refused the eth_getLogs range; halving it", zap.Uint64("from", from), zap.Uint64("to", end),
					zap.Uint64("chunk", m.chunk.Blocks()), zap.Error(err))
				continue
			}
			return fmt.Errorf("get logs of blocks %d-%d: %w", from, end, err)
		}
		m.chunk.Succeeded()
		if len(logs) > 0 {
			m.log.Info("fetched logs", zap.Uint64("from", from), zap.Uint64("to", end), zap.Int("logs", len(logs)))
		}
		slices.SortStableFunc(logs, func(a, b types.Log) int {
			if a.BlockNumber != b.BlockNumber {
				return cmpU(a.BlockNumber, b.BlockNumber)
			}
			return cmpU(uint64(a.Index), uint64(b.Index))
		})
		handed := make(map[logID]bool, len(logs))
		for i := range logs {
			if err := each(&logs[i]); err != nil {
				return err
			}
			handed[logID{logs[i].BlockHash, logs[i].Index}] = true
		}
		if binding {
			// The bound read sees these logs again; each is offered the ones the range missed.
			again := func(l *types.Log) error {
				if handed[logID{l.BlockHash, l.Index}] {
					return nil
				}
				return each(l)
			}
			if err := m.bind(ctx, c, leaders, m.next.Load(), min(end, limit), again); err != nil {
				if !errors.Is(err, errHeld) {
					return err
				}
				binding = false
			}
		}
		m.noteProgress(from, end, to)
		from = end + 1
	}
	return nil
}

// logID names one log of one block.
type logID struct {
	block common.Hash
	index uint
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
