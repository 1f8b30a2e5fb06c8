package polymarket

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// This file ties an outcome token to its market from the chain alone: the market (condition id)
// a trade settled in is the first argument of the V2 exchange's matchOrders call, and the
// Conditional Tokens contract derives every outcome token id from its condition, so the
// derivation proves which condition and outcome slot a token belongs to, whoever sent the data.

// WrappedCollateral is the NegRiskAdapter's wrapped USDC.e: the collateral neg-risk markets'
// outcome tokens are backed by (neg-risk addresses.json; polymarket.md 1).
var WrappedCollateral = common.HexToAddress("0x3A3BD7bb9528E159577F7C2e685CC81A765002E2")

// PositionCollaterals are the collaterals Polymarket's outcome tokens may be derived over: USDC.e
// for standard markets, WrappedCollateral for neg-risk ones, and pUSD, in case V2 markets derive
// theirs over it (polymarket.md 8: unverified). A candidate that is not the real one cannot make
// a wrong match: the id is a keccak256 of collateral and collection.
var PositionCollaterals = []common.Address{USDCe, WrappedCollateral, CollateralPUSD}

// altBN128P is the alt_bn128 base field modulus, and altBN128B its curve's b (y² = x³ + 3), as the
// Conditional Tokens contract's CTHelpers.sol declares them.
var (
	altBN128P, _ = new(big.Int).SetString("21888242871839275222246405745257275088696311157297823662689037894645226208583", 10)
	altBN128B    = big.NewInt(3)
	// sqrtExp is (P+1)/4: P ≡ 3 (mod 4), so x^((P+1)/4) is a square root of x when x has one.
	sqrtExp = new(big.Int).Rsh(new(big.Int).Add(altBN128P, big.NewInt(1)), 2)
)

// CollectionID is the CTF's getCollectionId(bytes32(0), conditionID, indexSet): the outcome
// collection of the slots in indexSet, with no parent collection. It follows CTHelpers.sol of
// gnosis/conditional-tokens-contracts (commit 2cf0aee): x = keccak256(conditionId ‖ indexSet),
// odd = its top bit; x is stepped (x+1 mod P) until x³+3 is a square mod P; y is the root whose
// parity is odd's; the id is x with bit 254 set when y is odd.
func CollectionID(conditionID common.Hash, indexSet *big.Int) common.Hash {
	h := crypto.Keccak256(conditionID.Bytes(), common.LeftPadBytes(indexSet.Bytes(), 32))
	x := new(big.Int).SetBytes(h)
	odd := x.Bit(255) == 1
	y, yy := new(big.Int), new(big.Int)
	for {
		x.Add(x, big.NewInt(1)).Mod(x, altBN128P)
		yy.Mul(x, x).Mod(yy, altBN128P)
		yy.Mul(yy, x).Add(yy, altBN128B).Mod(yy, altBN128P)
		y.Exp(yy, sqrtExp, altBN128P)
		if new(big.Int).Mod(new(big.Int).Mul(y, y), altBN128P).Cmp(yy) == 0 {
			break
		}
	}
	if odd == (y.Bit(0) == 0) { // odd && y even, or even && y odd: take the other root
		y.Sub(altBN128P, y)
	}
	if y.Bit(0) == 1 {
		x.SetBit(x, 254, x.Bit(254)^1)
	}
	return common.BigToHash(x)
}

// PositionID is the CTF's getPositionId(collateral, collectionID): the ERC-1155 id of the
// outcome token, keccak256(collateral ‖ collectionId) (CTHelpers.sol).
func PositionID(collateral common.Address, collectionID common.Hash) *big.Int {
	return new(big.Int).SetBytes(crypto.Keccak256(collateral.Bytes(), collectionID.Bytes()))
}

// ConditionIDOf is the CTF's getConditionId: keccak256(oracle ‖ questionId ‖ outcomeSlotCount).
func ConditionIDOf(oracle common.Address, questionID common.Hash, slots int) common.Hash {
	return crypto.Keccak256Hash(oracle.Bytes(), questionID.Bytes(), common.LeftPadBytes(big.NewInt(int64(slots)).Bytes(), 32))
}

// SlotOf returns token's outcome slot in the condition of slots outcomes, and the collateral it is
// derived over: the slot i whose position id over one of collaterals, for index set 1<<i, is
// token. false when token is none of them (another condition, or a derivation polybot does not
// know).
func SlotOf(conditionID common.Hash, slots int, token *big.Int, collaterals []common.Address) (int, common.Address, bool) {
	if token == nil || slots < 2 || slots > 256 {
		return 0, common.Address{}, false
	}
	for i := range slots {
		coll := CollectionID(conditionID, new(big.Int).Lsh(big.NewInt(1), uint(i)))
		for _, c := range collaterals {
			if PositionID(c, coll).Cmp(token) == 0 {
				return i, c, true
			}
		}
	}
	return 0, common.Address{}, false
}

// MatchOrdersV2Selector is the 4-byte selector of the V2 exchanges' matchOrders(bytes32
// conditionId, Order takerOrder, Order[] makerOrders, uint256 takerFillAmount, uint256[]
// makerFillAmounts, uint256 takerFeeAmount, uint256[] makerFeeAmounts), with Order = (uint256
// salt, address maker, address signer, uint256 tokenId, uint256 makerAmount, uint256
// takerAmount, uint8 side, uint8 signatureType, uint256 timestamp, bytes32 metadata, bytes32
// builder, bytes signature) (clob-client-v2 src/order-utils/abi/ExchangeV2.ts; polymarket.md 3b).
var MatchOrdersV2Selector = crypto.Keccak256([]byte("matchOrders(bytes32," + orderTuple + "," + orderTuple + "[],uint256,uint256[],uint256,uint256[])"))[:4]

const orderTuple = "(uint256,address,address,uint256,uint256,uint256,uint8,uint8,uint256,bytes32,bytes32,bytes)"

// ErrNotMatchOrders says a transaction's input is not a V2 matchOrders call.
var ErrNotMatchOrders = errors.New("not a V2 matchOrders call")

// MatchOrdersCondition returns the condition id a V2 matchOrders call settles in: its first
// argument, a static word right after the selector.
func MatchOrdersCondition(input []byte) (common.Hash, error) {
	if len(input) < 4+32 || !bytes.Equal(input[:4], MatchOrdersV2Selector) {
		return common.Hash{}, fmt.Errorf("%w (%d bytes)", ErrNotMatchOrders, len(input))
	}
	return common.BytesToHash(input[4:36]), nil
}
