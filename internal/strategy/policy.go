package strategy

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/config"
)

// Policy is the strategy in force: the global rules and each listed leader's sizing. The app
// builds one per config and swaps it atomically on reload.
type Policy struct {
	Rules   Rules
	Leaders map[common.Address]Leader
}

// Leader returns the leader's settings; a leader not in the config is not enabled.
func (p *Policy) Leader(addr common.Address) Leader {
	l, ok := p.Leaders[addr]
	if !ok {
		return Leader{}
	}
	return l
}

var million = decimal.NewFromInt(Unit)

// baseUnits converts a validated USDC amount, price or share count to base units.
func baseUnits(d decimal.Decimal) uint64 { return toUnits(d.Mul(million)) }

// PolicyFromConfig builds the policy of a validated config.
func PolicyFromConfig(cfg *config.Config) (*Policy, error) {
	c, r := cfg.Copy, cfg.Risk
	p := &Policy{
		Rules: Rules{
			MinShares:         baseUnits(c.MinOrderShares),
			MinPrice:          baseUnits(c.MinPrice),
			MaxPrice:          baseUnits(c.MaxPrice),
			MaxFillAge:        c.MaxFillAge,
			MaxExitAge:        c.MaxExitAge,
			Slippage:          slippageOf(cfg),
			Allow:             set(c.AllowTokens),
			Deny:              set(c.DenyTokens),
			MaxMarketExposure: baseUnits(r.MaxMarketExposureUSDC),
			MaxLeaderExposure: baseUnits(r.MaxLeaderExposureUSDC),
			MaxTotalExposure:  baseUnits(r.MaxTotalExposureUSDC),
			MaxDailySpend:     baseUnits(r.MaxDailySpendUSDC),
			DailyLossLimit:    baseUnits(r.DailyLossLimitUSDC),
			MaxOpenPositions:  r.MaxOpenPositions,
			RaiseToMinimum:    c.RaiseToMinimum,
		},
		Leaders: make(map[common.Address]Leader, len(cfg.Leaders)),
	}
	for i, l := range cfg.Leaders {
		s := l.Sizing(c)
		m := Mode(s.Mode)
		switch m {
		case Proportional, FixedUSDC, PercentBalance:
		default:
			return nil, fmt.Errorf("leaders[%d]: unknown sizing mode %q", i, s.Mode)
		}
		p.Leaders[l.Address] = Leader{
			Name:     l.Name,
			Enabled:  l.Enabled,
			Mode:     m,
			Ratio:    s.CopyRatio,
			Fixed:    baseUnits(s.FixedUSDC),
			Percent:  s.PercentBalance,
			MinTrade: baseUnits(s.MinTradeUSDC),
			MaxTrade: baseUnits(s.MaxTradeUSDC),
		}
	}
	return p, nil
}

// slippageOf is how far above the leader's price polybot signs its BUYs under cfg: live
// trading and paper trading against the real book price copies at the leader's price plus
// live.slippage; plain paper trading fills at the leader's price.
func slippageOf(cfg *config.Config) uint64 {
	if cfg.Mode == config.ModeLive || cfg.Live.PaperBook {
		return baseUnits(cfg.Live.Slippage)
	}
	return 0
}

func set(ids []string) map[string]bool {
	if len(ids) == 0 {
		return nil
	}
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		// Fills name tokens as big.Int.String(): no leading zeros.
		if n, ok := new(big.Int).SetString(id, 10); ok {
			id = n.String()
		}
		m[id] = true
	}
	return m
}
