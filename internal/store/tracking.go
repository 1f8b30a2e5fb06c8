package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/polybot/polybot/internal/polymarket"
)

// RecordOpen records that id's order is on the exchange and not final (it rests on the book,
// or its matching is delayed), with filled what it has filled so far, cumulative. What filled
// beyond the fills already recorded is applied to the positions and the day's counters in the
// same transaction, so the limits see a partly filled order at once. The intent stays pending
// (PendingIntents lists it, and a restart finds it) with status StatusOpen until CompleteIntent
// records its final result. filled may not be less than what an earlier call recorded.
func (s *Store) RecordOpen(id IntentID, filled Result) error {
	err := s.update(func(tx *bolt.Tx) error {
		intents := tx.Bucket(bucketIntents)
		k, in, err := unfinished(intents, id)
		if err != nil {
			return err
		}
		// A BUY may fill more shares than ordered (price improvement); a SELL never sells more.
		if in.Side == polymarket.Sell && filled.FilledShares > in.Shares {
			return fmt.Errorf("%w: %d shares filled of an order for %d", ErrBadResult, filled.FilledShares, in.Shares)
		}
		delta, err := fillSince(&in, filled)
		if err != nil {
			return err
		}
		first := in.Result.FilledShares == 0
		filled.Status = StatusOpen
		if filled.OrderID == "" {
			filled.OrderID = in.Result.OrderID
		}
		in.Status, in.Result = StatusOpen, filled
		if err := put(intents, k, in); err != nil {
			return err
		}
		if delta.FilledShares == 0 {
			return nil
		}
		if err := s.applyFill(tx, &in, delta, first, s.opts.Now()); err != nil {
			return err
		}
		// A SELL's fill notes on the intent what it took out (SellBook).
		return put(intents, k, in)
	})
	if err != nil {
		return fmt.Errorf("record open order of intent %s: %w", id, err)
	}
	return nil
}

// fillSince is what r has filled beyond the fills already applied to in (an open intent's
// Result; nothing for a pending one). A result below what was applied is refused: a fill once
// applied is never taken back.
func fillSince(in *Intent, r Result) (Result, error) {
	if in.Status != StatusOpen {
		return r, nil
	}
	was := in.Result
	if r.FilledShares < was.FilledShares || r.FilledCollateral < was.FilledCollateral {
		return Result{}, fmt.Errorf("%w: %d shares for %d filled, less than the %d for %d already applied",
			ErrBadResult, r.FilledShares, r.FilledCollateral, was.FilledShares, was.FilledCollateral)
	}
	// The fee is charged on the average fill price, so a later fill can leave the total a unit
	// lower than before; what was applied stays applied.
	fee := uint64(0)
	if r.Fee > was.Fee {
		fee = r.Fee - was.Fee
	}
	return Result{FilledShares: r.FilledShares - was.FilledShares, FilledCollateral: r.FilledCollateral - was.FilledCollateral, Fee: fee}, nil
}
