package polymarket

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// ConditionResolutionSignature is the CTF event a resolved market emits:
// ConditionResolution(bytes32 indexed conditionId, address indexed oracle, bytes32 indexed
// questionId, uint256 outcomeSlotCount, uint256[] payoutNumerators).
const ConditionResolutionSignature = "ConditionResolution(bytes32,address,bytes32,uint256,uint256[])"

// ConditionResolutionTopic is its topic0.
var ConditionResolutionTopic = crypto.Keccak256Hash([]byte(ConditionResolutionSignature))

// ErrNotResolution means the log is some other event.
var ErrNotResolution = errors.New("not a ConditionResolution log")

// maxOutcomeSlots bounds the payout array polybot accepts; the CTF allows up to 256 slots.
const maxOutcomeSlots = 256

// Resolution is one ConditionResolution log: the payout of each outcome slot. An outcome
// token of slot i pays Numerators[i] / Denominator() collateral per share.
type Resolution struct {
	ConditionID common.Hash
	Oracle      common.Address
	QuestionID  common.Hash
	Numerators  []*big.Int
	Block       uint64
	TxHash      common.Hash
	LogIndex    uint
	Removed     bool
}

// Denominator is the sum of the numerators, as the CTF computes payoutDenominator.
func (r *Resolution) Denominator() *big.Int {
	d := new(big.Int)
	for _, n := range r.Numerators {
		d.Add(d, n)
	}
	return d
}

// DecodeConditionResolution decodes a ConditionResolution log, checking every length, offset
// and range so that no input can panic it.
func DecodeConditionResolution(l *types.Log) (Resolution, error) {
	if len(l.Topics) == 0 || l.Topics[0] != ConditionResolutionTopic {
		return Resolution{}, ErrNotResolution
	}
	bad := func(format string, args ...any) (Resolution, error) {
		return Resolution{}, fmt.Errorf("%w: ConditionResolution: "+format, append([]any{ErrMalformed}, args...)...)
	}
	if len(l.Topics) != 4 {
		return bad("%d topics, want 4", len(l.Topics))
	}
	oracle, err := topicAddress(l.Topics[2])
	if err != nil {
		return bad("oracle topic: %v", err)
	}
	d := l.Data
	// outcomeSlotCount, offset of the array, then the array: length and elements.
	if len(d) < 3*word {
		return bad("%d data bytes, want at least %d", len(d), 3*word)
	}
	slots, err1 := wordUint64(d[0:word])
	off, err2 := wordUint64(d[word : 2*word])
	if err := errors.Join(err1, err2); err != nil {
		return bad("%v", err)
	}
	if slots < 2 || slots > maxOutcomeSlots {
		return bad("outcome slot count %d is not between 2 and %d", slots, maxOutcomeSlots)
	}
	if off%word != 0 || off > uint64(len(d))-word {
		return bad("array offset %d is out of the data", off)
	}
	n, err := wordUint64(d[off : off+word])
	if err != nil || n != slots {
		return bad("payout array length does not match the %d outcome slots", slots)
	}
	if uint64(len(d))-off-word < n*word {
		return bad("payout array runs past the data")
	}
	r := Resolution{
		ConditionID: l.Topics[1], Oracle: oracle, QuestionID: l.Topics[3],
		Block: l.BlockNumber, TxHash: l.TxHash, LogIndex: l.Index, Removed: l.Removed,
	}
	for i := range n {
		at := off + word + i*word
		r.Numerators = append(r.Numerators, new(big.Int).SetBytes(d[at:at+word]))
	}
	if r.Denominator().Sign() == 0 {
		return bad("every payout numerator is zero")
	}
	return r, nil
}
