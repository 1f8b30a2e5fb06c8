package store

// This file records the chain's word on polybot's own orders: the exchanges' OrderFilled logs
// whose maker is polybot's trading address (internal/ownfills reads them). The CLOB's answer to
// an order is a first report; once the order's intent is completed, what the chain says it
// filled replaces that report, and the position, cost basis, daily spend and P&L are moved by
// the difference.

import (
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"

	"github.com/polybot/polybot/internal/money"
	"github.com/polybot/polybot/internal/polymarket"
)

var (
	// bucketOrders indexes intents by the hash of their signed order: order hash -> intent
	// key. It is written with the intent; a store from before it simply lacks the bucket (its
	// intents have no index and are not matched to the chain).
	bucketOrders = []byte("orders")

	keyOwnCheckpoint = []byte("own_fills_checkpoint")
)

// OnChain is what the chain says one of polybot's orders filled: the sum of the exchanges'
// OrderFilled logs with that order hash and polybot's trading address as maker. Block and Tx
// are those of the newest such log.
type OnChain struct {
	Block      uint64
	Tx         common.Hash
	Fills      int
	Shares     uint64
	Collateral uint64
	Fee        uint64
	// CLOB is the CLOB's report this record replaced, when it differed; nil when it agreed.
	CLOB *Result `json:",omitempty"`
}

// Same reports whether o records the same fills as p (the correction it carries aside).
func (o *OnChain) Same(p *OnChain) bool {
	return o != nil && p != nil && o.Block == p.Block && o.Tx == p.Tx && o.Fills == p.Fills &&
		o.Shares == p.Shares && o.Collateral == p.Collateral && o.Fee == p.Fee
}

// Confirmation is what ConfirmOnChain did.
type Confirmation struct {
	Found bool // an intent has this order hash
	// Settled: the intent is completed and now carries the chain's record. An intent still
	// pending or open is not settled: call again once it is completed.
	Settled   bool
	Corrected bool   // the CLOB's report differed: Before was replaced by the chain's figures
	Before    Result // the report that was replaced (meaningful when Corrected)
	Intent    Intent // the intent as it is now
}

// ErrNoOrderHash is returned for a zero order hash.
var ErrNoOrderHash = errors.New("no order hash")

// indexOrder records that the intent under key signed the order hash; nothing for a zero hash.
func indexOrder(tx *bolt.Tx, hash common.Hash, key []byte) error {
	if hash == (common.Hash{}) {
		return nil
	}
	b, err := tx.CreateBucketIfNotExists(bucketOrders)
	if err != nil {
		return err
	}
	return b.Put(hash[:], key)
}

// IntentOfOrder returns the intent whose signed order has this hash.
func (s *Store) IntentOfOrder(hash common.Hash) (Intent, bool, error) {
	var in Intent
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOrders)
		if b == nil {
			return nil
		}
		k := b.Get(hash[:])
		if k == nil {
			return nil
		}
		var err error
		found, err = get(tx.Bucket(bucketIntents), k, &in)
		return err
	})
	return in, found, err
}

// ConfirmOnChain records what the chain says the order with this hash filled. Without an
// intent for it (a trade polybot did not place, or one whose intent was compacted away) it
// reports Found false and changes nothing. While the intent is pending or open it changes
// nothing either: the CLOB has not given its final report yet. Once the intent is completed,
// the chain's figures replace its result; if they differ from the CLOB's report, the
// difference is applied to the position, its lots, the day's spend and the realised P&L, in
// the same transaction, and the decision that placed the order records the confirmation. A
// second call with the same figures changes nothing.
func (s *Store) ConfirmOnChain(hash common.Hash, c OnChain) (Confirmation, error) {
	if hash == (common.Hash{}) {
		return Confirmation{}, ErrNoOrderHash
	}
	var conf Confirmation
	err := s.update(func(tx *bolt.Tx) error {
		conf = Confirmation{}
		idx := tx.Bucket(bucketOrders)
		if idx == nil {
			return nil
		}
		k := idx.Get(hash[:])
		if k == nil {
			return nil
		}
		k = append([]byte(nil), k...)
		intents := tx.Bucket(bucketIntents)
		var in Intent
		found, err := get(intents, k, &in)
		if err != nil || !found {
			return err
		}
		conf.Found, conf.Intent = true, in
		if in.Status == StatusPending || in.Status == StatusOpen {
			return nil
		}
		conf.Settled = true
		if in.Chain.Same(&c) {
			return nil
		}
		before := in.Result
		after := chainResult(&in, before, &c)
		c.CLOB = nil
		if in.Chain != nil {
			c.CLOB = in.Chain.CLOB // the first report stays the one the CLOB gave
		}
		if after != before {
			if c.CLOB == nil {
				r := before
				c.CLOB = &r
			}
			conf.Corrected, conf.Before = true, before
			if err := s.applyCorrection(tx, &in, before, after); err != nil {
				return err
			}
		}
		in.Result, in.Status, in.Chain = after, after.Status, &c
		if err := put(intents, k, in); err != nil {
			return err
		}
		conf.Intent = in
		return s.confirmDecision(tx, &in, &c)
	})
	if err != nil {
		return Confirmation{}, fmt.Errorf("confirm order %s on chain: %w", hash.Hex(), err)
	}
	return conf, nil
}

// chainResult is in's result with the chain's figures.
func chainResult(in *Intent, r Result, c *OnChain) Result {
	r.FilledShares, r.FilledCollateral, r.Fee = c.Shares, c.Collateral, c.Fee
	switch {
	case c.Shares == 0:
		r.Status = StatusUnfilled
	case c.Shares >= in.Shares || r.Status == StatusFilled:
		r.Status = StatusFilled
	default:
		r.Status = StatusPartial
	}
	return r
}

// confirmDecision records c on the decision that placed in's order: the entry logged with the
// intent (at its CreatedAt) whose fill is in's.
func (s *Store) confirmDecision(tx *bolt.Tx, in *Intent, c *OnChain) error {
	b, dict := tx.Bucket(bucketDecisions), newDictReader(tx)
	cur := b.Cursor()
	from := timeKey(in.CreatedAt.Add(-time.Second))
	to := string(timeKey(in.CreatedAt.Add(time.Minute)))
	for k, v := cur.Seek(from); k != nil && string(k[:8]) <= to; k, v = cur.Next() {
		d, err := decodeDecision(k, v, dict)
		if err != nil {
			continue // an entry this version cannot read is left alone
		}
		if d.Tx != in.ID.Tx || d.OrderHash != in.ID.OrderHash || d.Nth != in.ID.Nth || d.Attempt != in.ID.Attempt || (d.Action != "copy" && d.Action != "reduce") {
			continue
		}
		d.Chain = c
		key := append([]byte(nil), k...)
		rec, err := encodeDecision(key, &d, tx.Bucket(bucketDict))
		if err != nil {
			return err
		}
		return b.Put(key, rec)
	}
	return nil // compacted away: the intent keeps the record
}

// applyCorrection moves in's position, lots and day counters from the fill before (the
// CLOB's report, already applied) to after (the chain's). The day is the one the copy was
// counted in.
func (s *Store) applyCorrection(tx *bolt.Tx, in *Intent, before, after Result) error {
	positions, lots := tx.Bucket(bucketPositions), tx.Bucket(bucketLots)
	now := s.opts.Now()
	var pos Position
	open, err := get(positions, []byte(in.Token), &pos)
	if err != nil {
		return err
	}
	if !open {
		pos = Position{Token: in.Token, OpenedAt: now}
	}
	day := s.dayStart(in.CompletedAt)
	dk := u64(uint64(day.Unix()))
	var daily Daily
	if _, err := get(tx.Bucket(bucketDaily), dk, &daily); err != nil {
		return err
	}
	daily.Day = day
	ledger := ledgerDelta{fees: signedFee(before.Fee, after.Fee)}
	switch {
	case before.FilledShares == 0 && after.FilledShares > 0:
		daily.Copies++
		ledger.copies = 1
	case before.FilledShares > 0 && after.FilledShares == 0 && daily.Copies > 0:
		daily.Copies--
		ledger.copies = -1
	}
	lk := lotKey(in.Token, in.Leader)
	var lot Lot
	if _, err := get(lots, lk, &lot); err != nil {
		return err
	}
	lot.Leader, lot.Token = in.Leader, in.Token
	pos.UpdatedAt = now
	if after.FilledShares > 0 {
		pos.LastPrice = money.MulDiv(after.FilledCollateral, 1_000_000, after.FilledShares)
	}
	switch in.Side {
	case polymarket.Buy:
		paidBefore, paidAfter := addSat(before.FilledCollateral, before.Fee), addSat(after.FilledCollateral, after.Fee)
		if after.FilledShares >= before.FilledShares {
			more := after.FilledShares - before.FilledShares
			pos.Shares, lot.Shares = addSat(pos.Shares, more), addSat(lot.Shares, more)
		} else {
			less := before.FilledShares - after.FilledShares
			pos.Shares, lot.Shares = subSat(pos.Shares, less), subSat(lot.Shares, less)
		}
		if paidAfter >= paidBefore {
			more := paidAfter - paidBefore
			pos.Cost, lot.Cost, daily.Spent = addSat(pos.Cost, more), addSat(lot.Cost, more), addSat(daily.Spent, more)
		} else {
			less := paidBefore - paidAfter
			pos.Cost, lot.Cost, daily.Spent = subSat(pos.Cost, less), subSat(lot.Cost, less), subSat(daily.Spent, less)
		}
		if lot.Shares == 0 {
			lot.Cost = 0
		}
	case polymarket.Sell:
		// The chain's figures replace what the SellBook noted: a settled fill is never undone.
		in.Sold = nil
		// Proceeds net of the fee; the cost of the shares the chain says were sold, or
		// not sold, moves between the position and the realised P&L.
		pnl := signedDiff(subSat(after.FilledCollateral, after.Fee), subSat(before.FilledCollateral, before.Fee))
		if after.FilledShares >= before.FilledShares {
			more := min(after.FilledShares-before.FilledShares, pos.Shares)
			if err := put(lots, lk, lot); err != nil { // sellFromLots reads the lots bucket
				return err
			}
			cost, err := s.sellFromLots(lots, in, more)
			if err != nil {
				return err
			}
			if _, err := get(lots, lk, &lot); err != nil {
				return err
			}
			lot.Leader, lot.Token = in.Leader, in.Token
			pos.Shares, pos.Cost = pos.Shares-more, subSat(pos.Cost, cost)
			pnl = addSigned(pnl, -int64(min(cost, 1<<62)))
		} else {
			back := before.FilledShares - after.FilledShares
			// The shares not sold after all come back at the position's average cost, or at
			// the price the CLOB reported when the position is gone.
			var cost uint64
			if pos.Shares > 0 {
				cost = money.MulDiv(pos.Cost, back, pos.Shares)
			} else {
				cost = money.MulDiv(before.FilledCollateral, back, before.FilledShares)
			}
			pos.Shares, pos.Cost = addSat(pos.Shares, back), addSat(pos.Cost, cost)
			lot.Shares, lot.Cost = addSat(lot.Shares, back), addSat(lot.Cost, cost)
			pnl = addSigned(pnl, int64(min(cost, 1<<62)))
		}
		pos.Realised = addSigned(pos.Realised, pnl)
		daily.Realised = addSigned(daily.Realised, pnl)
		ledger.realised = pnl
	}
	if err := addLeaderPnL(tx, in.Leader, ledger); err != nil {
		return err
	}
	if lot.Shares == 0 {
		if err := lots.Delete(lk); err != nil {
			return err
		}
	} else if err := put(lots, lk, lot); err != nil {
		return err
	}
	if err := put(tx.Bucket(bucketDaily), dk, daily); err != nil {
		return err
	}
	if pos.Shares == 0 {
		if !open {
			return nil
		}
		pos.ClosedAt = now
		if err := positions.Delete([]byte(in.Token)); err != nil {
			return err
		}
		return put(tx.Bucket(bucketClosed), append(timeKey(now), in.Token...), pos)
	}
	pos.ClosedAt = time.Time{}
	if !open {
		pos.Fills++
	}
	return put(positions, []byte(in.Token), pos)
}

// PruneOrderIndex drops the order index entries whose intent is gone (compacted), and
// returns how many it dropped: the index stays as small as the intents it points to.
func (s *Store) PruneOrderIndex() (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		n = 0
		idx := tx.Bucket(bucketOrders)
		if idx == nil {
			return nil
		}
		intents := tx.Bucket(bucketIntents)
		var gone [][]byte
		err := idx.ForEach(func(h, k []byte) error {
			if intents.Get(k) == nil && len(gone) < compactBatch {
				gone = append(gone, append([]byte(nil), h...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, h := range gone {
			if err := idx.Delete(h); err != nil {
				return err
			}
		}
		n = len(gone)
		return nil
	})
	return n, err
}

// OwnFillsCheckpoint is the checkpoint of the watcher of polybot's own fills: the last block
// whose own fills are all recorded. It is kept apart from the leaders' checkpoint.
type OwnFillsCheckpoint struct{ s *Store }

// OwnFillsCheckpointer returns the own fills' checkpoint as the monitor wants it.
func (s *Store) OwnFillsCheckpointer() OwnFillsCheckpoint { return OwnFillsCheckpoint{s} }

// Load returns the saved block; false when none is saved.
func (c OwnFillsCheckpoint) Load() (uint64, bool, error) {
	var block uint64
	var ok bool
	err := c.s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyOwnCheckpoint)
		if v == nil {
			return nil
		}
		if len(v) != 8 {
			return fmt.Errorf("own fills checkpoint is %d bytes, want 8", len(v))
		}
		block, ok = be64(v), true
		return nil
	})
	return block, ok, err
}

// Save saves block.
func (c OwnFillsCheckpoint) Save(block uint64) error {
	return c.s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyOwnCheckpoint, u64(block)) })
}
