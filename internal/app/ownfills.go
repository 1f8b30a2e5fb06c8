package app

import (
	"context"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/executor"
	"github.com/polybot/polybot/internal/monitor"
	"github.com/polybot/polybot/internal/ownfills"
)

// newOwnFills builds the watcher of polybot's own fills on chain when polybot trades live:
// the exchanges' OrderFilled logs whose maker is the trading address, which confirm or
// correct what the CLOB reported of each copy. In mode paper no order reaches the chain, so
// there is nothing to watch.
func (a *App) newOwnFills(opts Options, live *broker.CLOB, dial, fallbackDial func(context.Context) (chain.Client, error)) error {
	if live == nil {
		return nil
	}
	cfg := opts.Config
	start := cfg.Chain.StartBlock
	if b, ok, err := a.store.Checkpoint(); err == nil && ok {
		start = b + 1 // a first start after an upgrade: from where the leaders' fills stand
	}
	l, err := ownfills.New(ownfills.Options{
		Monitor: monitor.Options{
			Dial:           dial,
			FallbackDial:   fallbackDial,
			Exchanges:      cfg.Chain.Exchanges,
			StartBlock:     start,
			Confirmations:  cfg.Chain.Confirmations,
			HeadStaleAfter: cfg.Chain.HeadStaleAfter,
			SilenceAfter:   cfg.Chain.SilenceAfter,
			PollInterval:   cfg.Chain.PollInterval,
			BackfillChunk:  cfg.Chain.BackfillChunk,
			RPCTimeout:     cfg.Chain.RPCTimeout,
			MaxBackoff:     cfg.Chain.MaxBackoff,
		},
		Address: live.Maker(),
		Store:   a.store,
		Log:     opts.Log.Named("ownfills"),
		Clock:   opts.Clock,
	})
	if err != nil {
		return err
	}
	a.ownFills = l
	return nil
}

// ownFillsLedger is the own fills' ledger for the executor; nil (no interface value) when
// there is none.
func (a *App) ownFillsLedger() executor.OwnFills {
	if a.ownFills == nil {
		return nil
	}
	return a.ownFills
}

// OwnFills is the watcher of polybot's own fills on chain; nil in mode paper.
func (a *App) OwnFills() *ownfills.Ledger { return a.ownFills }
