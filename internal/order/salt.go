package order

import (
	"encoding/binary"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// saltDomain separates polybot's salt derivation from any other keccak of the same bytes.
const saltDomain = "polybot/order-salt/v1"

// SaltFor derives the salt of the copy of the leader fill identified by (txHash, logIndex):
// keccak256(saltDomain ‖ txHash ‖ uint64be(logIndex)), its low 53 bits. A copy re-sent after a
// restart gets the same salt and, with the same timestamp and amounts, the same order hash, so
// the CLOB sees a duplicate rather than a second order. The value fits an IEEE 754 double
// exactly, which is how the CLOB parses the JSON salt. It is never zero.
func SaltFor(txHash common.Hash, logIndex uint) *big.Int {
	var buf [len(saltDomain) + 32 + 8]byte
	n := copy(buf[:], saltDomain)
	n += copy(buf[n:], txHash[:])
	binary.BigEndian.PutUint64(buf[n:], uint64(logIndex))
	h := crypto.Keccak256(buf[:])
	v := binary.BigEndian.Uint64(h[24:32]) & MaxSalt
	if v == 0 {
		v = 1
	}
	return new(big.Int).SetUint64(v)
}

// exitRetryDomain separates the salts of an exit's retries from its first copy's.
const exitRetryDomain = "polybot/exit-retry/v1"

// SaltForAttempt is the salt of attempt n of the copy of the leader fill (txHash, logIndex):
// SaltFor for attempt 0 (the copy itself), and for the nth retry of an exit that did not sell
// keccak256(saltDomain ‖ txHash ‖ uint64be(logIndex) ‖ exitRetryDomain ‖ uint64be(n)), its low
// 53 bits, never zero. Each retry is an order of its own, and its salt still names the leader
// fill and the attempt, so that every order at the CLOB is accounted for by one intent.
func SaltForAttempt(txHash common.Hash, logIndex, attempt uint) *big.Int {
	if attempt == 0 {
		return SaltFor(txHash, logIndex)
	}
	var buf [len(saltDomain) + 32 + 8 + len(exitRetryDomain) + 8]byte
	n := copy(buf[:], saltDomain)
	n += copy(buf[n:], txHash[:])
	binary.BigEndian.PutUint64(buf[n:], uint64(logIndex))
	n += 8
	n += copy(buf[n:], exitRetryDomain)
	binary.BigEndian.PutUint64(buf[n:], uint64(attempt))
	h := crypto.Keccak256(buf[:])
	v := binary.BigEndian.Uint64(h[24:32]) & MaxSalt
	if v == 0 {
		v = 1
	}
	return new(big.Int).SetUint64(v)
}
