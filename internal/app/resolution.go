package app

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/resolution"
	"github.com/polybot/polybot/internal/secrets"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/wallet"
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
		key, err := secrets.LoadKey(secrets.KeyOptions{KeyFile: cfg.Live.KeyFile, KeystoreFile: cfg.Live.KeystoreFile, PassphraseFile: cfg.Live.PassphraseFile})
		if err != nil {
			return nil, fmt.Errorf("live.auto_redeem: %w", err)
		}
		r := &redeemer{dial: dial, key: key, sigType: cfg.Live.SignatureType, funder: cfg.Live.Funder,
			standard: cfg.Live.RedeemCTF, negRisk: cfg.Live.RedeemNegRisk, collateral: cfg.Live.RedeemCollateral,
			sources: []common.Address{cfg.Resolution.CTF, polymarket.NegRiskAdapter}}
		if funder, err := r.funderOf(); err != nil {
			log.Warn("winnings are not redeemed automatically; redeem them on polymarket.com", zap.Error(err))
		} else {
			if cfg.Live.Funder != (common.Address{}) && cfg.Live.Funder != funder {
				log.Warn("the wallet polybot redeems from is not live.funder: the redemption pays the wallet the owner key controls",
					zap.Int("signature_type", cfg.Live.SignatureType), zap.Stringer("redeems_for", funder), zap.Stringer("live_funder", cfg.Live.Funder))
			}
			if cfg.Live.SignatureType == int(polymarket.WalletDeposit) && cfg.Chain.ChainID == polymarket.PolygonChainID {
				log.Warn("winnings are redeemed from the deposit wallet by a batch the owner key signs and sends to the wallet itself; "+
					"on Polygon that entry point is unverified (Polymarket's relayer is the documented path): check the first redemption on polymarket.com",
					zap.Stringer("deposit_wallet", funder), zap.String("docs", "docs/live-trading.md#deposit-wallets"))
			}
			opts.Redeemer = r
		}
	}
	return resolution.New(opts)
}

// redeemer sends redemptions through the funder's wallet and checks their receipts, over a
// connection of its own dialled for each call (they are rare).
type redeemer struct {
	dial                          func(context.Context) (chain.Client, error)
	key                           *ecdsa.PrivateKey
	sigType                       int
	funder                        common.Address
	standard, negRisk, collateral common.Address
	sources                       []common.Address
}

// redeemClient is what a redemption needs of a node: send a transaction, read a receipt, call
// a contract.
type redeemClient interface {
	wallet.Client
	resolution.ReceiptReader
}

// caller is the wallet of live.signature_type over c.
func (r *redeemer) caller(c wallet.Client) (wallet.Caller, error) {
	switch r.sigType {
	case 0:
		return wallet.EOA{Client: c, Key: r.key}, nil
	case 1:
		return wallet.Proxy{Client: c, Key: r.key}, nil
	case 2:
		return wallet.Safe{Client: c, Key: r.key, Address: r.funder}, nil
	case 3:
		// The owner signs the wallet's batch and sends it to the wallet itself (wallet.DepositWallet:
		// on Polygon this entry point is unverified, the official path is Polymarket's relayer).
		if r.funder == (common.Address{}) {
			return nil, errors.New("live.signature_type 3 needs live.funder, the deposit wallet's address, to redeem from")
		}
		if c == nil { // funderOf: no node needed
			return wallet.DepositWallet{Key: r.key, Wallet: r.funder}, nil
		}
		dc, ok := c.(wallet.DepositClient)
		if !ok {
			return nil, errors.New("the chain connection cannot read the deposit wallet's nonce or the newest block")
		}
		return wallet.DepositWallet{Client: dc, Key: r.key, Wallet: r.funder}, nil
	}
	return nil, fmt.Errorf("live.signature_type %d has no wallet to redeem from", r.sigType)
}

// funderOf is the address the redemptions pay, as the wallet derives it.
func (r *redeemer) funderOf() (common.Address, error) {
	c, err := r.caller(nil)
	if err != nil {
		return common.Address{}, err
	}
	return c.Funder(), nil
}

func (r *redeemer) with(ctx context.Context, fn func(*resolution.ChainRedeemer) error) error {
	c, err := r.dial(ctx)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	rc, ok := c.(redeemClient)
	if !ok {
		return errors.New("the chain connection cannot send transactions or read receipts")
	}
	w, err := r.caller(rc)
	if err != nil {
		return err
	}
	return fn(&resolution.ChainRedeemer{Caller: w, Receipts: rc, Standard: r.standard, NegRisk: r.negRisk,
		Collateral: r.collateral, PayoutSources: r.sources})
}

// Redeem implements resolution.Redeemer.
func (r *redeemer) Redeem(ctx context.Context, p store.Position) (tx common.Hash, err error) {
	err = r.with(ctx, func(cr *resolution.ChainRedeemer) error {
		tx, err = cr.Redeem(ctx, p)
		return err
	})
	return tx, err
}

// Confirm implements resolution.Redeemer.
func (r *redeemer) Confirm(ctx context.Context, p store.Position, tx common.Hash) (paid uint64, err error) {
	err = r.with(ctx, func(cr *resolution.ChainRedeemer) error {
		paid, err = cr.Confirm(ctx, p, tx)
		return err
	})
	return paid, err
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

// redemptionStatus is the redemptions' part of GET /status; nil when nothing was to redeem.
func redemptionStatus(st *store.Store, scrub func(string) string) *admin.Redemptions {
	r, err := st.Redemptions()
	if err != nil || r.Paid+r.Waiting+r.Checking+r.Failing == 0 {
		return nil
	}
	out := admin.Redemptions(r)
	out.LastError = scrub(out.LastError)
	return &out
}
