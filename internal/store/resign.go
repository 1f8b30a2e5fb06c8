package store

import (
	"encoding/json"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"
)

// ResignIntent records that the pending intent id now names another signed order: its order
// was refused as signed for an order version the CLOB no longer takes (order_version_mismatch:
// it did not trade), and the same copy, signed for the version the CLOB now wants, is about to
// be sent in its place. The intent stays one intent for one fill, so the decision and intent
// accounting is unchanged: it is not a second copy. newOrder is the new signed order's journal
// (what a restart sends should a crash stop it before it leaves).
//
// It fails with ErrIntentCompleted unless the intent is pending (not open, not completed) and
// still names the refused order oldHash: an order that may rest or have traded is never
// replaced. The refused order's hash stays indexed to the intent: should the chain ever show
// it filled, the fill is still matched to this copy (trust no silence).
func (s *Store) ResignIntent(id IntentID, oldHash, newHash common.Hash, newOrder json.RawMessage) error {
	if newHash == (common.Hash{}) || newHash == oldHash {
		return fmt.Errorf("re-sign intent %s: %w: the new order hash must be set and differ from the old", id, ErrBadIntent)
	}
	err := s.update(func(tx *bolt.Tx) error {
		intents := tx.Bucket(bucketIntents)
		k, in, err := unfinished(intents, id)
		if err != nil {
			return err
		}
		if in.Status != StatusPending || in.OrderHash != oldHash {
			return fmt.Errorf("%w: status %s, order %s (re-signing %s)", ErrIntentCompleted, in.Status, in.OrderHash.Hex(), oldHash.Hex())
		}
		in.OrderHash, in.Order = newHash, newOrder
		if err := put(intents, k, in); err != nil {
			return err
		}
		return indexOrder(tx, newHash, k)
	})
	if err != nil {
		return fmt.Errorf("re-sign intent %s: %w", id, err)
	}
	return nil
}
