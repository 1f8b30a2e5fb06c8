package executor

import (
	"sync"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/strategy"
)

// reservations hold the BUY copies decided and not yet completed in the store. Fills of
// different markets are decided in parallel, and a copy's spend and exposure reach the store
// only with its result, after the order: without reservations two workers deciding at once
// would both see the same room under a global limit (daily spend, total or leader exposure,
// open positions) and together overshoot it. Deciding takes mu from the snapshot to the
// reservation, so each decision sees every copy decided before it; a reservation is released
// once the copy's result is in the store (or nothing was sent), and kept while its outcome is
// unknown: that order may have traded.
type reservations struct {
	mu     sync.Mutex
	market map[string]uint64
	leader map[common.Address]uint64
	total  uint64
	opens  int // reserved markets where polybot held nothing when the copy was decided
}

// reservation is one BUY copy's hold on the limits.
type reservation struct {
	market     string
	leader     common.Address
	collateral uint64
	opens      bool
}

// add counts what other copies under way hold against s, for a BUY in market by leader: their
// worst costs and worst fees against the limits, and against the available balance, which they
// may yet spend. mu must be held.
func (r *reservations) add(s *strategy.State, market string, leader common.Address) {
	s.Balance = subSat(s.Balance, r.total)
	s.MarketExposure = addSat(s.MarketExposure, r.market[market])
	s.LeaderExposure = addSat(s.LeaderExposure, r.leader[leader])
	s.TotalExposure = addSat(s.TotalExposure, r.total)
	s.SpentToday = addSat(s.SpentToday, r.total)
	s.OpenPositions += r.opens
}

// reserve holds collateral for a BUY copy in market; mu must be held. opens says polybot
// holds nothing there yet (the copy opens a position).
func (r *reservations) reserve(market string, leader common.Address, collateral uint64, opens bool) reservation {
	if r.market == nil {
		r.market, r.leader = make(map[string]uint64), make(map[common.Address]uint64)
	}
	opens = opens && r.market[market] == 0
	r.market[market] += collateral
	r.leader[leader] += collateral
	r.total += collateral
	if opens {
		r.opens++
	}
	return reservation{market: market, leader: leader, collateral: collateral, opens: opens}
}

// release gives a reservation back.
func (r *reservations) release(v reservation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.market[v.market] -= v.collateral; r.market[v.market] == 0 {
		delete(r.market, v.market)
	}
	if r.leader[v.leader] -= v.collateral; r.leader[v.leader] == 0 {
		delete(r.leader, v.leader)
	}
	r.total -= v.collateral
	if v.opens {
		r.opens--
	}
}

func subSat(a, b uint64) uint64 {
	if b >= a {
		return 0
	}
	return a - b
}

func addSat(a, b uint64) uint64 {
	if s := a + b; s >= a {
		return s
	}
	return ^uint64(0)
}
