package store

import (
	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"
)

// FillTxsOf returns the transactions of up to max leader fills copied into token, newest
// intents first: where the chain says which market token is in (the exchange's matchOrders
// call names its condition). It reads every intent, so it is for the rare token whose market
// is not known yet after a restart.
func (s *Store) FillTxsOf(token string, max int) ([]common.Hash, error) {
	var out []common.Hash
	seen := make(map[common.Hash]bool)
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketIntents).Cursor()
		for k, v := c.Last(); k != nil && len(out) < max; k, v = c.Prev() {
			var in Intent
			if v == nil || jsonDecode(v, &in) != nil || in.Token != token || seen[in.ID.Tx] {
				continue // a damaged record is the store checks' business, not this lookup's
			}
			seen[in.ID.Tx] = true
			out = append(out, in.ID.Tx)
		}
		return nil
	})
	return out, err
}
