package app

import (
	"context"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/resolution"
	"github.com/polybot/polybot/internal/secrets"
	"github.com/polybot/polybot/internal/store"
)

// resolutionWatcher builds the watcher that closes positions in resolved markets, redeems their
// winnings in live trading and marks open positions for the daily-loss breaker. With a CLOB
// (mode live, or live.paper_book) it learns each token's market from the CLOB; in plain paper
// mode from the chain (the matchOrders call of a leader fill in the token, fills), and the
// positions keep their last fill price as their mark.
func resolutionWatcher(cfg *config.Config, st *store.Store, marks *resolution.Marks, labels *resolution.Labels, known *resolution.Conditions,
	fills *resolution.FillTxs, dial func(context.Context) (chain.Client, error),
	onResolved func(store.Position), log *zap.Logger) (*resolution.Watcher, error) {
	if !cfg.Resolution.Enabled {
		return nil, nil
	}
	if cfg.Mode != config.ModeLive && !cfg.Live.PaperBook {
		log.Info("resolved markets are watched; their markets are learnt from the chain (no CLOB in plain paper mode)")
		return resolution.New(resolution.Options{
			Dial:  func(ctx context.Context) (resolution.Chain, error) { return dial(ctx) },
			CTF:   cfg.Resolution.CTF,
			Store: st,
			Markets: resolution.ChainMarkets{
				Dial: func(ctx context.Context) (resolution.TxReader, error) {
					c, err := dial(ctx)
					if err != nil {
						return nil, err
					}
					tr, ok := c.(resolution.TxReader)
					if !ok {
						c.Close()
						return nil, fmt.Errorf("the chain connection cannot read transactions")
					}
					return tr, nil
				},
				Fills: fills, Stored: st,
			},
			Marks:         marks,
			OnResolved:    onResolved,
			Interval:      cfg.Resolution.Interval,
			Lookback:      cfg.Resolution.LookbackBlocks,
			CatchUp:       cfg.Resolution.CatchUpBlocks,
			Chunk:         cfg.Chain.BackfillChunk,
			Confirmations: cfg.Chain.Confirmations,
			MaxMarks:      cfg.Resolution.MaxMarks,
			RPCTimeout:    cfg.Chain.RPCTimeout,
			Log:           log,
		})
	}
	c, err := clob.NewClient(clob.Options{BaseURL: cfg.Live.ClobURL, ChainID: int64(cfg.Chain.ChainID),
		Timeout: cfg.Live.RequestTimeout, Log: log.Named("clob")})
	if err != nil {
		return nil, fmt.Errorf("resolution watcher: %w", err)
	}
	opts := resolution.Options{
		Dial:          func(ctx context.Context) (resolution.Chain, error) { return dial(ctx) },
		CTF:           cfg.Resolution.CTF,
		Store:         st,
		Markets:       resolution.CLOBMarkets{Client: c, Labels: labels, Known: known},
		Marks:         marks,
		Books:         c,
		OnResolved:    onResolved,
		Interval:      cfg.Resolution.Interval,
		Lookback:      cfg.Resolution.LookbackBlocks,
		CatchUp:       cfg.Resolution.CatchUpBlocks,
		Chunk:         cfg.Chain.BackfillChunk,
		Confirmations: cfg.Chain.Confirmations,
		MaxMarks:      cfg.Resolution.MaxMarks,
		RPCTimeout:    cfg.Chain.RPCTimeout,
		Log:           log,
	}
	if cfg.Mode == config.ModeLive && cfg.Live.AutoRedeem {
		if cfg.Live.SignatureType != 0 {
			log.Warn("winnings are not redeemed automatically: live.signature_type is not 0 (EOA), so the outcome tokens sit in a wallet polybot cannot move; redeem on polymarket.com",
				zap.Int("signature_type", cfg.Live.SignatureType))
		} else {
			key, err := secrets.LoadKey(secrets.KeyOptions{KeyFile: cfg.Live.KeyFile, KeystoreFile: cfg.Live.KeystoreFile, PassphraseFile: cfg.Live.PassphraseFile})
			if err != nil {
				return nil, fmt.Errorf("live.auto_redeem: %w", err)
			}
			opts.Redeemer = &redeemer{dial: dial, key: resolution.TxRedeemer{Key: key, Standard: cfg.Live.RedeemCTF,
				NegRisk: cfg.Live.RedeemNegRisk, Collateral: cfg.Live.RedeemCollateral}}
		}
	}
	return resolution.New(opts)
}

// redeemer sends redemptions through a connection of its own, dialled for each one (they
// are rare).
type redeemer struct {
	dial func(context.Context) (chain.Client, error)
	key  resolution.TxRedeemer
}

func (r *redeemer) Redeem(ctx context.Context, p store.Position) (common.Hash, error) {
	c, err := r.dial(ctx)
	if err != nil {
		return common.Hash{}, fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	tc, ok := c.(resolution.TxClient)
	if !ok {
		return common.Hash{}, fmt.Errorf("the chain connection cannot send transactions")
	}
	tx := r.key
	tx.Client = tc
	return tx.Redeem(ctx, p)
}

// pruneMarks drops, every interval, the marks of tokens polybot holds no position in: leader
// fills mark every token they trade, and only the held ones are needed.
func pruneMarks(ctx context.Context, marks *resolution.Marks, st *store.Store, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		open, err := st.Positions()
		if err != nil {
			continue // the store's own health checks report it
		}
		keep := make(map[string]bool, len(open))
		for _, p := range open {
			keep[p.Token] = true
		}
		marks.Retain(keep)
	}
}

// submit hands a leader fill to the executor, after taking its price as its token's mark: the
// latest trade, and the only price the paper broker without a book knows.
func (a *App) submit(ctx context.Context, f polymarket.Fill) error {
	a.marks.ObserveFill(&f)
	a.fillTxs.Note(&f)
	return a.executor.Submit(ctx, f)
}

// onResolved is called when a resolved market closed a position: no leader trades its token
// again, so the leaders' positions in it leave the store's leader book.
func (a *App) onResolved(p store.Position) {
	n, err := a.store.PruneLeaderToken(p.Token)
	if err != nil {
		a.log.Warn("leader positions in a resolved market not pruned; compaction drops them later", zap.String("token", p.Token), zap.Error(err))
		return
	}
	a.log.Debug("resolved market's position closed", zap.String("token", p.Token), zap.Int("leader_positions_pruned", n))
}
