package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"

	"github.com/polybot/polybot/internal/polymarket"
)

// IntentID names the leader fill an intent copies: its transaction, the filled order's hash and
// Nth, how many fills of that order the transaction made before it (polymarket.Fill.Nth). This
// names the fill wherever a reorg puts the transaction: a re-inclusion at another log index
// finds the intent of the first inclusion. LogIndex is where the fill was seen; it names the
// intents of stores written before OrderHash was part of the id (see key).
type IntentID struct {
	Tx        common.Hash
	LogIndex  uint
	OrderHash common.Hash `json:",omitempty"`
	Nth       uint        `json:",omitempty"`
	// Attempt is 0 for the copy of the leader fill itself and n for the nth retry of that
	// copy, an exit that did not sell (ExitRetry): each retry is an intent of its own, tied to
	// the leader's SELL fill by the rest of the id.
	Attempt uint `json:",omitempty"`
}

// IntentIDOf is the id of the copy of f.
func IntentIDOf(f *polymarket.Fill) IntentID {
	return IntentID{Tx: f.TxHash, LogIndex: f.LogIndex, OrderHash: f.OrderHash, Nth: f.Nth}
}

func (id IntentID) String() string {
	var s string
	if id.OrderHash == (common.Hash{}) {
		s = fmt.Sprintf("%s:%d", id.Tx.Hex(), id.LogIndex)
	} else {
		s = fmt.Sprintf("%s:%d (order %s #%d)", id.Tx.Hex(), id.LogIndex, id.OrderHash.Hex(), id.Nth)
	}
	if id.Attempt > 0 {
		s += fmt.Sprintf(" exit retry %d", id.Attempt)
	}
	return s
}

// Fill is the id of the leader fill's own copy: id without its retry attempt.
func (id IntentID) Fill() IntentID {
	id.Attempt = 0
	return id
}

// key is the intent's key: tx hash ‖ order hash ‖ big-endian Nth (72 bytes). An id without
// an order hash, as the intents of older stores were recorded, has the legacy 40-byte key.
// An exit retry's id (Attempt > 0) has the key of its fill's copy followed by the big-endian
// attempt (8 bytes more), so no retry's key is ever a copy's.
func (id IntentID) key() []byte {
	var k []byte
	if id.OrderHash == (common.Hash{}) {
		k = id.legacyKey()
	} else {
		k = make([]byte, 72, 80)
		copy(k, id.Tx[:])
		copy(k[32:], id.OrderHash[:])
		binary.BigEndian.PutUint64(k[64:], uint64(id.Nth))
	}
	if id.Attempt > 0 {
		k = binary.BigEndian.AppendUint64(k, uint64(id.Attempt))
	}
	return k
}

// legacyKey is the key intents had before the order hash was part of the id: tx hash ‖
// big-endian log index (40 bytes). Those intents keep it; a lookup by a newer id also checks
// it, so that a fill copied before an upgrade is not copied again after it.
func (id IntentID) legacyKey() []byte {
	k := make([]byte, 40)
	copy(k, id.Tx[:])
	binary.BigEndian.PutUint64(k[32:], uint64(id.LogIndex))
	return k
}

// lookup returns the key id's intent is stored under, and its value: the key, else the
// legacy key; nil when there is none.
func (id IntentID) lookup(intents *bolt.Bucket) (key, value []byte) {
	k := id.key()
	if v := intents.Get(k); v != nil {
		return k, v
	}
	if id.OrderHash != (common.Hash{}) && id.Attempt == 0 {
		if lk := id.legacyKey(); intents.Get(lk) != nil {
			return lk, intents.Get(lk)
		}
	}
	return k, nil
}

// unfinished reads id's intent (under its current or its older key) for a result to be
// recorded: ErrIntentNotFound without one, ErrIntentCompleted once it has its final result.
func unfinished(intents *bolt.Bucket, id IntentID) ([]byte, Intent, error) {
	k, _ := id.lookup(intents)
	var in Intent
	found, err := get(intents, k, &in)
	switch {
	case err != nil:
		return nil, in, err
	case !found:
		return nil, in, ErrIntentNotFound
	case in.Status != StatusPending && in.Status != StatusOpen:
		return nil, in, ErrIntentCompleted
	}
	return k, in, nil
}

// Status is where an intent stands.
type Status string

const (
	StatusPending  Status = "pending"  // recorded; the order may or may not have reached the exchange
	StatusFilled   Status = "filled"   // the order filled in full
	StatusPartial  Status = "partial"  // the order filled in part; the rest is cancelled
	StatusUnfilled Status = "unfilled" // the order was rejected, cancelled or expired with no fill
	StatusOpen     Status = "open"     // on the exchange and not final: Result holds what filled so far
)

// Intent is a copy order polybot is about to send, recorded before it is sent.
type Intent struct {
	ID         IntentID
	Leader     common.Address
	Token      string // decimal outcome token id
	Side       polymarket.Side
	Shares     uint64
	Collateral uint64      // limit notional
	Salt       uint64      // order salt (order.SaltFor), so a re-send is the same order
	OrderHash  common.Hash // EIP-712 hash of the signed order, when known
	CreatedAt  time.Time
	// BlockTime is the leader fill's block timestamp (unix seconds), 0 when unknown (intents
	// recorded before it was kept): how old the fill is when a restart finds the order unsent.
	BlockTime uint64 `json:",omitempty"`
	// Order is the signed order as the broker journaled it (broker.Prepared.Journal), so that an
	// order a crash stopped before it left is sent after the restart as that very order (same
	// order hash); empty for a broker that does not sign orders, and in older stores.
	Order json.RawMessage `json:",omitempty"`
	// Worst is the most a BUY's signed order may pay (its worst price signed), what its
	// reservation holds against the limits; 0 for a SELL and in older stores.
	Worst uint64 `json:",omitempty"`

	Status      Status
	Result      Result
	CompletedAt time.Time
	// Chain is what the chain says the order filled, once read (ownfills.go); Result then
	// holds the chain's figures.
	Chain *OnChain `json:",omitempty"`
	// Sold is what a SELL's applied fills took out of the lots, the position and the day's
	// counters (sellbook.go), so that a fill whose trade failed on chain is put back exactly.
	Sold *SellBook `json:",omitempty"`
}

// Result is what an order came to. FilledShares are the shares that actually traded: a
// market BUY spends its collateral and may get more shares than ordered when the book is
// better than its limit. FilledCollateral is the collateral that traded at the fill prices,
// before the fee; Fee is the taker fee in collateral, paid on top of a BUY and taken from the
// proceeds of a SELL. Results recorded before fees were tracked decode with Fee 0.
type Result struct {
	Status           Status // filled, partial or unfilled
	FilledShares     uint64
	FilledCollateral uint64
	Fee              uint64 `json:",omitempty"`
	OrderID          string
	// Reason says why an order was recorded so when the exchange's answer does not (an order
	// that never left and whose fill was too old to copy when a restart found it).
	Reason string `json:",omitempty"`
}

// BeginIntent records in before its order is sent, as pending. It fails with ErrIntentExists
// when that fill already has an intent, pending or completed: the fill was copied (or is
// being copied) already, and must not be sent again.
func (s *Store) BeginIntent(in Intent) error {
	switch {
	case in.Token == "" || in.Shares == 0 || (in.Side != polymarket.Buy && in.Side != polymarket.Sell):
		return fmt.Errorf("begin intent %s: %w: token, shares and side are required", in.ID, ErrBadIntent)
	}
	err := s.update(func(tx *bolt.Tx) error { return s.beginIntent(tx, in) })
	if err != nil {
		return fmt.Errorf("begin intent %s: %w", in.ID, err)
	}
	return nil
}

// beginIntent is BeginIntent inside tx, in checked.
func (s *Store) beginIntent(tx *bolt.Tx, in Intent) error {
	if in.CreatedAt.IsZero() {
		in.CreatedAt = s.opts.Now()
	}
	in.Status, in.Result, in.CompletedAt = StatusPending, Result{}, time.Time{}
	intents := tx.Bucket(bucketIntents)
	k, old := in.ID.lookup(intents)
	if old != nil {
		return ErrIntentExists
	}
	if err := put(intents, k, in); err != nil {
		return err
	}
	if err := indexOrder(tx, in.OrderHash, k); err != nil {
		return err
	}
	return tx.Bucket(bucketPending).Put(k, nil)
}

// CompleteIntent records the result of id's order and, in the same transaction, applies
// what filled to the positions and the day's counters: either both are on disk or neither
// is. Of an open intent (RecordOpen) only what filled beyond the fills already applied is
// applied. Completing an intent twice fails with ErrIntentCompleted and changes nothing.
func (s *Store) CompleteIntent(id IntentID, r Result) error {
	err := s.update(func(tx *bolt.Tx) error {
		intents := tx.Bucket(bucketIntents)
		k, in, err := unfinished(intents, id)
		if err != nil {
			return err
		}
		if err := checkResult(&in, r); err != nil {
			return err
		}
		delta, err := fillSince(&in, r)
		if err != nil {
			return err
		}
		now := s.opts.Now()
		first := in.Result.FilledShares == 0
		in.Status, in.Result, in.CompletedAt = r.Status, r, now
		in.Order = nil // needed only while the order may not have left
		if err := put(intents, k, in); err != nil {
			return err
		}
		if err := tx.Bucket(bucketPending).Delete(k); err != nil {
			return err
		}
		if err := tx.Bucket(bucketDone).Put(append(timeKey(now), k...), nil); err != nil {
			return err
		}
		if delta.FilledShares == 0 {
			return nil
		}
		if err := s.applyFill(tx, &in, delta, first, now); err != nil {
			return err
		}
		// A SELL's fill notes on the intent what it took out (SellBook).
		return put(intents, k, in)
	})
	if err != nil {
		return fmt.Errorf("complete intent %s: %w", id, err)
	}
	return nil
}

func checkResult(in *Intent, r Result) error {
	switch r.Status {
	case StatusFilled, StatusPartial:
		if r.FilledShares == 0 {
			return fmt.Errorf("%w: status %s with no shares filled", ErrBadResult, r.Status)
		}
	case StatusUnfilled:
		if r.FilledShares != 0 || r.FilledCollateral != 0 || r.Fee != 0 {
			return fmt.Errorf("%w: status unfilled with a fill", ErrBadResult)
		}
	default:
		return fmt.Errorf("%w: status %q is not filled, partial or unfilled", ErrBadResult, r.Status)
	}
	// A BUY may fill more shares than ordered (price improvement); a SELL never sells more.
	if in.Side == polymarket.Sell && r.FilledShares > in.Shares {
		return fmt.Errorf("%w: %d shares sold by an order for %d", ErrBadResult, r.FilledShares, in.Shares)
	}
	return nil
}

// IntentFor returns the intent of the fill id.
func (s *Store) IntentFor(id IntentID) (Intent, bool, error) {
	var in Intent
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		intents := tx.Bucket(bucketIntents)
		k, _ := id.lookup(intents)
		found, err = get(intents, k, &in)
		return err
	})
	return in, found, err
}

// PendingIntents returns the intents begun and never completed, oldest first: after a crash,
// the orders that may or may not have reached the exchange. Recovery re-sends each with the
// same salt (the exchange sees a duplicate, not a second order) or looks it up, then
// completes it.
func (s *Store) PendingIntents() ([]Intent, error) {
	var out []Intent
	err := s.db.View(func(tx *bolt.Tx) error {
		intents := tx.Bucket(bucketIntents)
		return tx.Bucket(bucketPending).ForEach(func(k, _ []byte) error {
			var in Intent
			found, err := get(intents, k, &in)
			if err != nil || !found {
				return err
			}
			out = append(out, in)
			return nil
		})
	})
	sortIntents(out)
	return out, err
}

func sortIntents(l []Intent) {
	// Insertion sort by CreatedAt then key: pending intents are few.
	for i := 1; i < len(l); i++ {
		for j := i; j > 0 && intentBefore(&l[j], &l[j-1]); j-- {
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
}

func intentBefore(a, b *Intent) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.Before(b.CreatedAt)
	}
	return bytes.Compare(a.ID.key(), b.ID.key()) < 0
}
