package sim

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm/runtime"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"

	"github.com/polybot/polybot/internal/testing/contracts"
)

// This file gives polysim's markets the ids the real chain gives Polymarket's: each market is a
// two-outcome condition of the Conditional Tokens contract, prepared by an oracle for a question
// (conditionId = keccak256(oracle ‖ questionId ‖ 2)), and its outcome token is the CTF position
// of outcome slot 0 over the market's collateral (USDC.e, or the NegRiskAdapter's wrapped
// collateral for markets on the neg-risk exchange: polymarket.md 1). The ids are computed in the
// EVM by the PositionIds stand-in (contracts/src/PositionIds.sol, CTHelpers.sol's formulas), not
// by polybot's code. A trade's transaction names its market the way the V2 exchange's does: the
// input is a matchOrders(conditionId, …) call (contracts/src/ExchangeV2.sol).

// MarketOracle is the oracle that prepares and resolves polysim's conditions (on Polygon, the
// UMA CTF adapter or the NegRiskAdapter).
// Its key is fixed (OracleAddress, payouts.go), so that the same markets have the same
// conditions on every polysim chain, and with Options.Payouts it reports their payouts.
var MarketOracle = OracleAddress

// The collaterals polysim's outcome tokens are derived over (polymarket.md 1).
var (
	usdcE             = common.HexToAddress("0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174")
	wrappedCollateral = common.HexToAddress("0x3A3BD7bb9528E159577F7C2e685CC81A765002E2")
)

// simMarket is one polysim market: its condition and question, and its outcome token.
type simMarket struct {
	condition, question common.Hash
	token               *big.Int
	// priceSeed seeds the market's first price (walkPrice): the id market i had before its ids
	// were derived, so seeded runs trade at the prices they always did.
	priceSeed string
}

var (
	marketsMu sync.Mutex
	byIndex   = map[int]simMarket{}
	byToken   = map[string]simMarket{}
	idsEVM    struct {
		once sync.Once
		art  contracts.Artifact
		code []byte
		err  error
	}
)

// evmCall runs a view of the PositionIds stand-in in a throw-away EVM.
func evmCall(method string, args ...any) ([]any, error) {
	idsEVM.once.Do(func() {
		if idsEVM.art, idsEVM.err = contracts.Load("PositionIds"); idsEVM.err == nil {
			idsEVM.code, idsEVM.err = idsEVM.art.Runtime()
		}
	})
	if idsEVM.err != nil {
		return nil, idsEVM.err
	}
	in, err := idsEVM.art.ABI.Pack(method, args...)
	if err != nil {
		return nil, err
	}
	ret, _, err := runtime.Execute(idsEVM.code, in, &runtime.Config{ChainConfig: params.AllDevChainProtocolChanges,
		GasLimit: 10_000_000, BlockNumber: big.NewInt(1), Time: 1})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return idsEVM.art.ABI.Unpack(method, ret)
}

// marketAt derives market i: question keccak256("polysim question i"), its condition, and the
// position id of slot 0 over USDC.e (even i) or the wrapped collateral (odd i: with the default
// two exchanges, odd markets trade on the neg-risk one).
func marketAt(i int) simMarket {
	marketsMu.Lock()
	defer marketsMu.Unlock()
	if m, ok := byIndex[i]; ok {
		return m
	}
	q := crypto.Keccak256Hash([]byte("polysim question " + strconv.Itoa(i)))
	must := func(out []any, err error) any {
		if err != nil {
			panic(fmt.Sprintf("polysim: PositionIds stand-in: %v", err)) // a compiled, committed contract
		}
		return out[0]
	}
	cond := common.Hash(must(evmCall("getConditionId", MarketOracle, q, big.NewInt(2))).([32]byte))
	coll := must(evmCall("getCollectionId", [32]byte{}, [32]byte(cond), big.NewInt(1))).([32]byte)
	collateral := usdcE
	if i%2 == 1 {
		collateral = wrappedCollateral
	}
	token := must(evmCall("getPositionId", collateral, coll)).(*big.Int)
	m := simMarket{condition: cond, question: q, token: token,
		priceSeed: new(big.Int).SetBytes(crypto.Keccak256([]byte("polysim market " + strconv.Itoa(i)))).String()}
	byIndex[i], byToken[token.String()] = m, m
	return m
}

// marketOfToken is token's market; a token polysim did not derive (a test's own id) gets a
// condition and question made up from it, which no derivation ties to the token.
func marketOfToken(token *big.Int) simMarket {
	marketsMu.Lock()
	m, ok := byToken[token.String()]
	marketsMu.Unlock()
	if ok {
		return m
	}
	return simMarket{condition: crypto.Keccak256Hash([]byte("polysim condition " + token.String())),
		question: crypto.Keccak256Hash([]byte("polysim question " + token.String())), token: token, priceSeed: token.String()}
}

// matchOrdersABI is the V2 exchanges' matchOrders as clob-client-v2 declares it
// (src/order-utils/abi/ExchangeV2.ts).
const matchOrdersABI = `[{"type":"function","name":"matchOrders","stateMutability":"nonpayable","outputs":[],"inputs":[
 {"name":"conditionId","type":"bytes32"},
 {"name":"takerOrder","type":"tuple","components":` + orderComponents + `},
 {"name":"makerOrders","type":"tuple[]","components":` + orderComponents + `},
 {"name":"takerFillAmount","type":"uint256"},
 {"name":"makerFillAmounts","type":"uint256[]"},
 {"name":"takerFeeAmount","type":"uint256"},
 {"name":"makerFeeAmounts","type":"uint256[]"}]}]`

const orderComponents = `[{"name":"salt","type":"uint256"},{"name":"maker","type":"address"},{"name":"signer","type":"address"},
 {"name":"tokenId","type":"uint256"},{"name":"makerAmount","type":"uint256"},{"name":"takerAmount","type":"uint256"},
 {"name":"side","type":"uint8"},{"name":"signatureType","type":"uint8"},{"name":"timestamp","type":"uint256"},
 {"name":"metadata","type":"bytes32"},{"name":"builder","type":"bytes32"},{"name":"signature","type":"bytes"}]`

var exchangeABI = func() abi.ABI {
	a, err := abi.JSON(strings.NewReader(matchOrdersABI))
	if err != nil {
		panic(err) // a constant
	}
	return a
}()

// abiOrder is the exchange's Order struct for the ABI encoder (field names as go-ethereum maps
// them from the components).
type abiOrder struct {
	Salt          *big.Int
	Maker         common.Address
	Signer        common.Address
	TokenId       *big.Int //nolint:revive // the ABI component's name
	MakerAmount   *big.Int
	TakerAmount   *big.Int
	Side          uint8
	SignatureType uint8
	Timestamp     *big.Int
	Metadata      [32]byte
	Builder       [32]byte
	Signature     []byte
}

// matchOrder is one order of a match as polysim knows it: who made it, its side, and what it
// filled (shares, collateral, fee).
type matchOrder struct {
	hash               common.Hash // the order's hash, as its logs carry it
	maker              common.Address
	sell               bool
	shares, collateral uint64
	fee                uint64
}

// matchCall is the input of the exchange transaction that settles a match of token's market:
// matchOrders(conditionId, taker, makers, …) encoded by go-ethereum's ABI encoder, with each
// order's limit at its fill (polysim keeps no order beyond its fill) and a made-up signature.
func matchCall(token *big.Int, taker matchOrder, makers []matchOrder) ([]byte, error) {
	toABI := func(o matchOrder) abiOrder {
		making, taking := new(big.Int).SetUint64(o.collateral), new(big.Int).SetUint64(o.shares)
		side := uint8(0)
		if o.sell {
			making, taking, side = taking, making, 1
		}
		// Salt and signature are made up from the order's hash (not from the sim's random
		// stream, which decides the trades).
		seed := crypto.Keccak256(o.hash.Bytes())
		sig := append(crypto.Keccak256(seed), crypto.Keccak256(seed, seed)...)
		sig = append(sig[:64], 27)
		salt := new(big.Int).SetUint64(binary.BigEndian.Uint64(seed) >> 11)
		return abiOrder{Salt: salt, Maker: o.maker, Signer: o.maker, TokenId: token,
			MakerAmount: making, TakerAmount: taking, Side: side, Timestamp: new(big.Int), Signature: sig}
	}
	ms := make([]abiOrder, len(makers))
	fills, fees := make([]*big.Int, len(makers)), make([]*big.Int, len(makers))
	for i, m := range makers {
		ms[i] = toABI(m)
		fills[i], fees[i] = ms[i].MakerAmount, new(big.Int).SetUint64(m.fee)
	}
	t := toABI(taker)
	return exchangeABI.Pack("matchOrders", [32]byte(marketOfToken(token).condition), t, ms, t.MakerAmount, fills,
		new(big.Int).SetUint64(taker.fee), fees)
}

// matchInput is the ExchangeV2 stand-in's input: the call, then the logs' records, then the
// records' offset.
func matchInput(call []byte, recs []record) []byte {
	data := append(append([]byte(nil), call...), encodeRecords(recs)...)
	var w [32]byte
	binary.BigEndian.PutUint64(w[24:], uint64(len(call)))
	return append(data, w[:]...)
}

// exchangeRuntime is the ExchangeV2 stand-in's deployed code, placed at every exchange address.
func exchangeRuntime() ([]byte, error) {
	art, err := contracts.Load("ExchangeV2")
	if err != nil {
		return nil, err
	}
	return art.Runtime()
}

// sendMatch signs the exchange transaction of a match: its input is call (matchOrders) with
// the logs' records after it. s.mu must be held.
func (s *Sim) sendMatch(to common.Address, call []byte, recs []record) (*types.Transaction, error) {
	return s.sendData(to, matchInput(call, recs), recs)
}
