package app

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/metrics"
)

// adminPnL is the P&L view: the store's figures, open positions valued at the resolution
// watcher's marks when known, else at polybot's last fill price.
func (a *App) adminPnL() (admin.PnL, error) {
	b, err := a.store.PnLBook(a.now())
	if err != nil {
		return admin.PnL{}, err
	}
	in := admin.PnLInput{PnLBook: b}
	if a.marks != nil {
		in.Mark = a.marks.Mark
	}
	return admin.PnLOf(in), nil
}

// leaderGauges are the per-leader P&L gauges of p, for the configured leaders only: the
// label's values stay bounded by the config.
func leaderGauges(p admin.PnL, configured []common.Address) []metrics.LeaderPnL {
	known := make(map[string]bool, len(configured))
	for _, l := range configured {
		known[l.Hex()] = true
	}
	var out []metrics.LeaderPnL
	for _, l := range p.Leaders {
		if !known[l.Leader] {
			continue
		}
		out = append(out, metrics.LeaderPnL{Leader: l.Leader,
			// gauges, not money: the exact figures are in the store
			RealisedUSDC: float64(l.Realised) / 1e6, UnrealisedUSDC: float64(l.Unrealised) / 1e6,
			FeesUSDC: float64(l.Fees) / 1e6, RedeemedUSDC: float64(l.Redeemed) / 1e6, Copies: l.Copies})
	}
	return out
}

// configuredLeaders are the addresses of cfg's leaders, enabled or not.
func configuredLeaders(cfg *config.Config) []common.Address {
	out := make([]common.Address, 0, len(cfg.Leaders))
	for _, l := range cfg.Leaders {
		out = append(out, l.Address)
	}
	return out
}

// gaugeUSDC is an exact decimal as a gauge's float (0 when empty).
func gaugeUSDC(s string) float64 {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return 0
	}
	f, _ := d.Float64()
	return f
}
