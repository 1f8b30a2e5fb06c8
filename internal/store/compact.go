package store

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// compactBatch bounds the keys one compaction transaction deletes.
const compactBatch = 10_000

// Compacted counts what Compact removed.
type Compacted struct {
	Intents   int // completed intents older than IntentsMaxAge
	Positions int // positions closed longer than ClosedPositionsMaxAge ago
	Days      int // daily counters older than ClosedPositionsMaxAge
	Decisions int // log entries beyond DecisionsMaxAge or DecisionsMax
	// LeaderFills are marks of leader fills applied to the leader book, older than
	// IntentsMaxAge: a fill that old is not decided again.
	LeaderFills int
	// LeaderPositions are leader book entries that had not moved for ClosedPositionsMaxAge
	// and backed no lot of polybot's (pruneLeaderBook).
	LeaderPositions int
}

// Compact prunes what the store no longer needs as of now: completed intents older than
// IntentsMaxAge (pending intents are never pruned), closed positions and daily counters
// older than ClosedPositionsMaxAge, leader positions unmoved for ClosedPositionsMaxAge that
// back no lot, and decision log entries beyond its bounds. Open
// positions, lots, the checkpoint and the breaker are kept. bbolt reuses the freed pages, so
// a store compacted regularly stops growing: its size follows what is kept, not what passed
// through. Each batch of deletions is one transaction.
func (s *Store) Compact(now time.Time) (Compacted, error) {
	var c Compacted
	var err error
	if c.Intents, err = s.prune(bucketDone, timeKey(now.Add(-s.opts.IntentsMaxAge)), func(tx *bolt.Tx, k []byte) error {
		return tx.Bucket(bucketIntents).Delete(k[8:])
	}); err != nil {
		return c, fmt.Errorf("compact intents: %w", err)
	}
	if c.Positions, err = s.prune(bucketClosed, timeKey(now.Add(-s.opts.ClosedPositionsMaxAge)), nil); err != nil {
		return c, fmt.Errorf("compact positions: %w", err)
	}
	if c.Days, err = s.prune(bucketDaily, u64(uint64(max(0, now.Add(-s.opts.ClosedPositionsMaxAge).Unix()))), nil); err != nil {
		return c, fmt.Errorf("compact daily counters: %w", err)
	}
	if c.Decisions, err = s.pruneDecisions(now); err != nil {
		return c, fmt.Errorf("compact decisions: %w", err)
	}
	if c.LeaderFills, err = s.pruneLeaderMarks(now.Add(-s.opts.IntentsMaxAge)); err != nil {
		return c, fmt.Errorf("compact leader fills: %w", err)
	}
	if c.LeaderPositions, err = s.pruneLeaderBook(now, now.Add(-s.opts.ClosedPositionsMaxAge)); err != nil {
		return c, fmt.Errorf("compact leader positions: %w", err)
	}
	return c, nil
}

// prune deletes the keys of bucket that sort before cut (compared on cut's length), calling
// also for each, in batches.
func (s *Store) prune(bucket, cut []byte, also func(tx *bolt.Tx, k []byte) error) (int, error) {
	total := 0
	for {
		n := 0
		err := s.update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucket)
			var keys [][]byte
			c := b.Cursor()
			for k, _ := c.First(); k != nil && len(keys) < compactBatch && bytes.Compare(k[:min(len(k), len(cut))], cut) < 0; k, _ = c.Next() {
				keys = append(keys, bytes.Clone(k))
			}
			for _, k := range keys {
				if err := b.Delete(k); err != nil {
					return err
				}
				if also != nil {
					if err := also(tx, k); err != nil {
						return err
					}
				}
			}
			n = len(keys)
			return nil
		})
		total += n
		if err != nil || n < compactBatch {
			return total, err
		}
	}
}

func (s *Store) pruneDecisions(now time.Time) (int, error) {
	cut := timeKey(now.Add(-s.opts.DecisionsMaxAge))
	total := 0
	for {
		n := 0
		err := s.update(func(tx *bolt.Tx) error {
			b, meta := tx.Bucket(bucketDecisions), tx.Bucket(bucketMeta)
			count := decisionCount(meta)
			var keys [][]byte
			c := b.Cursor()
			for k, _ := c.First(); k != nil && len(keys) < compactBatch &&
				(count-uint64(len(keys)) > uint64(s.opts.DecisionsMax) || bytes.Compare(k[:8], cut) < 0); k, _ = c.Next() {
				keys = append(keys, bytes.Clone(k))
			}
			for _, k := range keys {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			n = len(keys)
			return meta.Put(keyDecisionsN, u64(subSat(count, uint64(n))))
		})
		total += n
		if err != nil || n < compactBatch {
			return total, err
		}
	}
}
