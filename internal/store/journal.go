package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/polybot/polybot/internal/polymarket"
)

// Record logs the decision d on one leader fill and, when in is not nil (the decision places
// an order), begins in as BeginIntent does, in one transaction (shared with concurrent writes by
// the group commit, fsynced before Record returns), and
// after a crash either both are on disk or neither is. A decision that places an order is
// therefore never logged without its intent. A decision with LeaderShares moves the leader
// book by its leader fill in the same transaction, once per fill (see LeaderPosition). It fails with ErrIntentExists, and logs
// nothing, when the fill already has an intent.
func (s *Store) Record(d Decision, in *Intent) error { return s.record(d, in, nil) }

// record is Record with, when extra is not nil, one more write in its transaction.
func (s *Store) record(d Decision, in *Intent, extra func(tx *bolt.Tx) error) error {
	if in != nil && (in.Token == "" || in.Shares == 0 || (in.Side != polymarket.Buy && in.Side != polymarket.Sell)) {
		return fmt.Errorf("record decision: begin intent %s: %w: token, shares and side are required", in.ID, ErrBadIntent)
	}
	err := s.update(func(tx *bolt.Tx) error {
		if in != nil {
			if err := s.beginIntent(tx, *in); err != nil {
				return fmt.Errorf("begin intent %s: %w", in.ID, err)
			}
		}
		var mark *leaderMark
		if d.LeaderShares > 0 {
			m, applied, err := s.applyLeaderFill(tx, &d, in != nil)
			if err != nil {
				return fmt.Errorf("leader book: %w", err)
			}
			if applied {
				mark = &m
			}
		}
		if err := s.noteFillBlock(tx, &d, in != nil, mark); err != nil {
			return fmt.Errorf("fill block: %w", err)
		}
		if extra != nil {
			if err := extra(tx); err != nil {
				return err
			}
		}
		return s.appendDecision(tx, d)
	})
	if err != nil {
		return fmt.Errorf("record decision: %w", err)
	}
	return nil
}
