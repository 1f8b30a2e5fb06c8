package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"

	"github.com/polybot/polybot/internal/money"
	"github.com/polybot/polybot/internal/polymarket"
)

// Position is polybot's position in one outcome token, across all leaders.
type Position struct {
	Token     string
	Shares    uint64
	Cost      uint64 // collateral paid for the shares held, fees included
	Realised  int64  // collateral from sells, net of fees, less their cost, since the position opened
	Fills     int    // fills applied since the position opened
	LastPrice uint64 // micro-USDC per share of the last fill applied: a default mark
	OpenedAt  time.Time
	UpdatedAt time.Time
	ClosedAt  time.Time // zero while open
	// WrittenOff is the shares written off at no value: a rest below MinTradableShares that a
	// SELL left and no order can sell. They stay in the wallet; Shares no longer counts them.
	WrittenOff uint64 `json:",omitempty"`
	// Market is the token's market (condition) as the resolution watcher learned it; nil until
	// then. Resolution is set when the market resolved and closed the position (resolution.go).
	Market     *Market     `json:",omitempty"`
	Resolution *Resolution `json:",omitempty"`
}

// Lot is the part of a position copied from one leader: what that leader's SELLs may sell.
type Lot struct {
	Leader common.Address
	Token  string
	Shares uint64
	Cost   uint64
}

// MinTradableShares is the CLOB's size step, 0.01 share in base units: a position smaller than
// that after a SELL can never be sold and is written off.
const MinTradableShares = 10_000

// Daily are the counters of one trading day (see DayStart).
type Daily struct {
	Day      time.Time
	Spent    uint64 // collateral paid by BUY fills, fees included
	Copies   uint64 // completed intents that filled
	Realised int64  // realised P&L of SELL fills, net of fees
}

func lotKey(token string, leader common.Address) []byte {
	k := make([]byte, 0, len(token)+1+common.AddressLength)
	k = append(k, token...)
	k = append(k, 0)
	return append(k, leader[:]...)
}

// applyFill applies fill, the part of in's order that filled and is not yet applied, to its
// lot, its position and the day's counters, inside the recording transaction. first says it
// is the order's first fill: the day counts one copy per order, however many fills it takes.
func (s *Store) applyFill(tx *bolt.Tx, in *Intent, fill Result, first bool, now time.Time) error {
	positions, lots := tx.Bucket(bucketPositions), tx.Bucket(bucketLots)
	shares, coll, fee := fill.FilledShares, fill.FilledCollateral, fill.Fee
	var pos Position
	open, err := get(positions, []byte(in.Token), &pos)
	if err != nil {
		return err
	}
	if !open {
		pos = Position{Token: in.Token, OpenedAt: now}
	}
	day := s.dayStart(now)
	var daily Daily
	dk := u64(uint64(day.Unix()))
	if _, err := get(tx.Bucket(bucketDaily), dk, &daily); err != nil {
		return err
	}
	daily.Day = day
	if first {
		daily.Copies++
	}
	priceBefore := pos.LastPrice
	ledger := ledgerDelta{fees: signedFee(0, fee)}
	if first {
		ledger.copies = 1
	}
	pos.Fills++
	pos.UpdatedAt = now
	pos.LastPrice = money.MulDiv(coll, 1_000_000, shares)

	switch in.Side {
	case polymarket.Buy:
		var lot Lot
		lk := lotKey(in.Token, in.Leader)
		if _, err := get(lots, lk, &lot); err != nil {
			return err
		}
		lot.Leader, lot.Token = in.Leader, in.Token
		// The fee is paid on top of the collateral: it is part of what the shares cost.
		paid := addSat(coll, fee)
		lot.Shares, lot.Cost = addSat(lot.Shares, shares), addSat(lot.Cost, paid)
		pos.Shares, pos.Cost = addSat(pos.Shares, shares), addSat(pos.Cost, paid)
		daily.Spent = addSat(daily.Spent, paid)
		if err := put(lots, lk, lot); err != nil {
			return err
		}
	case polymarket.Sell:
		book := in.Sold
		if book == nil {
			book = &SellBook{OpenedAt: pos.OpenedAt, LastPrice: priceBefore}
		}
		sharesBefore, costBefore := pos.Shares, pos.Cost
		cost, err := s.sellFromLotsInto(lots, in, min(shares, pos.Shares), book)
		if err != nil {
			return err
		}
		pos.Shares -= min(shares, pos.Shares)
		pos.Cost = subSat(pos.Cost, cost)
		if pos.Shares > 0 && pos.Shares < MinTradableShares {
			// Less than the CLOB's size step is left (a market BUY with price improvement
			// bought a fraction of it): no order can sell it, so it is written off at no value
			// rather than held open forever against the limits.
			rest, err := s.sellFromLotsInto(lots, in, pos.Shares, book)
			if err != nil {
				return err
			}
			cost = addSat(cost, rest)
			pos.WrittenOff = addSat(pos.WrittenOff, pos.Shares)
			book.WrittenOff = addSat(book.WrittenOff, pos.Shares)
			pos.Shares, pos.Cost = 0, subSat(pos.Cost, rest)
		}
		// The fee is taken from the proceeds.
		pnl := signedDiff(subSat(coll, fee), cost)
		pos.Realised = addSigned(pos.Realised, pnl)
		daily.Realised = addSigned(daily.Realised, pnl)
		book.add(sharesBefore-pos.Shares, costBefore-pos.Cost, pnl, day.Unix(), first)
		if pos.Shares == 0 {
			book.Closed = append(timeKey(now), in.Token...)
		}
		in.Sold = book
		ledger.realised = pnl
	}
	if err := addLeaderPnL(tx, in.Leader, ledger); err != nil {
		return err
	}
	if err := put(tx.Bucket(bucketDaily), dk, daily); err != nil {
		return err
	}
	if pos.Shares == 0 {
		pos.ClosedAt = now
		if err := positions.Delete([]byte(in.Token)); err != nil {
			return err
		}
		return put(tx.Bucket(bucketClosed), append(timeKey(now), in.Token...), pos)
	}
	return put(positions, []byte(in.Token), pos)
}

// sellFromLots removes sold shares from the selling leader's lot, then (should the fill exceed
// it) from the token's other lots in key order, each at its own average cost. It returns
// the cost removed.
func (s *Store) sellFromLots(lots *bolt.Bucket, in *Intent, sold uint64) (uint64, error) {
	return s.sellFromLotsInto(lots, in, sold, nil)
}

// sellFromLotsInto is sellFromLots that also notes in book (when not nil) what it took out of
// each lot.
func (s *Store) sellFromLotsInto(lots *bolt.Bucket, in *Intent, sold uint64, book *SellBook) (uint64, error) {
	own := lotKey(in.Token, in.Leader)
	keys := [][]byte{own}
	prefix := append([]byte(in.Token), 0)
	c := lots.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if !bytes.Equal(k, own) {
			keys = append(keys, bytes.Clone(k))
		}
	}
	var cost uint64
	for _, k := range keys {
		if sold == 0 {
			break
		}
		var lot Lot
		found, err := get(lots, k, &lot)
		if err != nil {
			return 0, err
		}
		if !found || lot.Shares == 0 {
			continue
		}
		take := min(sold, lot.Shares)
		c := money.MulDiv(lot.Cost, take, lot.Shares)
		if take == lot.Shares {
			c = lot.Cost
		}
		lot.Shares -= take
		lot.Cost -= c
		sold -= take
		cost = addSat(cost, c)
		if book != nil {
			book.took(common.BytesToAddress(k[len(k)-common.AddressLength:]), take, c)
		}
		if lot.Shares == 0 {
			err = lots.Delete(k)
		} else {
			err = put(lots, k, lot)
		}
		if err != nil {
			return 0, err
		}
	}
	return cost, nil
}

// Positions returns the open positions ordered by token.
func (s *Store) Positions() ([]Position, error) {
	var out []Position
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPositions).ForEach(func(_, v []byte) error {
			var p Position
			if err := jsonDecode(v, &p); err != nil {
				return err
			}
			out = append(out, p)
			return nil
		})
	})
	return out, err
}

// ClosedPositions returns the positions closed at or after since, oldest first.
func (s *Store) ClosedPositions(since time.Time) ([]Position, error) {
	var out []Position
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClosed)
		c := b.Cursor()
		for k, _ := c.Seek(timeKey(since)); k != nil; k, _ = c.Next() {
			var p Position
			if _, err := get(b, k, &p); err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// Position returns the open position in token.
func (s *Store) Position(token string) (Position, bool, error) {
	var p Position
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		found, err = get(tx.Bucket(bucketPositions), []byte(token), &p)
		return err
	})
	return p, found, err
}

// Lots returns every open lot, ordered by token then leader.
func (s *Store) Lots() ([]Lot, error) {
	var out []Lot
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLots)
		return b.ForEach(func(_, v []byte) error {
			var l Lot
			if err := jsonDecode(v, &l); err != nil {
				return err
			}
			out = append(out, l)
			return nil
		})
	})
	return out, err
}

// Daily returns the counters of the trading day holding t.
func (s *Store) Daily(t time.Time) (Daily, error) {
	day := s.dayStart(t)
	d := Daily{Day: day}
	err := s.db.View(func(tx *bolt.Tx) error {
		_, err := get(tx.Bucket(bucketDaily), u64(uint64(day.Unix())), &d)
		return err
	})
	d.Day = day
	return d, err
}

// Snapshot is what the strategy needs to decide one leader fill, read in one transaction.
type Snapshot struct {
	Held           uint64 // the leader's lot in the token
	MarketShares   uint64 // polybot's position in the token
	MarketExposure uint64 // its cost
	LeaderExposure uint64 // cost of all the leader's lots
	TotalExposure  uint64 // cost of all open positions
	Open           []Position
	Daily          Daily
	Breaker        Breaker
}

// Snapshot reads the state for a fill of leader in token at now.
func (s *Store) Snapshot(leader common.Address, token string, now time.Time) (Snapshot, error) {
	var snap Snapshot
	day := s.dayStart(now)
	err := s.db.View(func(tx *bolt.Tx) error {
		pb := tx.Bucket(bucketPositions)
		if err := pb.ForEach(func(_, v []byte) error {
			var p Position
			if err := jsonDecode(v, &p); err != nil {
				return err
			}
			snap.Open = append(snap.Open, p)
			snap.TotalExposure = addSat(snap.TotalExposure, p.Cost)
			if p.Token == token {
				snap.MarketShares, snap.MarketExposure = p.Shares, p.Cost
			}
			return nil
		}); err != nil {
			return err
		}
		lb := tx.Bucket(bucketLots)
		if err := lb.ForEach(func(k, v []byte) error {
			if len(k) < common.AddressLength+1 || !bytes.HasSuffix(k, leader[:]) || k[len(k)-common.AddressLength-1] != 0 {
				return nil
			}
			var l Lot
			if err := jsonDecode(v, &l); err != nil {
				return err
			}
			snap.LeaderExposure = addSat(snap.LeaderExposure, l.Cost)
			if l.Token == token {
				snap.Held = l.Shares
			}
			return nil
		}); err != nil {
			return err
		}
		snap.Daily = Daily{Day: day}
		if _, err := get(tx.Bucket(bucketDaily), u64(uint64(day.Unix())), &snap.Daily); err != nil {
			return err
		}
		snap.Daily.Day = day
		b, err := readBreaker(tx, day)
		snap.Breaker = b
		return err
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("store snapshot: %w", err)
	}
	sort.Slice(snap.Open, func(i, j int) bool { return snap.Open[i].Token < snap.Open[j].Token })
	return snap, nil
}

// Days returns the counters of every trading day still in the store (compaction keeps them
// for ClosedPositionsMaxAge), oldest first.
func (s *Store) Days() ([]Daily, error) {
	var out []Daily
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDaily).ForEach(func(k, v []byte) error {
			var d Daily
			if err := jsonDecode(v, &d); err != nil {
				return err
			}
			if len(k) == 8 {
				d.Day = time.Unix(int64(binary.BigEndian.Uint64(k)), 0).UTC()
			}
			out = append(out, d)
			return nil
		})
	})
	return out, err
}
