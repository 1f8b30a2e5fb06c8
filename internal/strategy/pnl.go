package strategy

import "math/big"

// Holding is an open position as MarkedPnL values it.
type Holding struct {
	Shares uint64
	Cost   uint64 // collateral paid for the shares held
	Mark   uint64 // micro-USDC per share; used when Marked
	Marked bool   // false: no mark known, the position counts at cost (P&L 0)
}

// MarkedPnL is the day's P&L the circuit breaker watches: realisedToday plus, for each open
// position, its value at the mark less its cost. It saturates instead of overflowing.
//
// The marked part is measured against cost, not against the value at the day's start, so a
// position bought on an earlier day at a now-lower price counts against today as well: the
// breaker errs on the side of stopping.
func MarkedPnL(realisedToday int64, holdings []Holding) int64 {
	total := big.NewInt(realisedToday)
	for _, h := range holdings {
		if !h.Marked {
			continue
		}
		v := new(big.Int).Mul(new(big.Int).SetUint64(h.Shares), new(big.Int).SetUint64(h.Mark))
		v.Quo(v, big.NewInt(Unit))
		v.Sub(v, new(big.Int).SetUint64(h.Cost))
		total.Add(total, v)
	}
	switch {
	case total.IsInt64():
		return total.Int64()
	case total.Sign() < 0:
		return -1 << 63
	default:
		return 1<<63 - 1
	}
}
