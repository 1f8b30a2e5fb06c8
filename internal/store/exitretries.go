package store

import (
	"fmt"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"
)

// bucketExitRetries holds the exits polybot still has to sell: the leader's SELL fill's intent
// key (IntentID.Fill) -> ExitRetry.
var bucketExitRetries = []byte("exit_retries")

// ExitRetry is a copy SELL that did not sell all it was to sell (a FAK that found no bid, an
// order refused before it was sent, one the CLOB would not take, an open CLOB breaker), kept
// so that it is tried again while the leader stays out. It is keyed by the leader's SELL fill
// and names the last attempt made for it: attempt 0 is the fill's own copy, attempt n its nth
// retry, each an intent of its own (IntentID.Attempt) recorded with its decision in the same
// transaction as the ExitRetry that names it (RecordExit). What an attempt sold is read from
// its intent, the ledger, never from here: after a crash the record and the intent still
// agree on which attempt was last.
type ExitRetry struct {
	Fill   IntentID // the leader's SELL fill (Attempt 0)
	Leader common.Address
	Token  string
	// LeaderShares and LeaderCollateral are the leader's fill: its price prices each attempt.
	LeaderShares, LeaderCollateral uint64
	BlockTime                      uint64 `json:",omitempty"`
	// Attempt is the last attempt made; Shares what it was to sell. Its intent (when it placed
	// an order) says what it sold; the rest is what the next attempt sells.
	Attempt uint
	Shares  uint64
	// Placed: the last attempt recorded an intent (it sent, or was to send, an order). An
	// attempt that placed nothing (a refusal before sending, an open breaker) has none.
	Placed bool `json:",omitempty"`
	// Next is when the next attempt is due; Since when the exit was first not sold.
	Next, Since time.Time
	// Reason is why the last attempt did not sell, once known.
	Reason string `json:",omitempty"`
}

// RecordExit records the decision d and, when in is not nil, begins its intent as Record
// does, and in the same transaction stores r, the exit retry that names that attempt. A crash
// leaves all three or none. It fails with ErrIntentExists when in's attempt already has an
// intent, and then records nothing.
func (s *Store) RecordExit(d Decision, in *Intent, r ExitRetry) error {
	if r.Fill.Attempt != 0 || r.Token == "" {
		return fmt.Errorf("record exit retry %s: %w: the fill's id and its token are required", r.Fill, ErrBadIntent)
	}
	if err := s.record(d, in, exitRetryWrite(r)); err != nil {
		return fmt.Errorf("record exit retry: %w", err)
	}
	return nil
}

// exitRetryWrite is the write of r inside a Record transaction.
func exitRetryWrite(r ExitRetry) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketExitRetries)
		if err != nil {
			return err
		}
		return put(b, r.Fill.key(), r)
	}
}

// UpdateExitRetry rewrites r (its next try and reason) when it is still stored for the same
// attempt; it reports whether it was.
func (s *Store) UpdateExitRetry(r ExitRetry) (bool, error) {
	var found bool
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketExitRetries)
		if b == nil {
			return nil
		}
		var old ExitRetry
		ok, err := get(b, r.Fill.key(), &old)
		if err != nil || !ok || old.Attempt != r.Attempt {
			return err
		}
		found = true
		return put(b, r.Fill.key(), r)
	})
	if err != nil {
		return false, fmt.Errorf("update exit retry %s: %w", r.Fill, err)
	}
	return found, nil
}

// DeleteExitRetry ends the retries of the exit of the leader fill id.
func (s *Store) DeleteExitRetry(id IntentID) error {
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketExitRetries)
		if b == nil {
			return nil
		}
		return b.Delete(id.Fill().key())
	})
	if err != nil {
		return fmt.Errorf("delete exit retry %s: %w", id, err)
	}
	return nil
}

// ExitRetries returns the exits waiting to be tried again, oldest first.
func (s *Store) ExitRetries() ([]ExitRetry, error) {
	var out []ExitRetry
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketExitRetries)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var r ExitRetry
			if err := jsonDecode(v, &r); err != nil {
				return fmt.Errorf("exit retry %x: %w", k, err)
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read exit retries: %w", err)
	}
	slices.SortStableFunc(out, func(a, b ExitRetry) int { return a.Since.Compare(b.Since) })
	return out, nil
}
