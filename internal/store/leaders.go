package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"

	"github.com/polybot/polybot/internal/polymarket"
)

// The leader book: each leader's position per token, from every leader fill polybot decided,
// so that a leader SELL is copied as the same fraction of polybot's position, across
// restarts. Record moves it in the transaction that logs the fill's decision, and marks the
// fill as applied, so a fill decided again after a crash (a skip is not journaled as an
// intent) moves it only once: the mark keeps the position from before the fill, which
// LeaderPosition returns for that fill. A position that goes to zero, or that a SELL shows
// to be unknown, is deleted; PruneLeaderToken deletes a token's entries when its market
// resolves (where the resolution watcher runs: live and paper_book); Compact drops marks older
// than IntentsMaxAge and, in every mode, forgets a leader position that has not moved for
// ClosedPositionsMaxAge while polybot holds no lot copied from that leader in that token
// (pruneLeaderBook). The book thus holds only open leader positions that are recent or back
// a position of polybot's.
var (
	bucketLeaders     = []byte("leaders")       // token ‖ 0 ‖ leader -> position (8 bytes)
	bucketLeaderFills = []byte("leader_fills")  // IntentID key -> leaderMark
	bucketLeaderMoved = []byte("leaders_moved") // token ‖ 0 ‖ leader -> Unix seconds of its last move (8 bytes)
)

// leaderMark is a fill applied to the leader book: when, and the position before it.
type leaderMark struct {
	at     time.Time
	before uint64
	known  bool
}

// A mark is stored under markKey, the first markKeyLen bytes of the SHA-256 of the fill's
// IntentID key (72 bytes), as a flags byte (markFormat, | 1 when known), the Unix second it
// was applied and the position before it, both uvarints: about 30 bytes with the key, where
// schema version 1 stored 89 (the id's key and 17 fixed bytes, encodeV1). A mark is looked
// up, never listed by id, and 20 bytes of SHA-256 do not collide among the marks of a day.
const (
	markKeyLen = 20
	markFormat = 0x80 // a version 1 value starts with the high byte of Unix nanoseconds, below 0x80
)

func markKey(id IntentID) []byte {
	h := sha256.Sum256(id.key())
	return h[:markKeyLen]
}

func (m leaderMark) encode() []byte {
	b := make([]byte, 1, 1+2*binary.MaxVarintLen64)
	b[0] = markFormat
	if m.known {
		b[0] |= 1
	}
	b = binary.AppendUvarint(b, uint64(max(0, m.at.Unix())))
	return binary.AppendUvarint(b, m.before)
}

// encodeV1 is the mark as schema version 1 stored it (under id.key()).
func (m leaderMark) encodeV1() []byte {
	b := make([]byte, 17)
	binary.BigEndian.PutUint64(b, uint64(max(0, m.at.UnixNano())))
	binary.BigEndian.PutUint64(b[8:], m.before)
	if m.known {
		b[16] = 1
	}
	return b
}

func decodeLeaderMark(v []byte) (leaderMark, error) {
	if len(v) > 0 && v[0]&^1 == markFormat {
		at, n := binary.Uvarint(v[1:])
		before, m := binary.Uvarint(v[1+max(n, 0):])
		if n <= 0 || m <= 0 || 1+n+m != len(v) {
			return leaderMark{}, fmt.Errorf("malformed leader fill mark %x", v)
		}
		return leaderMark{at: time.Unix(int64(at), 0), before: before, known: v[0]&1 == 1}, nil
	}
	if len(v) != 17 {
		return leaderMark{}, fmt.Errorf("leader fill mark is %d bytes, want 17", len(v))
	}
	return leaderMark{at: time.Unix(0, int64(binary.BigEndian.Uint64(v))), before: binary.BigEndian.Uint64(v[8:]), known: v[16] == 1}, nil
}

// migrateMark is a version 1 mark (k, v) as version 2 stores it; other pairs are returned as
// they are.
func migrateMark(k, v []byte) ([]byte, []byte, error) {
	if len(v) != 17 || (len(k) != 72 && len(k) != 40) {
		return k, v, nil
	}
	m, err := decodeLeaderMark(v)
	if err != nil {
		return nil, nil, err
	}
	h := sha256.Sum256(k)
	return h[:markKeyLen], m.encode(), nil
}

// getMark finds id's mark: under markKey, or in a version 1 file (opened read-only, not
// migrated) under the id's key.
func (s *Store) getMark(marks *bolt.Bucket, id IntentID) []byte {
	if v := marks.Get(markKey(id)); v != nil || s.version != 1 {
		return v
	}
	return marks.Get(id.key())
}

// LeaderPosition is the leader's position in token before the fill id: for a fill already
// applied to the book (decided before a restart), the position it found; otherwise the
// position now. known is false when polybot has not seen the leader hold the token.
func (s *Store) LeaderPosition(leader common.Address, token string, id IntentID) (before uint64, known bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		marks, book := tx.Bucket(bucketLeaderFills), tx.Bucket(bucketLeaders)
		if marks == nil || book == nil { // a file from before the leader book, opened read-only
			return nil
		}
		if v := s.getMark(marks, id); v != nil {
			m, err := decodeLeaderMark(v)
			if err != nil {
				return err
			}
			before, known = m.before, m.known
			return nil
		}
		if v := book.Get(lotKey(token, leader)); len(v) == 8 {
			before, known = binary.BigEndian.Uint64(v), true
		}
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("read leader position: %w", err)
	}
	return before, known, nil
}

// LeaderPositions returns every open leader position: token -> leader -> shares.
func (s *Store) LeaderPositions() (map[string]map[common.Address]uint64, error) {
	out := make(map[string]map[common.Address]uint64)
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLeaders)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			i := bytes.IndexByte(k, 0)
			if i < 0 || len(k)-i-1 != common.AddressLength || len(v) != 8 {
				return fmt.Errorf("malformed leader position %x", k)
			}
			token := string(k[:i])
			if out[token] == nil {
				out[token] = make(map[common.Address]uint64)
			}
			out[token][common.BytesToAddress(k[i+1:])] = binary.BigEndian.Uint64(v)
			return nil
		})
	})
	return out, err
}

// applyLeaderFill moves the leader book by the decision d's leader fill, once per fill. A
// journaled fill (its decision begins an intent in the same transaction) gets no mark: its
// intent, kept at least as long as a mark, already stops the fill from being decided again
// (Record fails with ErrIntentExists, and the executor reads the intent before it decides), so
// nothing would read the mark.
// It returns the mark of what it applied (applied false when it applied nothing), which the
// reorg record keeps for a journaled fill, the one place that may need to undo it.
func (s *Store) applyLeaderFill(tx *bolt.Tx, d *Decision, journaled bool) (mark leaderMark, applied bool, err error) {
	var side polymarket.Side
	switch d.Side {
	case polymarket.Buy.String():
		side = polymarket.Buy
	case polymarket.Sell.String():
		side = polymarket.Sell
	default:
		return leaderMark{}, false, nil
	}
	marks, book := tx.Bucket(bucketLeaderFills), tx.Bucket(bucketLeaders)
	id := IntentID{Tx: d.Tx, LogIndex: d.LogIndex, OrderHash: d.OrderHash, Nth: d.Nth}
	if s.getMark(marks, id) != nil {
		return leaderMark{}, false, nil // applied when the fill was first decided
	}
	k := lotKey(d.Token, d.Leader)
	var before uint64
	v := book.Get(k)
	held := len(v) == 8
	if held {
		before = binary.BigEndian.Uint64(v)
	}
	after, keep, _ := polymarket.ApplyLeaderFill(side, before, held, d.LeaderShares)
	moved := tx.Bucket(bucketLeaderMoved)
	if keep {
		err = book.Put(k, u64(after))
		if err == nil {
			err = moved.Put(k, u64(uint64(max(0, s.opts.Now().Unix()))))
		}
	} else if held {
		err = book.Delete(k)
		if err == nil {
			err = moved.Delete(k)
		}
	}
	if err != nil {
		return leaderMark{}, false, err
	}
	mark = leaderMark{at: s.opts.Now(), before: before, known: held}
	if journaled {
		return mark, true, nil
	}
	return mark, true, marks.Put(markKey(id), mark.encode())
}

// PruneLeaderToken forgets every leader's position in token, for a market that resolved: no
// leader trades it again. It returns how many positions it removed.
func (s *Store) PruneLeaderToken(token string) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bucketLeaders)
		prefix := append([]byte(token), 0)
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, bytes.Clone(k))
		}
		moved := tx.Bucket(bucketLeaderMoved)
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
			if err := moved.Delete(k); err != nil {
				return err
			}
		}
		n = len(keys)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune leader positions of token %s: %w", token, err)
	}
	return n, nil
}

// pruneLeaderMarks drops the marks of fills applied before cut, in batches.
func (s *Store) pruneLeaderMarks(cut time.Time) (int, error) {
	total := 0
	var from []byte
	for {
		n, scanned := 0, 0
		var next []byte
		err := s.update(func(tx *bolt.Tx) error {
			n, scanned, next = 0, 0, nil
			b := tx.Bucket(bucketLeaderFills)
			var keys [][]byte
			c := b.Cursor()
			k, v := c.First()
			if from != nil {
				k, v = c.Seek(from)
			}
			for ; k != nil && scanned < compactBatch; k, v = c.Next() {
				scanned++
				m, err := decodeLeaderMark(v)
				if err != nil || m.at.Before(cut) {
					keys = append(keys, bytes.Clone(k))
				}
			}
			if k != nil {
				next = bytes.Clone(k)
			}
			for _, k := range keys {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		total += n
		if err != nil || next == nil {
			return total, err
		}
		from = next
	}
}

// pruneLeaderBook forgets the leader positions that have not moved since before cut and back
// no lot of polybot's (no copy of that leader's fills in that token is held), in batches, and
// returns how many it forgot. Without a CLOB polybot does not learn when a market resolves
// (plain paper mode), and a leader who left a market never sells in it: an untouched position
// would stay for ever. Forgetting one only changes how a later SELL of that leader in that
// token is read (as of an unknown position), and polybot then holds nothing copied from that
// leader there to sell. A position with no stamp (written before stamps were kept) is stamped
// now and ages from then; a stamp whose position is gone is dropped.
func (s *Store) pruneLeaderBook(now, cut time.Time) (int, error) {
	stamp := u64(uint64(max(0, now.Unix())))
	cutAt := uint64(max(0, cut.Unix()))
	err := s.eachInBatches(bucketLeaders, func(tx *bolt.Tx, k, _ []byte) error {
		if moved := tx.Bucket(bucketLeaderMoved); moved.Get(k) == nil {
			return moved.Put(k, stamp)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	total := 0
	err = s.eachInBatches(bucketLeaderMoved, func(tx *bolt.Tx, k, v []byte) error {
		book, moved := tx.Bucket(bucketLeaders), tx.Bucket(bucketLeaderMoved)
		switch {
		case book.Get(k) == nil:
			return moved.Delete(k)
		case len(v) != 8:
			return moved.Put(k, stamp) // unreadable: it ages from now
		case binary.BigEndian.Uint64(v) >= cutAt, tx.Bucket(bucketLots).Get(k) != nil:
			return nil
		}
		total++
		if err := book.Delete(k); err != nil {
			return err
		}
		return moved.Delete(k)
	})
	return total, err
}

// eachInBatches calls fn for every key of bucket, compactBatch keys a transaction; fn may
// delete or write the key it is given.
func (s *Store) eachInBatches(bucket []byte, fn func(tx *bolt.Tx, k, v []byte) error) error {
	var from []byte
	for {
		var next []byte
		err := s.update(func(tx *bolt.Tx) error {
			next = nil
			var keys, vals [][]byte
			c := tx.Bucket(bucket).Cursor()
			k, v := c.First()
			if from != nil {
				k, v = c.Seek(from)
			}
			for ; k != nil && len(keys) < compactBatch; k, v = c.Next() {
				keys, vals = append(keys, bytes.Clone(k)), append(vals, bytes.Clone(v))
			}
			if k != nil {
				next = bytes.Clone(k)
			}
			for i := range keys {
				if err := fn(tx, keys[i], vals[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil || next == nil {
			return err
		}
		from = next
	}
}
