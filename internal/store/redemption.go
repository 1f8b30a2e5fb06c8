package store

import (
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"
)

// The states of a redemption (Resolution.RedeemState).
const (
	// RedeemSent: the transaction was sent; its receipt has not shown the winnings arriving yet.
	// A restart checks that transaction's receipt again instead of sending another.
	RedeemSent = "sent"
	// RedeemPaid: the receipt succeeded and showed the payout event and the collateral arriving.
	RedeemPaid = "paid"
)

// RedemptionSent records that p's redemption was sent in txHash at now; it stays pending
// until RedemptionPaid or RedemptionFailed.
func (s *Store) RedemptionSent(p Position, txHash common.Hash, now time.Time) error {
	return s.updateResolution(p, func(r *Resolution) {
		r.RedeemState, r.RedeemTx, r.RedeemedAt = RedeemSent, txHash, now
	})
}

// RedemptionPaid records that p's redemption paid `paid` collateral (its receipt showed it).
func (s *Store) RedemptionPaid(p Position, paid uint64, now time.Time) error {
	return s.updateResolution(p, func(r *Resolution) {
		r.RedeemState, r.RedeemPaid, r.RedeemedAt, r.RedeemError, r.RedeemRetryAt = RedeemPaid, paid, now, "", time.Time{}
	})
}

// RedemptionFailed records a failed redemption of p (not sent, reverted, paid nothing or never
// mined): the error is kept for the operator, the transaction forgotten, and the next attempt
// waits until retryAt.
func (s *Store) RedemptionFailed(p Position, attemptErr error, retryAt time.Time) error {
	return s.updateResolution(p, func(r *Resolution) {
		r.RedeemState, r.RedeemTx, r.RedeemedAt = "", common.Hash{}, time.Time{}
		r.RedeemError, r.RedeemRetryAt = attemptErr.Error(), retryAt
		r.RedeemAttempts++
	})
}

func (s *Store) updateResolution(p Position, fn func(r *Resolution)) error {
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketClosed)
		k := closedKey(p.ClosedAt, p.Token)
		var cur Position
		found, err := get(b, k, &cur)
		if err != nil {
			return err
		}
		if !found || cur.Resolution == nil {
			return fmt.Errorf("record redemption of %s: the resolved position is no longer in the store", p.Token)
		}
		fn(cur.Resolution)
		return put(b, k, cur)
	})
}

// RedemptionSummary is what `polybot status` tells of redemptions.
type RedemptionSummary struct {
	Waiting  int // not sent yet (first attempt)
	Checking int // sent, receipt not checked yet
	Failing  int // failed at least once and not paid since
	Paid     int
	// LastError is the failing redemption's latest error, with its token.
	LastError, LastErrorToken string
}

// Redemptions summarises the redemptions of the resolved positions the store keeps.
func (s *Store) Redemptions() (RedemptionSummary, error) {
	closed, err := s.ClosedPositions(time.Time{})
	if err != nil {
		return RedemptionSummary{}, err
	}
	var out RedemptionSummary
	for _, p := range closed {
		r := p.Resolution
		if r == nil || r.Payout == 0 {
			continue
		}
		switch {
		case r.RedeemState == RedeemPaid || (r.RedeemState == "" && r.RedeemTx != common.Hash{}):
			out.Paid++
			continue
		case r.RedeemState == RedeemSent:
			out.Checking++
		case r.RedeemAttempts == 0:
			out.Waiting++
		}
		if r.RedeemError != "" && r.RedeemAttempts > 0 {
			out.Failing++
			out.LastError, out.LastErrorToken = r.RedeemError, p.Token
		}
	}
	return out, nil
}
