// Package chainlog builds the chain logs polybot's fakes and tests emit (OrderFilled V1/V2,
// ConditionResolution) from an independent source of their layout: go-ethereum's abi package
// driven by the exchanges' official ABI (testdata/*.abi.json; testdata/SOURCES.md names where
// each file comes from). It deliberately shares no code with package polymarket, whose decoder
// these logs check: a layout mistake in the decoder cannot be mirrored here.
package chainlog

import (
	"bytes"
	_ "embed"
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
)

var (
	//go:embed testdata/ctf-exchange-v1-events.abi.json
	v1JSON []byte
	//go:embed testdata/ctf-exchange-v2-events.abi.json
	v2JSON []byte
	//go:embed testdata/conditional-tokens-events.abi.json
	ctfJSON []byte

	// OrderFilledV1, OrderFilledV2 and ConditionResolution are the official events; their
	// ID is the topic0 a log carries.
	OrderFilledV1       = event(v1JSON, "OrderFilled")
	OrderFilledV2       = event(v2JSON, "OrderFilled")
	ConditionResolution = event(ctfJSON, "ConditionResolution")
	// OrdersMatchedV2 closes every V2 match.
	OrdersMatchedV2 = event(v2JSON, "OrdersMatched")
)

func event(js []byte, name string) abi.Event {
	a, err := abi.JSON(bytes.NewReader(js))
	if err != nil {
		panic(fmt.Sprintf("chainlog: the embedded ABI does not parse: %v", err))
	}
	ev, ok := a.Events[name]
	if !ok {
		panic("chainlog: the embedded ABI has no event " + name)
	}
	return ev
}

// Trade is one order's fill as the exchange reports it: the order (hash, maker), the match's
// other side (taker: the taker order's maker, or the exchange itself when this order was the
// taker), the order's side, the outcome token, and the amounts in 6-decimal base units.
type Trade struct {
	OrderHash  common.Hash
	Maker      common.Address
	Taker      common.Address
	Sell       bool     // the order's side: BUY (false) or SELL (true)
	TokenID    *big.Int // the outcome token (CTF position id)
	Shares     uint64   // outcome tokens that changed hands
	Collateral uint64   // collateral that changed hands, gross of the fee
	Fee        uint64
	Builder    common.Hash // V2 only
	Metadata   common.Hash // V2 only
}

// makingTaking is what the order gave (making) and received (taking). The exchanges report
// amounts from the order's side: a BUY order's maker gives collateral and takes outcome tokens,
// a SELL order's maker gives outcome tokens and takes collateral (ctf-exchange
// src/exchange/mixins/Trading.sol, _fillOrder: _transfer(order.maker, to, makerAssetId, making)
// with makerAssetId = 0 (collateral) for a BUY, OrderStructs.sol; V2 Events.sol documents the
// same makerAmountFilled/takerAmountFilled per side).
func (t Trade) makingTaking() (making, taking *big.Int) {
	c, s := new(big.Int).SetUint64(t.Collateral), new(big.Int).SetUint64(t.Shares)
	if t.Sell {
		return s, c
	}
	return c, s
}

// side is the exchanges' Side enum: BUY = 0, SELL = 1 (OrderStructs.sol, enum Side).
func (t Trade) side() uint8 {
	if t.Sell {
		return 1
	}
	return 0
}

// V2 returns the topics and data of the V2 exchanges' OrderFilled log for t.
func (t Trade) V2() (topics []common.Hash, data []byte) {
	making, taking := t.makingTaking()
	return build(OrderFilledV2, []any{t.OrderHash, t.Maker, t.Taker},
		t.side(), t.TokenID, making, taking, new(big.Int).SetUint64(t.Fee), [32]byte(t.Builder), [32]byte(t.Metadata))
}

// V1 returns the topics and data of the V1 exchanges' OrderFilled log for t. V1 names assets by
// id, with 0 for collateral: a BUY gives asset 0 and takes the token, a SELL the reverse.
func (t Trade) V1() (topics []common.Hash, data []byte) {
	making, taking := t.makingTaking()
	makerAsset, takerAsset := new(big.Int), new(big.Int).Set(t.TokenID)
	if t.Sell {
		makerAsset, takerAsset = takerAsset, makerAsset
	}
	return build(OrderFilledV1, []any{t.OrderHash, t.Maker, t.Taker},
		makerAsset, takerAsset, making, taking, new(big.Int).SetUint64(t.Fee))
}

// Resolution returns the topics and data of the ConditionalTokens ConditionResolution log
// reporting that oracle resolved conditionID (questionID) with the given payout numerators,
// one per outcome slot.
func Resolution(conditionID common.Hash, oracle common.Address, questionID common.Hash, numerators []*big.Int) (topics []common.Hash, data []byte) {
	return build(ConditionResolution, []any{conditionID, oracle, questionID},
		big.NewInt(int64(len(numerators))), numerators)
}

// build packs the event's non-indexed arguments with the ABI encoder and its indexed ones as
// topics; a mismatch with the ABI is a bug in the caller, so it panics.
func build(ev abi.Event, indexed []any, nonIndexed ...any) (topics []common.Hash, data []byte) {
	data, err := ev.Inputs.NonIndexed().Pack(nonIndexed...)
	if err != nil {
		panic(fmt.Sprintf("chainlog: pack %s: %v", ev.Name, err))
	}
	query := make([][]any, len(indexed))
	for i, v := range indexed {
		query[i] = []any{v}
	}
	rest, err := abi.MakeTopics(query...)
	if err != nil {
		panic(fmt.Sprintf("chainlog: topics of %s: %v", ev.Name, err))
	}
	topics = []common.Hash{ev.ID}
	for _, r := range rest {
		topics = append(topics, r[0])
	}
	return topics, data
}

// MatchedV2 returns the topics and data of the V2 exchanges' OrdersMatched log that closes a
// match whose taker order is t (takerOrderHash, takerOrderMaker, then the taker's side, token and
// amounts).
func (t Trade) MatchedV2() (topics []common.Hash, data []byte) {
	making, taking := t.makingTaking()
	return build(OrdersMatchedV2, []any{t.OrderHash, t.Maker}, t.side(), t.TokenID, making, taking)
}

// v2Word is the 32-byte word of each non-indexed argument of the V2 OrderFilled in a log's
// data, read from the ABI (all of them are static types, one word each).
var (
	v2Word                                                            = staticWords(OrderFilledV2)
	v2Words                                                           = len(v2Word)
	v2Side, v2Token, v2Making, v2Taking, v2Fee, v2Builder, v2Metadata = v2Word["side"], v2Word["tokenId"],
		v2Word["makerAmountFilled"], v2Word["takerAmountFilled"], v2Word["fee"], v2Word["builder"], v2Word["metadata"]
)

func staticWords(ev abi.Event) map[string]int {
	m := map[string]int{}
	for i, a := range ev.Inputs.NonIndexed() {
		switch a.Type.T {
		case abi.SliceTy, abi.StringTy, abi.BytesTy, abi.ArrayTy, abi.TupleTy:
			panic("chainlog: " + ev.Name + " has a non-static argument " + a.Name)
		}
		m[a.Name] = i
	}
	return m
}

// FastV2 returns what V2 returns without the ABI encoder's reflection, for the fast chain that
// emits up to a million fills a second: each value is written at the word the ABI gives its
// argument. TestFastV2IsV2 checks that the two agree.
func (t Trade) FastV2() (topics []common.Hash, data []byte) {
	data = make([]byte, 32*v2Words)
	word := func(i int) []byte { return data[i*32 : (i+1)*32] }
	making, taking := t.Collateral, t.Shares
	if t.Sell {
		making, taking = t.Shares, t.Collateral
	}
	word(v2Side)[31] = t.side()
	t.TokenID.FillBytes(word(v2Token))
	binary.BigEndian.PutUint64(word(v2Making)[24:], making)
	binary.BigEndian.PutUint64(word(v2Taking)[24:], taking)
	binary.BigEndian.PutUint64(word(v2Fee)[24:], t.Fee)
	copy(word(v2Builder), t.Builder[:])
	copy(word(v2Metadata), t.Metadata[:])
	topics = []common.Hash{OrderFilledV2.ID, t.OrderHash, common.BytesToHash(t.Maker.Bytes()), common.BytesToHash(t.Taker.Bytes())}
	return topics, data
}
