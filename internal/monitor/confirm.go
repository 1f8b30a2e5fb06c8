package monitor

// This file takes each log to the Handler: classified, deduplicated, held back until it is
// Confirmations blocks deep, and dropped or reported when a reorg removes it.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/dedup"
	"github.com/polybot/polybot/internal/polymarket"
)

type pendingFill struct {
	log  types.Log
	fill polymarket.Fill
}

type outcome int

const (
	outSkipped outcome = iota // malformed, foreign, removed or duplicate
	outPending                // waits for confirmations
	outHandled                // handed to the Handler
)

// accept takes one log through classification and dedup to the handler, or to the
// confirmation buffer.
func (m *Monitor) accept(ctx context.Context, l *types.Log) (outcome, error) {
	m.stats.logs.Add(1)
	v := m.classify(l)
	v.Fill.SeenAt = time.Now()
	if l.Removed {
		m.stats.removed.Add(1)
		if v.Kind == LeaderFill {
			f := v.Fill
			f.Nth, _ = m.nth(ctx, l, f.OrderHash) // a removed log's Nth needs no node
			m.removed(dedup.FillKey(l.TxHash, f.OrderHash, f.Nth), l, f)
		}
		return outSkipped, nil
	}
	switch v.Kind {
	case OtherEvent:
		m.stats.ignored.Add(1)
		return outSkipped, nil
	case Malformed:
		m.stats.malformed.Add(1)
		m.warn.Warn("malformed log skipped", zap.Stringer("tx", l.TxHash), zap.Uint("log_index", l.Index), zap.Error(v.Err))
		return outSkipped, nil
	case OtherExchange, OtherMaker:
		// The node filters by address and topic; a log that still gets here is not ours.
		m.stats.ignored.Add(1)
		m.warn.Warn("log from an unexpected exchange or maker skipped", zap.Stringer("address", v.Fill.Exchange), zap.Stringer("maker", v.Fill.Maker))
		return outSkipped, nil
	}
	return m.take(ctx, l, v.Fill)
}

// take hands on a leader fill, or holds it back until it is Confirmations blocks deep.
func (m *Monitor) take(ctx context.Context, l *types.Log, f polymarket.Fill) (outcome, error) {
	var err error
	if f.Nth, err = m.nth(ctx, l, f.OrderHash); err != nil {
		return outSkipped, err
	}
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
