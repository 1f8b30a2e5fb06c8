package app

import (
	"context"

	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/reorgcheck"
	"github.com/polybot/polybot/internal/store"
)

// newReorgCheck builds the checker that finds decided leader fills a reorg removed for good
// (internal/reorgcheck). A removed fill gets settleBlocks blocks past its own (at least the
// chain.confirmations) to be included again before it is recorded as orphaned.
func (a *App) newReorgCheck(cfg *config.Config, dial func(context.Context) (chain.Client, error), log *zap.Logger) (*reorgcheck.Checker, error) {
	return reorgcheck.New(reorgcheck.Options{
		Dial:     func(ctx context.Context) (reorgcheck.Chain, error) { return dial(ctx) },
		Store:    a.store,
		Settle:   max(settleBlocks, cfg.Chain.Confirmations),
		OnOrphan: a.onOrphan,
		Log:      log,
		Clock:    a.clock,
	})
}

// settleBlocks is how long a removed leader fill may take to be included again: about a minute
// of Polygon blocks, far beyond the time a dropped transaction takes to be mined again.
const settleBlocks = 32

// orphanedEver is the store's count of leader fills recorded as orphaned (0 if unreadable).
func (a *App) orphanedEver() uint64 {
	n, err := a.store.OrphanedCount()
	if err != nil {
		a.log.Debug("orphaned count unreadable", zap.Error(err))
	}
	return n
}

// onOrphan counts a decided leader fill that a reorg removed for good (the store recorded it).
func (a *App) onOrphan(f store.FillBlock) {
	a.orphaned.Add(1)
}
