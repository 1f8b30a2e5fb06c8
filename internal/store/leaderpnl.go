package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"
)

// bucketLeaderPnL is the per-leader ledger: leader -> LeaderPnL. It is updated in the same
// transaction as the position book (applyFill, applyCorrection, Resolve, unapplyBuy), so its
// realised total always equals the realised P&L the positions record from the moment it
// exists. A store from before it starts the ledger at zero. It is created on its first write;
// a read of a store without it reads an empty ledger.
var bucketLeaderPnL = []byte("leader_pnl")

// LeaderPnL is what polybot's copies of one leader have made, in 6-decimal base units, since
// the ledger began.
type LeaderPnL struct {
	Leader common.Address
	// Realised is the P&L of copied SELLs (proceeds net of fees less the cost of the shares
	// sold) and of resolved markets (payout less cost), all-time.
	Realised int64
	// Fees is the fees paid by the leader's copies, BUY and SELL.
	Fees uint64
	// Redeemed is the collateral the leader's shares in resolved markets paid out.
	Redeemed uint64
	// Copies is the leader's orders that filled.
	Copies uint64
}

// ledgerDelta is one change to a leader's ledger entry.
type ledgerDelta struct {
	realised int64
	fees     int64 // signed: a correction can lower the fee
	redeemed uint64
	copies   int64 // +1 for a first fill, -1 when an order turns out not filled
}

// addLeaderPnL applies d to leader's entry inside tx.
func addLeaderPnL(tx *bolt.Tx, leader common.Address, d ledgerDelta) error {
	if d == (ledgerDelta{}) {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bucketLeaderPnL)
	if err != nil {
		return err
	}
	var e LeaderPnL
	if _, err := get(b, leader[:], &e); err != nil {
		return err
	}
	e.Leader = leader
	e.Realised = addSigned(e.Realised, d.realised)
	if d.fees >= 0 {
		e.Fees = addSat(e.Fees, uint64(d.fees))
	} else {
		e.Fees = subSat(e.Fees, uint64(-d.fees))
	}
	e.Redeemed = addSat(e.Redeemed, d.redeemed)
	switch {
	case d.copies > 0:
		e.Copies = addSat(e.Copies, uint64(d.copies))
	case d.copies < 0:
		e.Copies = subSat(e.Copies, uint64(-d.copies))
	}
	return put(b, leader[:], e)
}

// signedFee is after - before as a signed delta.
func signedFee(before, after uint64) int64 { return signedDiff(after, before) }

// resolveLeaders splits a resolved position's payout and P&L between the leaders whose lots
// hold its shares: each lot gets its shares' payout (rounded down) less its cost; what the
// rounding and any cost outside the lots leave goes to the largest lot, so the parts add up
// to the position's figures exactly. With no lot at all, the zero address takes the whole.
func resolveLeaders(tx *bolt.Tx, token string, payout uint64, pnl int64, numerator, denominator *big.Int) error {
	type part struct {
		leader   common.Address
		shares   uint64
		payout   uint64
		realised int64
	}
	var parts []part
	prefix := append([]byte(token), 0)
	c := tx.Bucket(bucketLots).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var l Lot
		if err := jsonDecode(v, &l); err != nil {
			return err
		}
		p := new(big.Int).SetUint64(l.Shares)
		p.Mul(p, numerator).Quo(p, denominator)
		parts = append(parts, part{leader: l.Leader, shares: l.Shares, payout: p.Uint64(), realised: signedDiff(p.Uint64(), l.Cost)})
	}
	if len(parts) == 0 {
		parts = []part{{payout: payout, realised: pnl}}
	} else {
		var sumPayout uint64
		var sumRealised int64
		top := 0
		for i, p := range parts {
			sumPayout = addSat(sumPayout, p.payout)
			sumRealised = addSigned(sumRealised, p.realised)
			if p.shares > parts[top].shares {
				top = i
			}
		}
		// The lots' shares never exceed the position's, so their payouts add up to at most
		// the position's; the difference is rounding or shares outside the lots.
		parts[top].payout = addSat(parts[top].payout, subSat(payout, sumPayout))
		parts[top].realised = addSigned(parts[top].realised, addSigned(pnl, -sumRealised))
	}
	for _, p := range parts {
		if err := addLeaderPnL(tx, p.leader, ledgerDelta{realised: p.realised, redeemed: p.payout}); err != nil {
			return err
		}
	}
	return nil
}

// LeaderPnLs returns the ledger of every leader with an entry, ordered by address.
func (s *Store) LeaderPnLs() ([]LeaderPnL, error) {
	var out []LeaderPnL
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLeaderPnL)
		if b == nil {
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var e LeaderPnL
			if err := jsonDecode(v, &e); err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// RealisedAllTime is the realised P&L of every copy since the ledger began: the sum of the
// leaders' realised figures.
func (s *Store) RealisedAllTime() (int64, error) {
	es, err := s.LeaderPnLs()
	var sum int64
	for _, e := range es {
		sum = addSigned(sum, e.Realised)
	}
	return sum, err
}

// PnLBook is what a P&L view reads, in one transaction: the trading day of now, the ledger,
// the open lots and the open positions.
type PnLBook struct {
	Daily     Daily
	Ledger    []LeaderPnL
	Lots      []Lot
	Positions []Position
}

// PnLBook reads the P&L figures at now in one transaction, so they agree with each other.
func (s *Store) PnLBook(now time.Time) (PnLBook, error) {
	day := s.dayStart(now)
	out := PnLBook{Daily: Daily{Day: day}}
	err := s.db.View(func(tx *bolt.Tx) error {
		if _, err := get(tx.Bucket(bucketDaily), u64(uint64(day.Unix())), &out.Daily); err != nil {
			return err
		}
		out.Daily.Day = day
		each := func(name []byte, f func(v []byte) error) error {
			b := tx.Bucket(name)
			if b == nil {
				return nil
			}
			return b.ForEach(func(_, v []byte) error { return f(v) })
		}
		return errors.Join(
			each(bucketLeaderPnL, func(v []byte) error {
				var e LeaderPnL
				err := jsonDecode(v, &e)
				out.Ledger = append(out.Ledger, e)
				return err
			}),
			each(bucketLots, func(v []byte) error {
				var l Lot
				err := jsonDecode(v, &l)
				out.Lots = append(out.Lots, l)
				return err
			}),
			each(bucketPositions, func(v []byte) error {
				var p Position
				err := jsonDecode(v, &p)
				out.Positions = append(out.Positions, p)
				return err
			}))
	})
	if err != nil {
		return PnLBook{}, fmt.Errorf("read the P&L book: %w", err)
	}
	return out, nil
}
