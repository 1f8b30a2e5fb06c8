package store

// Where each recently decided leader fill was seen on chain (its block number and hash), so
// that a reorg that removed it for good, even one that happened while polybot was down, is
// noticed: internal/reorgcheck compares these blocks with the canonical chain. A fill removed
// for good is recorded as a decision of its own (ActionOrphaned), its move of the leader book
// is undone, and its entry here is dropped. Entries of blocks deep enough to be final are
// pruned (PruneFillBlocks).

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"

	"github.com/polybot/polybot/internal/polymarket"
)

// ActionOrphaned is the Action of the decision recorded for a leader fill that a reorg removed
// for good: the leader fill no longer exists. polybot's copy of it, if any, stays a real position.
const ActionOrphaned = "orphaned"

var (
	bucketFillBlocks = []byte("fill_blocks") // IntentID key -> FillBlock
	keyOrphaned      = []byte("orphaned_count")
)

// FillBlock is where a decided leader fill was seen, with what is needed to undo it.
type FillBlock struct {
	ID        IntentID
	Block     uint64
	BlockHash common.Hash
	Exchange  common.Address
	Leader    common.Address
	Token     string
	Side      string
	// LeaderShares is the leader fill's size, as applied to the leader book.
	LeaderShares uint64
	// Copied says whether the decision placed an order (an intent exists).
	Copied bool
	// Applied, Before and Known are what the fill did to the leader book: the leader's position
	// before it, and whether one was known. A copied fill keeps no leader mark (its intent stops
	// a second decision), so this is what undoes it when a reorg removes it for good.
	Applied bool   `json:",omitempty"`
	Before  uint64 `json:",omitempty"`
	Known   bool   `json:",omitempty"`
}

// noteFillBlock keeps where d's fill was seen, inside the transaction that records d.
func (s *Store) noteFillBlock(tx *bolt.Tx, d *Decision, copied bool, mark *leaderMark) error {
	if d.BlockHash == (common.Hash{}) || d.OrderHash == (common.Hash{}) {
		return nil
	}
	b := tx.Bucket(bucketFillBlocks)
	if b == nil {
		return nil
	}
	id := IntentID{Tx: d.Tx, LogIndex: d.LogIndex, OrderHash: d.OrderHash, Nth: d.Nth}
	fb := FillBlock{ID: id, Block: d.Block, BlockHash: d.BlockHash, Exchange: d.Exchange,
		Leader: d.Leader, Token: d.Token, Side: d.Side, LeaderShares: d.LeaderShares, Copied: copied}
	if mark != nil {
		fb.Applied, fb.Before, fb.Known = true, mark.before, mark.known
	}
	return put(b, id.key(), fb)
}

// FillBlocks returns the recorded fills seen in blocks at or above from, in block order.
func (s *Store) FillBlocks(from uint64) ([]FillBlock, error) {
	var out []FillBlock
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFillBlocks)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var f FillBlock
			if err := jsonDecode(v, &f); err != nil {
				return fmt.Errorf("fill block %x: %w", k, err)
			}
			if f.Block >= from {
				out = append(out, f)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read fill blocks: %w", err)
	}
	slices.SortStableFunc(out, func(a, b FillBlock) int { return cmp.Compare(a.Block, b.Block) })
	return out, nil
}

// MoveFillBlock records that the fill id was found again, included in another block.
func (s *Store) MoveFillBlock(id IntentID, block uint64, hash common.Hash) error {
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFillBlocks)
		var f FillBlock
		ok, err := get(b, id.key(), &f)
		if err != nil || !ok {
			return err
		}
		f.Block, f.BlockHash = block, hash
		return put(b, id.key(), f)
	})
	if err != nil {
		return fmt.Errorf("move fill block of %s: %w", id, err)
	}
	return nil
}

// PruneFillBlocks forgets the fills seen below block (final: no reorg reaches them). It returns
// how many it dropped.
func (s *Store) PruneFillBlocks(below uint64) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bucketFillBlocks)
		var keys [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var f FillBlock
			if err := jsonDecode(v, &f); err != nil || f.Block < below {
				keys = append(keys, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(keys)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune fill blocks: %w", err)
	}
	return n, nil
}

// Orphan records that a reorg removed the leader fill f for good, in one transaction: a
// decision with Action ActionOrphaned, the leader book moved back by the fill (so later SELL
// fractions are taken of the position the leader really holds), and f's entry dropped. ok is
// false when f was already handled (no entry).
func (s *Store) Orphan(f FillBlock, reason string) (ok bool, err error) {
	err = s.update(func(tx *bolt.Tx) error {
		ok = false
		b := tx.Bucket(bucketFillBlocks)
		k := f.ID.key()
		if b.Get(k) == nil {
			return nil
		}
		if err := s.undoLeaderFill(tx, &f); err != nil {
			return fmt.Errorf("leader book: %w", err)
		}
		if err := b.Delete(k); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(keyOrphaned, u64(orphanedCount(meta)+1)); err != nil {
			return err
		}
		ok = true
		return s.appendDecision(tx, Decision{Leader: f.Leader, Token: f.Token, Side: f.Side, Action: ActionOrphaned,
			Reason: reason, Tx: f.ID.Tx, LogIndex: f.ID.LogIndex, OrderHash: f.ID.OrderHash, Nth: f.ID.Nth})
	})
	if err != nil {
		return false, fmt.Errorf("record orphaned leader fill %s: %w", f.ID, err)
	}
	return ok, nil
}

// undoLeaderFill moves the leader book back by what f's fill moved it (the mark keeps the
// position it found), and drops the mark, so that the fill, were it ever included again, is
// applied again.
func (s *Store) undoLeaderFill(tx *bolt.Tx, f *FillBlock) error {
	var side polymarket.Side
	switch f.Side {
	case polymarket.Buy.String():
		side = polymarket.Buy
	case polymarket.Sell.String():
		side = polymarket.Sell
	default:
		return nil
	}
	marks, book := tx.Bucket(bucketLeaderFills), tx.Bucket(bucketLeaders)
	if f.LeaderShares == 0 {
		return nil
	}
	var m leaderMark
	switch v := s.getMark(marks, f.ID); {
	case f.Applied:
		m = leaderMark{before: f.Before, known: f.Known}
	case v != nil:
		var err error
		if m, err = decodeLeaderMark(v); err != nil {
			return err
		}
	default:
		return nil // never applied, or its mark is gone: nothing known to undo
	}
	after, _, _ := polymarket.ApplyLeaderFill(side, m.before, m.known, f.LeaderShares)
	lk := lotKey(f.Token, f.Leader)
	var now uint64
	if cur := book.Get(lk); len(cur) == 8 {
		now = binary.BigEndian.Uint64(cur)
	}
	// Undo the fill's delta on the position as it is now (later fills moved it since).
	switch {
	case after >= m.before: // a BUY added after-before
		d := after - m.before
		now -= min(now, d)
	default: // a SELL took before-after
		now += m.before - after
	}
	var err error
	if now == 0 {
		err = book.Delete(lk)
	} else {
		err = book.Put(lk, u64(now))
	}
	if err != nil {
		return err
	}
	return marks.Delete(markKey(f.ID))
}

func orphanedCount(meta *bolt.Bucket) uint64 {
	v := meta.Get(keyOrphaned)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// OrphanedCount is how many decided leader fills a reorg removed for good, ever.
func (s *Store) OrphanedCount() (uint64, error) {
	var n uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			n = orphanedCount(meta)
		}
		return nil
	})
	return n, err
}
