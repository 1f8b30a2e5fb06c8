package store

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/polybot/polybot/internal/polymarket"
)

// ErrUndoSell: a SELL's fill cannot be taken back by UndoFill because the intent keeps no
// SellBook (its fill was recorded by a version that did not keep one, or the chain corrected
// it); the position needs a review by hand.
var ErrUndoSell = errors.New("a SELL's fill cannot be undone")

// UndoFill takes back part of what an intent has filled, open (RecordOpen) or completed: the
// CLOB matched it, then its trade FAILED on chain, so those shares never changed hands
// (py-clob-client issue 338). r is what the order has filled without the failed trades,
// cumulative, and must be less than what was applied. The difference comes out of the lot, the
// position (which is dropped when nothing is left of it) and the spend of the intent's day, in
// one transaction. An open intent stays open; a completed one becomes partial, or unfilled
// when nothing is left. A SELL's fills are put back exactly as its SellBook noted them (lots,
// position, realised P&L, the day's counters), then what is left applied again as one fill;
// a SELL without a SellBook fails with ErrUndoSell.
func (s *Store) UndoFill(id IntentID, r Result) error {
	err := s.update(func(tx *bolt.Tx) error {
		intents := tx.Bucket(bucketIntents)
		k, _ := id.lookup(intents)
		var in Intent
		found, err := get(intents, k, &in)
		if err != nil {
			return err
		}
		if !found {
			return ErrIntentNotFound
		}
		was := in.Result
		applied := in.Status == StatusOpen || in.Status == StatusFilled || in.Status == StatusPartial
		if !applied || r.FilledShares >= was.FilledShares || r.FilledCollateral > was.FilledCollateral {
			return fmt.Errorf("%w: undo to %d shares for %d of an intent %s with %d for %d",
				ErrBadResult, r.FilledShares, r.FilledCollateral, in.Status, was.FilledShares, was.FilledCollateral)
		}
		r.Fee = min(r.Fee, was.Fee)
		shares := was.FilledShares - r.FilledShares
		paid := (was.FilledCollateral - r.FilledCollateral) + (was.Fee - r.Fee)
		switch {
		case in.Status == StatusOpen:
			r.Status = StatusOpen
		case r.FilledShares == 0:
			r.Status, r.FilledCollateral, r.Fee = StatusUnfilled, 0, 0
			in.Status = StatusUnfilled
		default:
			r.Status = StatusPartial
			in.Status = StatusPartial
		}
		if r.OrderID == "" {
			r.OrderID = was.OrderID
		}
		in.Result = r
		if in.Side == polymarket.Sell {
			// The SELL's book (SellBook) is put back whole, then what settled applied again;
			// the leader's ledger likewise (applyFill counts the settled part again).
			if in.Sold != nil {
				undone := ledgerDelta{realised: -in.Sold.Realised, fees: signedFee(was.Fee, 0)}
				if r.FilledShares == 0 {
					undone.copies = -1
				}
				if err := addLeaderPnL(tx, in.Leader, undone); err != nil {
					return err
				}
			}
			if err := s.unapplySell(tx, &in, r, r.FilledShares == 0); err != nil {
				return err
			}
			return put(intents, k, in)
		}
		if err := put(intents, k, in); err != nil {
			return err
		}
		undone := ledgerDelta{fees: signedFee(was.Fee, r.Fee)}
		if r.FilledShares == 0 {
			undone.copies = -1
		}
		if err := addLeaderPnL(tx, in.Leader, undone); err != nil {
			return err
		}
		return s.unapplyBuy(tx, &in, shares, paid, r.FilledShares == 0)
	})
	if err != nil {
		return fmt.Errorf("undo fill of intent %s: %w", id, err)
	}
	return nil
}

// unapplyBuy takes shares bought for paid (fees included) out of in's lot, its position and
// the spend of the day it was decided; last says the order has no fill left, so the day counts
// one copy less.
func (s *Store) unapplyBuy(tx *bolt.Tx, in *Intent, shares, paid uint64, last bool) error {
	positions, lots := tx.Bucket(bucketPositions), tx.Bucket(bucketLots)
	var lot Lot
	lk := lotKey(in.Token, in.Leader)
	if _, err := get(lots, lk, &lot); err != nil {
		return err
	}
	lot.Shares, lot.Cost = subSat(lot.Shares, shares), subSat(lot.Cost, paid)
	if lot.Shares == 0 {
		if err := lots.Delete(lk); err != nil {
			return err
		}
	} else if err := put(lots, lk, lot); err != nil {
		return err
	}
	var pos Position
	open, err := get(positions, []byte(in.Token), &pos)
	if err != nil {
		return err
	}
	if open {
		pos.Shares, pos.Cost = subSat(pos.Shares, shares), subSat(pos.Cost, paid)
		if pos.Fills > 0 {
			pos.Fills--
		}
		pos.UpdatedAt = s.opts.Now()
		if pos.Shares == 0 {
			// The position never held anything that settled: it was never opened.
			err = positions.Delete([]byte(in.Token))
		} else {
			err = put(positions, []byte(in.Token), pos)
		}
		if err != nil {
			return err
		}
	}
	day := s.dayStart(in.CreatedAt)
	dk := u64(uint64(day.Unix()))
	var daily Daily
	found, err := get(tx.Bucket(bucketDaily), dk, &daily)
	if err != nil || !found {
		return err
	}
	daily.Spent = subSat(daily.Spent, paid)
	if last && daily.Copies > 0 {
		daily.Copies--
	}
	return put(tx.Bucket(bucketDaily), dk, daily)
}
