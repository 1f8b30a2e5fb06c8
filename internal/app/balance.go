package app

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/executor"
)

// balanceTTL is how long a pUSD balance read from the CLOB sizes percent_balance BUYs before it
// is read again; a fill makes the next BUY read it at once.
const balanceTTL = 30 * time.Second

// fundsCheckTimeout bounds the balance and allowance check at start.
const fundsCheckTimeout = 30 * time.Second

// balanceClient is the part of the CLOB client the live balance uses (*clob.Client).
type balanceClient interface {
	BalanceAllowance(ctx context.Context, assetType, tokenID string, sigType int) (*clob.BalanceAllowance, error)
	UpdateBalanceAllowance(ctx context.Context, assetType, tokenID string, sigType int) error
}

// liveBalance is the wallet's pUSD balance as the CLOB reports it (GET /balance-allowance),
// cached for ttl and dropped after each fill.
type liveBalance struct {
	client  balanceClient
	sigType int
	ttl     time.Duration
	now     func() time.Time

	mu    sync.Mutex
	value uint64
	at    time.Time
	valid bool
}

// Balance is the available pUSD in base units (executor.Balance).
func (b *liveBalance) Balance(ctx context.Context) (uint64, error) {
	b.mu.Lock()
	if b.valid && b.now().Sub(b.at) < b.ttl {
		v := b.value
		b.mu.Unlock()
		return v, nil
	}
	b.mu.Unlock()
	ba, err := b.client.BalanceAllowance(ctx, clob.AssetCollateral, "", b.sigType)
	if err != nil {
		return 0, fmt.Errorf("read the pUSD balance: %w", err)
	}
	v, err := baseUnitsOf(ba.Balance)
	if err != nil {
		return 0, fmt.Errorf("read the pUSD balance: %w", err)
	}
	b.mu.Lock()
	b.value, b.at, b.valid = v, b.now(), true
	b.mu.Unlock()
	return v, nil
}

// invalidate makes the next Balance read the CLOB.
func (b *liveBalance) invalidate() {
	b.mu.Lock()
	b.valid = false
	b.mu.Unlock()
}

func baseUnitsOf(d decimal.Decimal) (uint64, error) {
	if d.IsNegative() || !d.IsInteger() || d.BigInt().BitLen() > 64 {
		return 0, fmt.Errorf("balance %s is not a base-unit amount", d)
	}
	return d.BigInt().Uint64(), nil
}

// refreshingBroker has the CLOB re-read the wallet's balances after every fill (GET
// /balance-allowance/update for pUSD and the token traded): the CLOB checks orders against a
// cached balance, and would otherwise refuse to sell shares just bought ("not enough balance /
// allowance"). It also drops the cached pUSD balance of percent_balance sizing.
type refreshingBroker struct {
	executor.Broker
	client  balanceClient
	sigType int
	balance *liveBalance
	log     *zap.Logger
}

func (b *refreshingBroker) PlaceOrder(ctx context.Context, o broker.Order) (broker.Execution, error) {
	exec, err := b.Broker.PlaceOrder(ctx, o)
	if err == nil && exec.Shares > 0 {
		b.refresh(ctx, o)
	}
	return exec, err
}

// Resolve keeps the live broker's order lookup (executor.OrderResolver) visible through the
// wrapper.
func (b *refreshingBroker) Resolve(ctx context.Context, ref broker.OrderRef) (broker.Fill, error) {
	r, ok := b.Broker.(executor.OrderResolver)
	if !ok {
		return broker.Fill{}, errors.New("this broker cannot look orders up")
	}
	return r.Resolve(ctx, ref)
}

// Refresh refreshes the balances after a fill the order tracker found (executor.FillRefresher):
// a resting or delayed copy that fills later changes them as much as one that filled at once.
func (b *refreshingBroker) Refresh(ctx context.Context, token string) {
	o := broker.Order{Market: token}
	if id, ok := new(big.Int).SetString(token, 10); ok {
		o.TokenID = id
	}
	b.refresh(ctx, o)
}

var _ executor.FillRefresher = (*refreshingBroker)(nil)

func (b *refreshingBroker) refresh(ctx context.Context, o broker.Order) {
	if b.balance != nil {
		b.balance.invalidate()
	}
	errC := b.client.UpdateBalanceAllowance(ctx, clob.AssetCollateral, "", b.sigType)
	var errT error
	if o.TokenID != nil {
		// A Protocol V2 position's balance is asset type CONDITIONAL-V2, a CTF token's
		// CONDITIONAL (docs.polymarket.com/migrate/polymarket-v2/api-integrations).
		asset := clob.AssetConditional
		if p, ok := b.Broker.(interface{ IsPosition(*big.Int) bool }); ok && p.IsPosition(o.TokenID) {
			asset = clob.AssetConditionalV2
		}
		errT = b.client.UpdateBalanceAllowance(ctx, asset, o.TokenID.String(), b.sigType)
	}
	if err := errors.Join(errC, errT); err != nil {
		b.log.Warn("the CLOB's balance cache was not refreshed after a fill; an order right after it may be refused for balance",
			zap.String("market", o.Market), zap.Error(err))
	}
}

// paperBalance is the available collateral of paper trading: paper.balance_usdc less the cost
// of the open positions.
func (a *App) paperBalance(context.Context) (uint64, error) {
	start := a.cfg.Load().Paper.BalanceUSDC
	if !start.IsPositive() {
		return 0, errors.New("paper.balance_usdc is 0: set it to size percent_balance leaders in mode paper")
	}
	bal, err := baseUnitsOf(start.Shift(6))
	if err != nil {
		return 0, fmt.Errorf("paper.balance_usdc: %w", err)
	}
	open, err := a.store.Positions()
	if err != nil {
		return 0, fmt.Errorf("read open positions: %w", err)
	}
	for _, p := range open {
		if p.Cost >= bal {
			return 0, nil
		}
		bal -= p.Cost
	}
	return bal, nil
}

// usesPercentBalance reports whether an enabled leader is sized by mode percent_balance.
func usesPercentBalance(cfg *config.Config) bool {
	for _, l := range cfg.Leaders {
		if l.Enabled && l.Sizing(cfg.Copy).Mode == config.SizePercentBalance {
			return true
		}
	}
	return false
}

// checkFunds logs, at start, what would keep copies from trading: in mode live a wallet without
// pUSD or without pUSD allowances for the exchanges; in mode paper percent_balance leaders
// without paper.balance_usdc. It never stops the daemon: the operator may fund the wallet
// while it runs.
func checkFunds(ctx context.Context, cfg *config.Config, client balanceClient, log *zap.Logger) {
	if cfg.Mode != config.ModeLive {
		if usesPercentBalance(cfg) && !cfg.Paper.BalanceUSDC.IsPositive() {
			log.Warn("leaders in mode percent_balance are not copied in mode paper until paper.balance_usdc is set")
		}
		return
	}
	if client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, fundsCheckTimeout)
	defer cancel()
	ba, err := client.BalanceAllowance(ctx, clob.AssetCollateral, "", cfg.Live.SignatureType)
	if err != nil {
		log.Error("cannot read the pUSD balance and allowance from the CLOB; run polybot preflight", zap.Error(err))
		return
	}
	if !ba.Balance.IsPositive() {
		log.Error("the trading wallet holds no pUSD: no BUY can be copied until it is funded; run polybot preflight")
	} else {
		log.Info("pUSD balance", zap.String("pusd", ba.Balance.Shift(-6).String()))
	}
	var missing []string
	if ba.Allowances != nil {
		for _, ex := range []common.Address{cfg.Live.CTFExchange, cfg.Live.NegRiskExchange} {
			if a, ok := ba.Allowances[ex]; !ok || !a.IsPositive() {
				missing = append(missing, ex.Hex())
			}
		}
	} else if !ba.Allowance.IsPositive() {
		missing = append(missing, "the exchanges")
	}
	if len(missing) > 0 {
		log.Error("pUSD is not approved for the exchanges: every BUY will be refused; approve it from the trading wallet (polybot preflight)",
			zap.Strings("missing_allowance", missing))
	}
}
