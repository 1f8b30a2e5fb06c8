package store

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"
)

// Decision is one entry of the decision log: what polybot did with a leader fill and why.
type Decision struct {
	Time       time.Time
	Leader     common.Address
	Token      string
	Side       string // BUY or SELL
	Action     string // copy, reduce, skip, or orphaned (ActionOrphaned)
	Reason     string
	Limit      string // the setting that reduced or skipped it, if any
	Shares     uint64
	Collateral uint64
	Tx         common.Hash
	LogIndex   uint
	// LeaderShares is the leader fill's size; Record applies it to the leader book. 0 for a
	// fill that does not move the leader's position (removed by a reorg).
	LeaderShares uint64 `json:",omitempty"`
	// OrderHash and Nth identify the fill with Tx wherever a reorg puts it (IntentID); decisions
	// recorded before they were part of the log have them zero.
	OrderHash common.Hash `json:",omitempty"`
	Nth       uint        `json:",omitempty"`
	// Attempt is 0 for the decision on the leader fill itself and n for the decision of the
	// nth retry of its exit (IntentID.Attempt); a retry's decision moves no leader book.
	Attempt uint `json:",omitempty"`
	// Chain is the chain's record of the order this decision placed, once read: its block,
	// transaction and figures (ownfills.go).
	Chain *OnChain `json:",omitempty"`
	// Block, BlockHash and Exchange are where the fill was seen. Record keeps them, apart from
	// the log, for the reorg check (FillBlocks); they are not part of the logged decision.
	Block     uint64         `json:"-"`
	BlockHash common.Hash    `json:"-"`
	Exchange  common.Address `json:"-"`
}

// AppendDecision adds d to the log (Time defaults to now) and, in the same transaction,
// drops the oldest entries beyond the count bound and older than the age bound.
func (s *Store) AppendDecision(d Decision) error {
	err := s.update(func(tx *bolt.Tx) error { return s.appendDecision(tx, d) })
	if err != nil {
		return fmt.Errorf("append decision: %w", err)
	}
	return nil
}

// appendDecision is AppendDecision inside tx.
func (s *Store) appendDecision(tx *bolt.Tx, d Decision) error {
	if d.Time.IsZero() {
		d.Time = s.opts.Now()
	}
	b, meta := tx.Bucket(bucketDecisions), tx.Bucket(bucketMeta)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	// Keys grow with time: full pages, not bbolt's default half-full split (see FillPercent).
	b.FillPercent = 1.0
	key := append(timeKey(d.Time), u64(seq)...)
	v, err := encodeDecision(key, &d, tx.Bucket(bucketDict))
	if err != nil {
		return err
	}
	if err := b.Put(key, v); err != nil {
		return err
	}
	n := decisionCount(meta) + 1
	cut := timeKey(s.opts.Now().Add(-s.opts.DecisionsMaxAge))
	c := b.Cursor()
	for k, _ := c.First(); k != nil && (n > uint64(s.opts.DecisionsMax) || string(k[:8]) < string(cut)); k, _ = c.First() {
		if err := b.Delete(k); err != nil {
			return err
		}
		n--
	}
	return meta.Put(keyDecisionsN, u64(n))
}

func decisionCount(meta *bolt.Bucket) uint64 {
	v := meta.Get(keyDecisionsN)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// Decisions returns the latest limit entries (all when limit <= 0) logged at or after since,
// oldest first.
func (s *Store) Decisions(since time.Time, limit int) ([]Decision, error) {
	var out []Decision
	err := s.db.View(func(tx *bolt.Tx) error {
		b, dict := tx.Bucket(bucketDecisions), newDictReader(tx)
		from := string(timeKey(since))
		c := b.Cursor()
		for k, v := c.Last(); k != nil && string(k[:8]) >= from && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			d, err := decodeDecision(k, v, dict)
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// DecisionCount is the number of entries in the log.
func (s *Store) DecisionCount() (int, error) {
	var n uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		n = decisionCount(tx.Bucket(bucketMeta))
		return nil
	})
	return int(n), err
}
