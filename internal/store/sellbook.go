package store

import (
	"bytes"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"
)

// SellBook is what a SELL intent's applied fills took out of the store, in base units: the
// shares and cost taken from each leader's lot, from the position (written-off rests
// included), the realised P&L added to the position and to each day's counters, the copy it
// counted. A matched trade can fail on chain (py-clob-client issue 338, py-clob-client-v2
// issue 34); UndoFill then puts all of it back exactly, with no average-cost estimate, and
// applies again only what did settle.
type SellBook struct {
	Lots       []LotTaken    `json:",omitempty"`
	Shares     uint64        // taken out of the position: sold, and written off
	Cost       uint64        // taken out of the position's cost
	WrittenOff uint64        `json:",omitempty"` // of Shares, the rest written off (MinTradableShares)
	Realised   int64         `json:",omitempty"` // added to the position's realised P&L
	Fills      int           `json:",omitempty"` // fills counted on the position
	Days       []DayRealised `json:",omitempty"` // added to each day's realised P&L
	CopyDay    int64         `json:",omitempty"` // the day (Unix seconds) that counted the copy; 0 none
	OpenedAt   time.Time     // the position the SELL reduced
	LastPrice  uint64        `json:",omitempty"` // that position's mark before the SELL
	Closed     []byte        `json:",omitempty"` // its closed-positions key when the SELL closed it
}

// LotTaken is what a SELL took out of one leader's lot.
type LotTaken struct {
	Leader common.Address
	Shares uint64
	Cost   uint64
}

// DayRealised is the realised P&L a SELL added to one day (Unix seconds of its start).
type DayRealised struct {
	Day      int64
	Realised int64
}

func (b *SellBook) took(leader common.Address, shares, cost uint64) {
	for i := range b.Lots {
		if b.Lots[i].Leader == leader {
			b.Lots[i].Shares, b.Lots[i].Cost = addSat(b.Lots[i].Shares, shares), addSat(b.Lots[i].Cost, cost)
			return
		}
	}
	b.Lots = append(b.Lots, LotTaken{Leader: leader, Shares: shares, Cost: cost})
}

// add notes one applied fill: shares and cost out of the position, pnl realised on day.
func (b *SellBook) add(shares, cost uint64, pnl int64, day int64, first bool) {
	b.Shares, b.Cost = addSat(b.Shares, shares), addSat(b.Cost, cost)
	b.Realised = addSigned(b.Realised, pnl)
	b.Fills++
	if first {
		b.CopyDay = day
	}
	for i := range b.Days {
		if b.Days[i].Day == day {
			b.Days[i].Realised = addSigned(b.Days[i].Realised, pnl)
			return
		}
	}
	b.Days = append(b.Days, DayRealised{Day: day, Realised: pnl})
}

// unapplySell puts back everything in's applied SELL fills took out (in.Sold), then applies
// r, what did settle, as one fill; last says nothing settled, so the copy's day counts one copy
// less. ErrUndoSell when in carries no SellBook (a fill recorded before it was kept, or one the
// chain corrected).
func (s *Store) unapplySell(tx *bolt.Tx, in *Intent, r Result, last bool) error {
	b := in.Sold
	if b == nil {
		return ErrUndoSell
	}
	positions, lots := tx.Bucket(bucketPositions), tx.Bucket(bucketLots)
	for _, t := range b.Lots {
		lk := lotKey(in.Token, t.Leader)
		var lot Lot
		if _, err := get(lots, lk, &lot); err != nil {
			return err
		}
		lot.Leader, lot.Token = t.Leader, in.Token
		lot.Shares, lot.Cost = addSat(lot.Shares, t.Shares), addSat(lot.Cost, t.Cost)
		if err := put(lots, lk, lot); err != nil {
			return err
		}
	}
	var pos Position
	open, err := get(positions, []byte(in.Token), &pos)
	if err != nil {
		return err
	}
	same := open && pos.OpenedAt.Equal(b.OpenedAt)
	if !open && len(b.Closed) > 0 && bytes.HasSuffix(b.Closed, []byte(in.Token)) {
		// The SELL closed the position: it is open again, as it was.
		closed := tx.Bucket(bucketClosed)
		found, err := get(closed, b.Closed, &pos)
		if err != nil {
			return err
		}
		if found {
			if err := closed.Delete(b.Closed); err != nil {
				return err
			}
			open, same = true, true
			pos.ClosedAt = time.Time{}
		}
	}
	if !open {
		pos = Position{Token: in.Token, OpenedAt: b.OpenedAt, LastPrice: b.LastPrice}
	}
	pos.Shares, pos.Cost = addSat(pos.Shares, b.Shares), addSat(pos.Cost, b.Cost)
	if same {
		// The realised P&L, the fills and the written-off rest are the SELL's own only on the
		// position it reduced; a position opened since never counted them.
		pos.Realised = addSigned(pos.Realised, -b.Realised)
		pos.WrittenOff = subSat(pos.WrittenOff, b.WrittenOff)
		pos.Fills = max(pos.Fills-b.Fills, 0)
		pos.LastPrice = b.LastPrice
	}
	pos.UpdatedAt = s.opts.Now()
	if err := put(positions, []byte(in.Token), pos); err != nil {
		return err
	}
	daily := tx.Bucket(bucketDaily)
	for _, d := range b.Days {
		if err := s.addDay(daily, d.Day, -d.Realised, last && d.Day == b.CopyDay); err != nil {
			return err
		}
	}
	if last && b.CopyDay != 0 && !hasDay(b.Days, b.CopyDay) {
		if err := s.addDay(daily, b.CopyDay, 0, true); err != nil {
			return err
		}
	}
	in.Sold = nil
	if r.FilledShares == 0 {
		return nil
	}
	// What did settle is applied again, as one fill; the copy stays counted on its day.
	if err := s.applyFill(tx, in, Result{FilledShares: r.FilledShares, FilledCollateral: r.FilledCollateral, Fee: r.Fee}, false, s.opts.Now()); err != nil {
		return err
	}
	in.Sold.CopyDay = b.CopyDay
	return nil
}

func hasDay(days []DayRealised, day int64) bool {
	for _, d := range days {
		if d.Day == day {
			return true
		}
	}
	return false
}

// addDay adds pnl to the realised P&L of the day starting at day (Unix seconds) and, with
// uncopy, counts one copy less; a day compaction dropped is left alone.
func (s *Store) addDay(b *bolt.Bucket, day int64, pnl int64, uncopy bool) error {
	dk := u64(uint64(day))
	var d Daily
	found, err := get(b, dk, &d)
	if err != nil || !found {
		return err
	}
	d.Realised = addSigned(d.Realised, pnl)
	if uncopy && d.Copies > 0 {
		d.Copies--
	}
	return put(b, dk, d)
}
