package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"
)

// Market is where an outcome token sits in its market: the CTF condition, the token's outcome
// slot and whether the market is neg-risk (which decides how winnings are redeemed).
type Market struct {
	Condition common.Hash
	Outcome   int // slot index: the token's index set is 1 << Outcome
	Slots     int
	NegRisk   bool
}

// Resolution is how a resolved market closed a position: the payout its shares were worth
// (shares × numerator / denominator, rounded down) and, in live trading, the redemption.
type Resolution struct {
	Numerator   string // decimal: payoutNumerators[Outcome]
	Denominator string // decimal: the sum of the payout numerators
	Shares      uint64 // shares held when the market resolved
	Payout      uint64 // collateral the shares redeem for
	PnL         int64  // Payout less the cost of the shares
	Tx          common.Hash
	Block       uint64
	// RedeemTx is the redemption transaction once sent; zero while pending (or in paper mode,
	// where nothing is redeemed). RedeemError is the last failed attempt's error.
	RedeemTx    common.Hash `json:",omitempty"`
	RedeemedAt  time.Time   `json:",omitempty"`
	RedeemError string      `json:",omitempty"`
	// RedeemState is where the redemption stands (RedeemSent, RedeemPaid; empty before the
	// first send, and also for a RedeemTx recorded before polybot checked receipts, which
	// counts as done). RedeemPaid is the collateral the receipt showed arriving, RedeemAttempts
	// the failed attempts so far, RedeemRetryAt the earliest next attempt after a failure.
	RedeemState    string    `json:",omitempty"`
	RedeemPaid     uint64    `json:",omitempty"`
	RedeemAttempts int       `json:",omitempty"`
	RedeemRetryAt  time.Time `json:",omitempty"`
}

// ErrNoPosition is returned by SetMarket for a token with no open position.
var ErrNoPosition = errors.New("no open position in the token")

var keyResolutionCursor = []byte("resolution_cursor")

// SetMarket records which market token's open position sits in.
func (s *Store) SetMarket(token string, m Market) error {
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPositions)
		var p Position
		found, err := get(b, []byte(token), &p)
		if err != nil {
			return err
		}
		if !found {
			return ErrNoPosition
		}
		p.Market = &m
		return put(b, []byte(token), p)
	})
}

// Resolve closes token's open position at the payout of its resolved market: numerator /
// denominator collateral per share, exactly. The realised P&L (payout less cost) counts in the
// position and in the trading day of now; the position moves to the closed positions and its
// lots are deleted, so it no longer counts against any limit. It returns the closed position,
// or false when no position was open (already resolved, or sold).
func (s *Store) Resolve(token string, numerator, denominator *big.Int, txHash common.Hash, block uint64, now time.Time) (Position, bool, error) {
	if denominator == nil || numerator == nil || denominator.Sign() <= 0 || numerator.Sign() < 0 || numerator.Cmp(denominator) > 0 {
		return Position{}, false, fmt.Errorf("resolve %s: payout %v/%v is not a fraction between 0 and 1", token, numerator, denominator)
	}
	var pos Position
	var found bool
	err := s.update(func(tx *bolt.Tx) error {
		positions := tx.Bucket(bucketPositions)
		var err error
		if found, err = get(positions, []byte(token), &pos); err != nil || !found {
			return err
		}
		payout := new(big.Int).SetUint64(pos.Shares)
		payout.Mul(payout, numerator).Quo(payout, denominator) // ≤ shares: fits a uint64
		pnl := signedDiff(payout.Uint64(), pos.Cost)
		pos.Resolution = &Resolution{Numerator: numerator.String(), Denominator: denominator.String(),
			Shares: pos.Shares, Payout: payout.Uint64(), PnL: pnl, Tx: txHash, Block: block}
		pos.Realised = addSigned(pos.Realised, pnl)
		pos.Shares, pos.Cost = 0, 0
		pos.UpdatedAt, pos.ClosedAt = now, now

		day := s.dayStart(now)
		dk := u64(uint64(day.Unix()))
		var daily Daily
		if _, err := get(tx.Bucket(bucketDaily), dk, &daily); err != nil {
			return err
		}
		daily.Day = day
		daily.Realised = addSigned(daily.Realised, pnl)
		if err := put(tx.Bucket(bucketDaily), dk, daily); err != nil {
			return err
		}
		if err := resolveLeaders(tx, token, payout.Uint64(), pnl, numerator, denominator); err != nil {
			return err
		}
		if err := deleteLots(tx.Bucket(bucketLots), token); err != nil {
			return err
		}
		if err := positions.Delete([]byte(token)); err != nil {
			return err
		}
		return put(tx.Bucket(bucketClosed), closedKey(now, token), pos)
	})
	if err != nil {
		return Position{}, false, fmt.Errorf("resolve %s: %w", token, err)
	}
	return pos, found, nil
}

func closedKey(closedAt time.Time, token string) []byte {
	return append(timeKey(closedAt), token...)
}

func deleteLots(lots *bolt.Bucket, token string) error {
	prefix := append([]byte(token), 0)
	var keys [][]byte
	c := lots.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := lots.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// PendingRedemptions returns the resolved positions with a payout whose redemption has not been
// sent, or was sent and its receipt not yet shown to pay, oldest first. Compaction bounds how far
// back it looks (store.closed_positions_max_age).
func (s *Store) PendingRedemptions() ([]Position, error) {
	closed, err := s.ClosedPositions(time.Time{})
	if err != nil {
		return nil, err
	}
	var out []Position
	for _, p := range closed {
		if r := p.Resolution; r != nil && r.Payout > 0 && (r.RedeemTx == (common.Hash{}) || r.RedeemState == RedeemSent) {
			out = append(out, p)
		}
	}
	return out, nil
}

// RecordRedemption records the outcome of redeeming the resolved position p (as
// PendingRedemptions returned it): the transaction sent, or the error of a failed attempt.
func (s *Store) RecordRedemption(p Position, txHash common.Hash, attemptErr error, now time.Time) error {
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
		if attemptErr != nil {
			cur.Resolution.RedeemError = attemptErr.Error()
		} else {
			cur.Resolution.RedeemTx, cur.Resolution.RedeemedAt, cur.Resolution.RedeemError = txHash, now, ""
		}
		return put(b, k, cur)
	})
}

// ResolutionCursor is the last block the resolution watcher has read; false before its first
// run.
func (s *Store) ResolutionCursor() (uint64, bool, error) {
	var n uint64
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyResolutionCursor)
		if len(v) == 8 {
			n, found = be64(v), true
		}
		return nil
	})
	return n, found, err
}

// SetResolutionCursor records the last block the resolution watcher has read.
func (s *Store) SetResolutionCursor(block uint64) error {
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyResolutionCursor, u64(block)) })
}

func be64(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n
}
