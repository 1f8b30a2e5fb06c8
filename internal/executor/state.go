package executor

import (
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
)

// StrategyState turns a state store snapshot into the strategy's view of polybot's state.
// balance is the available collateral (mode percent_balance); leaderHeld and leaderKnown are
// the leader's position before the fill being decided (store.LeaderPosition). mark prices an
// open position's token in micro-USDC per share for the daily P&L; when it is nil or has no
// price for a token, the position's last fill price is used.
func StrategyState(snap store.Snapshot, balance, leaderHeld uint64, leaderKnown bool, mark func(token string) (uint64, bool)) strategy.State {
	holdings := make([]strategy.Holding, 0, len(snap.Open))
	for _, p := range snap.Open {
		h := strategy.Holding{Shares: p.Shares, Cost: p.Cost, Mark: p.LastPrice, Marked: p.LastPrice > 0}
		if mark != nil {
			if m, ok := mark(p.Token); ok {
				h.Mark, h.Marked = m, true
			}
		}
		holdings = append(holdings, h)
	}
	return strategy.State{
		Held:           snap.Held,
		MarketShares:   snap.MarketShares,
		MarketExposure: snap.MarketExposure,
		LeaderExposure: snap.LeaderExposure,
		TotalExposure:  snap.TotalExposure,
		OpenPositions:  len(snap.Open),
		SpentToday:     snap.Daily.Spent,
		PnLToday:       strategy.MarkedPnL(snap.Daily.Realised, holdings),
		BreakerTripped: snap.Breaker.Tripped,
		Balance:        balance,
		LeaderHeld:     leaderHeld,
		LeaderKnown:    leaderKnown,
	}
}
