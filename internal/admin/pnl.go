package admin

import (
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/store"
)

// The two realised P&L figures polybot shows, under these names everywhere (status, positions,
// pnl, metrics, dashboard):
//
//   - realised today: the realised P&L of the trading day (risk.reset_hour_utc), what the
//     daily-loss breaker counts;
//   - realised all-time: the realised P&L of every copy since the store's per-leader ledger
//     began, the sum of the leaders' realised figures.
//
// Realised P&L is SELL proceeds net of fees less the cost of the shares sold, plus payout less
// cost for positions closed by a resolved market.

// Mark basis of an unrealised figure.
const (
	BasisMark     = "mark"      // the resolution watcher's price (book midpoint or latest trade)
	BasisLastFill = "last fill" // polybot's last fill price in the token
)

// PnL is what GET /pnl answers and `polybot pnl` shows. Amounts are exact decimal strings in
// USDC.
type PnL struct {
	Day                 time.Time `json:"day"`
	RealisedTodayUSDC   string    `json:"realised_today_usdc"`
	RealisedAllTimeUSDC string    `json:"realised_all_time_usdc"`
	// UnrealisedUSDC is the open positions' value at their marks less their cost. Marked is how
	// many were valued at the watcher's mark, AtLastFill at polybot's last fill price.
	UnrealisedUSDC string      `json:"unrealised_usdc"`
	Marked         int         `json:"marked"`
	AtLastFill     int         `json:"at_last_fill"`
	FeesUSDC       string      `json:"fees_usdc"`
	RedeemedUSDC   string      `json:"redeemed_usdc"`
	Copies         uint64      `json:"copies"`
	Leaders        []LeaderPnL `json:"leaders"`
}

// LeaderPnL is one leader's line: the copies of that leader's trades.
type LeaderPnL struct {
	Leader              string `json:"leader"`
	RealisedAllTimeUSDC string `json:"realised_all_time_usdc"`
	UnrealisedUSDC      string `json:"unrealised_usdc"`
	FeesUSDC            string `json:"fees_usdc"`
	RedeemedUSDC        string `json:"redeemed_usdc"`
	Copies              uint64 `json:"copies"`
	OpenCostUSDC        string `json:"open_cost_usdc"`

	// Exact figures for metrics and totals; not serialised.
	Realised, Unrealised int64  `json:"-"`
	Fees, Redeemed, Cost uint64 `json:"-"`
}

// PnLInput is what PnLOf reads: the store's figures and the marks.
type PnLInput struct {
	store.PnLBook
	// Mark is the watcher's price of a token, micro-USDC per share; nil or false: unknown.
	Mark func(token string) (uint64, bool)
}

// PnLOf works out the P&L view, exactly. Each open lot is valued at its token's mark when
// known, else at the position's last fill price.
func PnLOf(in PnLInput) PnL {
	type acc struct {
		e          store.LeaderPnL
		unrealised *big.Int
		cost       uint64
	}
	by := map[common.Address]*acc{}
	get := func(l common.Address) *acc {
		a := by[l]
		if a == nil {
			a = &acc{e: store.LeaderPnL{Leader: l}, unrealised: new(big.Int)}
			by[l] = a
		}
		return a
	}
	for _, e := range in.Ledger {
		get(e.Leader).e = e
	}
	price := map[string]uint64{}
	out := PnL{Day: in.Daily.Day.UTC(), RealisedTodayUSDC: signedUnits(in.Daily.Realised)}
	totalUnreal := new(big.Int)
	for _, p := range in.Positions {
		px, ok := uint64(0), false
		if in.Mark != nil {
			px, ok = in.Mark(p.Token)
		}
		if ok {
			out.Marked++
		} else {
			px = p.LastPrice
			out.AtLastFill++
		}
		price[p.Token] = px
		totalUnreal.Add(totalUnreal, markedGain(p.Shares, p.Cost, px))
	}
	for _, l := range in.Lots {
		px, ok := price[l.Token]
		if !ok {
			continue // a lot without its position: nothing to value
		}
		a := get(l.Leader)
		a.unrealised.Add(a.unrealised, markedGain(l.Shares, l.Cost, px))
		a.cost += l.Cost
	}
	var realised int64
	var fees, redeemed uint64
	for _, a := range by {
		line := LeaderPnL{
			Leader: a.e.Leader.Hex(), Realised: a.e.Realised, Unrealised: clampInt64(a.unrealised),
			Fees: a.e.Fees, Redeemed: a.e.Redeemed, Cost: a.cost, Copies: a.e.Copies,
		}
		line.RealisedAllTimeUSDC, line.UnrealisedUSDC = signedUnits(line.Realised), signedUnits(line.Unrealised)
		line.FeesUSDC, line.RedeemedUSDC, line.OpenCostUSDC = units(line.Fees), units(line.Redeemed), units(line.Cost)
		out.Leaders = append(out.Leaders, line)
		realised += a.e.Realised
		fees += a.e.Fees
		redeemed += a.e.Redeemed
		out.Copies += a.e.Copies
	}
	sort.Slice(out.Leaders, func(i, j int) bool { return out.Leaders[i].Leader < out.Leaders[j].Leader })
	if out.Leaders == nil {
		out.Leaders = []LeaderPnL{}
	}
	out.RealisedAllTimeUSDC, out.UnrealisedUSDC = signedUnits(realised), signedUnits(clampInt64(totalUnreal))
	out.FeesUSDC, out.RedeemedUSDC = units(fees), units(redeemed)
	return out
}

// Basis says what the open positions were valued at.
func (p PnL) Basis() string {
	switch {
	case p.Marked == 0 && p.AtLastFill == 0:
		return "no open position"
	case p.AtLastFill == 0:
		return "all at the watcher's marks"
	case p.Marked == 0:
		return "all at polybot's last fill prices (no mark known)"
	}
	return fmt.Sprintf("%d at the watcher's marks, %d at polybot's last fill prices", p.Marked, p.AtLastFill)
}

// markedGain is shares × price / 1e6 less cost, exactly (rounded down).
func markedGain(shares, cost, price uint64) *big.Int {
	v := new(big.Int).SetUint64(shares)
	v.Mul(v, new(big.Int).SetUint64(price)).Quo(v, big.NewInt(1_000_000))
	return v.Sub(v, new(big.Int).SetUint64(cost))
}

func clampInt64(v *big.Int) int64 {
	switch {
	case v.IsInt64():
		return v.Int64()
	case v.Sign() < 0:
		return -1 << 63
	}
	return 1<<63 - 1
}
