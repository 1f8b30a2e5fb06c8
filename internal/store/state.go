package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Checkpoint returns the last block whose logs were all processed; false when none is saved.
func (s *Store) Checkpoint() (uint64, bool, error) {
	var block uint64
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyCheckpoint)
		if v == nil {
			return nil
		}
		if len(v) != 8 {
			return fmt.Errorf("checkpoint is %d bytes, want 8", len(v))
		}
		block, ok = binary.BigEndian.Uint64(v), true
		return nil
	})
	return block, ok, err
}

// SetCheckpoint saves block as the last block whose logs were all processed.
func (s *Store) SetCheckpoint(block uint64) error {
	return s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyCheckpoint, u64(block))
	})
}

// Checkpointer adapts a Store to the wallet monitor's checkpoint interface.
type Checkpointer struct{ s *Store }

// Checkpointer returns the store's checkpoint as the monitor wants it.
func (s *Store) Checkpointer() Checkpointer { return Checkpointer{s} }

// Load returns the saved block; false when none is saved.
func (c Checkpointer) Load() (uint64, bool, error) { return c.s.Checkpoint() }

// Save saves block.
func (c Checkpointer) Save(block uint64) error { return c.s.SetCheckpoint(block) }

// Breaker is the daily-loss circuit breaker. It stays tripped until the trading day ends.
type Breaker struct {
	Tripped   bool
	TrippedAt time.Time
	Day       time.Time // start of the trading day it is for
	PnL       int64     // the day's P&L that tripped it
}

func readBreaker(tx *bolt.Tx, day time.Time) (Breaker, error) {
	var b Breaker
	if _, err := get(tx.Bucket(bucketMeta), keyBreaker, &b); err != nil {
		return Breaker{}, err
	}
	if !b.Day.Equal(day) {
		return Breaker{Day: day}, nil // tripped on an earlier day: reset
	}
	return b, nil
}

// Breaker returns the circuit breaker of the trading day holding now. A trip from an earlier
// day reads as not tripped: the breaker resets at the reset hour.
func (s *Store) Breaker(now time.Time) (Breaker, error) {
	var b Breaker
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		b, err = readBreaker(tx, s.dayStart(now))
		return err
	})
	return b, err
}

// TripBreaker trips the circuit breaker for the trading day holding now, recording the P&L
// that tripped it. It returns the breaker and whether this call tripped it (false when it
// already was tripped today).
func (s *Store) TripBreaker(now time.Time, pnl int64) (Breaker, bool, error) {
	var b Breaker
	var tripped bool
	err := s.update(func(tx *bolt.Tx) error {
		tripped = false // fn may run again (group commit)
		day := s.dayStart(now)
		var err error
		if b, err = readBreaker(tx, day); err != nil || b.Tripped {
			return err
		}
		b, tripped = Breaker{Tripped: true, TrippedAt: now, Day: day, PnL: pnl}, true
		return put(tx.Bucket(bucketMeta), keyBreaker, b)
	})
	return b, tripped, err
}

// ResetBreaker clears a tripped breaker before the day ends (an operator's decision).
func (s *Store) ResetBreaker() error {
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keyBreaker) })
}
