package dedup

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// FillKey returns the key of an OrderFilled log by what identifies the fill wherever its
// transaction lands: the transaction, the filled order's hash, and nth, how many fills of that
// order the transaction made before it. A reorg that includes the transaction again, at other
// log indexes of another block, gives the same keys. The two hashes are combined by keccak256
// and folded as in KeyOf.
func FillKey(txHash, orderHash common.Hash, nth uint) Key {
	return KeyOf(crypto.Keccak256Hash(txHash[:], orderHash[:]), nth)
}
