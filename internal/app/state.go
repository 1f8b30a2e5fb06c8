package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/dedup"
	"github.com/polybot/polybot/internal/executor"
	"github.com/polybot/polybot/internal/monitor"
	"github.com/polybot/polybot/internal/store"
)

// This file wires the state store: opening it, the checkpoint the monitor saves in it, the
// recovery of pending intents at start, and the figures the operations endpoints show.

// StoreOptions are the store options of cfg.
func StoreOptions(cfg *config.Config) store.Options {
	return store.Options{
		Dir:                   cfg.StateDir,
		ResetHourUTC:          cfg.Risk.ResetHourUTC,
		DecisionsMax:          cfg.Store.DecisionsMax,
		DecisionsMaxAge:       cfg.Store.DecisionsMaxAge,
		IntentsMaxAge:         cfg.Store.IntentsMaxAge,
		ClosedPositionsMaxAge: cfg.Store.ClosedPositionsMaxAge,
	}
}

// openStore opens the store in state_dir. A checkpoint left in the file of earlier versions
// (legacyCheckpointPath) is carried over when the store has none.
func openStore(cfg *config.Config, now func() time.Time, log *zap.Logger) (*store.Store, error) {
	opts := StoreOptions(cfg)
	opts.Now = now
	st, err := store.Open(opts)
	if err != nil {
		return nil, err
	}
	switch oc := st.OpenCompaction(); {
	case oc.Err != nil:
		log.Warn("state store not compacted at start; running on the file as it is", zap.Error(oc.Err),
			zap.Bool("migration", oc.Migrated), zap.Int64("file_bytes", oc.Before))
	case oc.Before > 0:
		log.Info("state store compacted at start", zap.Bool("migrated", oc.Migrated),
			zap.Int64("bytes_before", oc.Before), zap.Int64("bytes_after", oc.After))
	}
	if _, ok, err := st.Checkpoint(); err == nil && !ok {
		old := legacyCheckpointPath(cfg.StateDir, cfg.Chain.ChainID)
		if b, ok, err := loadLegacyCheckpoint(old); err == nil && ok {
			if err := st.SetCheckpoint(b); err != nil {
				_ = st.Close()
				return nil, fmt.Errorf("carry over checkpoint: %w", err)
			}
			log.Info("checkpoint carried over into the store", zap.String("from", old), zap.Uint64("block", b))
		}
	}
	return st, nil
}

// legacyCheckpointPath is where earlier versions kept the checkpoint of chain chainID: a JSON
// file beside the store, with the chain id in its name.
func legacyCheckpointPath(stateDir string, chainID uint64) string {
	return filepath.Join(stateDir, fmt.Sprintf("chain-%d.checkpoint.json", chainID))
}

// loadLegacyCheckpoint reads the block in a checkpoint file of earlier versions
// ({"version":1,"block":N}); ok is false when there is no such file.
func loadLegacyCheckpoint(path string) (block uint64, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read checkpoint: %w", err)
	}
	var c struct {
		Version int    `json:"version"`
		Block   uint64 `json:"block"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return 0, false, fmt.Errorf("checkpoint %s does not parse: %w", path, err)
	}
	if c.Version != 1 {
		return 0, false, fmt.Errorf("checkpoint %s has version %d, want 1", path, c.Version)
	}
	return c.Block, true, nil
}

// settledCheckpoint saves the monitor's checkpoint in the store, held back to the block before
// the oldest fill still queued or being copied: a crash then never skips a fill that was read
// from the chain and not yet decided.
type settledCheckpoint struct {
	inner   store.Checkpointer
	settled interface{ Settled(uint64) uint64 }
}

var _ monitor.Checkpointer = settledCheckpoint{}

func (c settledCheckpoint) Load() (uint64, bool, error) { return c.inner.Load() }

func (c settledCheckpoint) Save(block uint64) error { return c.inner.Save(c.settled.Settled(block)) }

// resolverFor picks how pending intents are resolved at start: override when set; in paper
// mode by placing the order again through the paper broker at the leader's price (the same
// intent gives the same fill; a paper book's fill would depend on today's book); in live mode
// by the live broker's lookup when it offers one (executor.OrderResolver), otherwise nil: each
// pending intent is left for manual review and logged.
func resolverFor(override executor.Resolver, b executor.Broker, cfg *config.Config) executor.Resolver {
	switch {
	case override != nil:
		return override
	case cfg.Mode != config.ModeLive:
		return executor.Replace{Broker: broker.Paper{FeeRateBps: cfg.Live.PaperFeeRateBps}}
	}
	if r, ok := b.(executor.OrderResolver); ok {
		return executor.LookUp{Broker: r}
	}
	return nil
}

// recoverWindow is how far back from the newest decision recover looks for fills already
// decided: far longer than any fill waits in the executor.
const recoverWindow = time.Hour

// recover settles the copies a crash left pending and marks the fills decided shortly before
// the stop as seen, so that the monitor, which re-reads the chain from its checkpoint, hands
// none of them to the executor again (a copy is caught by its intent in any case; this keeps a
// skip from being decided twice).
func (a *App) recover(ctx context.Context) error {
	r, err := a.executor.Recover(ctx, a.resolver)
	if err != nil {
		return fmt.Errorf("recover pending copies: %w", err)
	}
	if r.Resolved > 0 || r.Review > 0 || r.Tracked > 0 {
		a.log.Info("pending copies recovered", zap.Int("resolved", r.Resolved), zap.Int("manual_review", r.Review),
			zap.Int("tracked", r.Tracked), zap.Int("never_sent_resent", r.Resent), zap.Int("never_sent_too_old", r.TooOld),
			zap.Int("never_sent_not_journaled", r.NotJournaled))
	}
	last, err := a.store.Decisions(time.Time{}, 1)
	if err != nil {
		return fmt.Errorf("read the decision log: %w", err)
	}
	if len(last) == 0 {
		return nil
	}
	recent, err := a.store.Decisions(last[0].Time.Add(-recoverWindow), a.cfg.Load().Dedup.Size)
	if err != nil {
		return fmt.Errorf("read the decision log: %w", err)
	}
	for _, d := range recent {
		if d.OrderHash != (common.Hash{}) {
			a.dedup.Seen(dedup.FillKey(d.Tx, d.OrderHash, d.Nth))
		}
	}
	a.log.Debug("fills decided before the start marked as seen", zap.Int("fills", len(recent)))
	return nil
}

// book is what the operations endpoints show of the positions, read from the store.
type book struct {
	open          int
	copiesToday   uint64
	realisedToday int64
	loss          store.Breaker // the daily-loss breaker of the trading day
	pnl           admin.PnL     // realised today and all-time, unrealised, per leader
	err           error
}

func (a *App) bookStats() book {
	ps, err := a.store.Positions()
	if err != nil {
		return book{err: err}
	}
	now := a.now()
	d, err := a.store.Daily(now)
	loss, lerr := a.store.Breaker(now)
	pnl, perr := a.adminPnL()
	return book{open: len(ps), copiesToday: d.Copies, realisedToday: d.Realised, loss: loss, pnl: pnl, err: errors.Join(err, lerr, perr)}
}

// Book reads polybot's positions from the store.
func (a *App) Book() Book { return Book{a.store} }

// Book is a read view of the positions in the store.
type Book struct{ st *store.Store }

// Held is the number of shares (base units) held in token; 0 when none or unreadable.
func (b Book) Held(token string) uint64 {
	p, ok, err := b.st.Position(token)
	if err != nil || !ok {
		return 0
	}
	return p.Shares
}
