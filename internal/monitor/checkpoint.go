package monitor

// This file keeps the checkpoint: where a run resumes, the eth_getLogs check that moves it
// over confirmed blocks only, and the last check at shutdown.

import (
	"context"
	"errors"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/ethereum/go-ethereum/core/types"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/dedup"
)

// Checkpointer persists the last block whose logs are fully processed: every leader fill in it
// and before it was handed to the Handler and accepted. The monitor resumes after it.
type Checkpointer interface {
	// Load returns the saved block; ok is false when nothing was saved yet.
	Load() (block uint64, ok bool, err error)
	Save(block uint64) error
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
	err := m.bind(ctx, c, leaders, from, to, func(l *types.Log) error {
		got, err := m.accept(ctx, l)
		if got == outHandled {
			late++
		}
		return err
	})
	if errors.Is(err, errHeld) { // read again at the next check
		err = nil
	}
	if late > 0 {
		m.log.Info("checkpoint check found leader fills the subscription had not delivered yet; handed them on",
			zap.Int("fills", late), zap.Uint64("from", from), zap.Uint64("to", to))
	}
	return err
}

// finish runs when ctx ends: the last head's logs may all have been handled already, which the
// lagging checkpoint does not know. A bound read of the blocks since the checkpoint tells; the
// checkpoint moves up to the first block with a fill not handled (or not read bound), so a
// restart neither repeats nor skips a fill.
func (m *Monitor) finish(ctx context.Context, c chain.Client, leaders []common.Address) {
	to := m.safe(m.head.Load(), 0)
	from := m.next.Load()
	if len(leaders) == 0 || from > to {
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(m.opts.RPCTimeout, 5*time.Second))
	defer cancel()
	err := m.bind(fctx, c, leaders, from, to, func(l *types.Log) error {
		v := m.classify(l)
		if v.Kind != LeaderFill {
			return nil
		}
		f := v.Fill
		n, err := m.nth(fctx, l, f.OrderHash)
		if err != nil {
			return errNotHandled // its identity cannot be read now: the block holds the checkpoint
		}
		if !m.opts.Dedup.Contains(dedup.FillKey(l.TxHash, f.OrderHash, n)) {
			return errNotHandled
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNotHandled) {
		m.log.Debug("final checkpoint check stopped", zap.Error(err))
	}
}

// errNotHandled stops the final check at a fill not handed on yet.
var errNotHandled = errors.New("leader fill not handled")

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
