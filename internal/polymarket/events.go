// Package polymarket holds the on-chain side of Polymarket's protocol that polybot reads: exchange
// addresses, event signatures, and the decoding of OrderFilled logs into typed fills.
package polymarket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/shopspring/decimal"
)

// Event signatures and their topic0.
const (
	OrderFilledV1Signature   = "OrderFilled(bytes32,address,address,uint256,uint256,uint256,uint256,uint256)"
	OrderFilledV2Signature   = "OrderFilled(bytes32,address,address,uint8,uint256,uint256,uint256,uint256,bytes32,bytes32)"
	OrdersMatchedV2Signature = "OrdersMatched(bytes32,address,uint8,uint256,uint256,uint256)"
)

var (
	OrderFilledV1Topic   = crypto.Keccak256Hash([]byte(OrderFilledV1Signature))
	OrderFilledV2Topic   = crypto.Keccak256Hash([]byte(OrderFilledV2Signature))
	OrdersMatchedV2Topic = crypto.Keccak256Hash([]byte(OrdersMatchedV2Signature))
)

// Version is the OrderFilled layout a log has: V1 for the V1 exchanges, V2 for the V2 exchanges
// and for ExchangeV3, which emits the V2 event unchanged (see Exchange for the exchange itself).
type Version uint8

const (
	V1 Version = 1
	V2 Version = 2
)

// Side is the side of an order: the side of the order whose fill a log reports, and the side
// polybot signs (uint8 BUY=0, SELL=1) and sends ("BUY"/"SELL") on its own orders. It is polybot's
// one side type; package order names it too.
type Side uint8

// Order sides, as the exchanges encode them.
const (
	Buy  Side = 0
	Sell Side = 1
)

// String returns "BUY" or "SELL".
func (s Side) String() string {
	switch s {
	case Buy:
		return "BUY"
	case Sell:
		return "SELL"
	}
	return fmt.Sprintf("Side(%d)", uint8(s))
}

// Valid reports whether s is Buy or Sell.
func (s Side) Valid() bool { return s == Buy || s == Sell }

// ErrBadSide is returned by ParseSide.
var ErrBadSide = errors.New("unknown side")

// ParseSide parses "BUY" or "SELL".
func ParseSide(s string) (Side, error) {
	switch s {
	case "BUY":
		return Buy, nil
	case "SELL":
		return Sell, nil
	}
	return 0, fmt.Errorf("%w: side %q (valid: BUY, SELL)", ErrBadSide, s)
}

// Errors returned by DecodeOrderFilled. ErrNotOrderFilled means the log is some other event and is
// not a problem; every other error means a malformed log that polybot counts and skips.
var (
	ErrNotOrderFilled = errors.New("not an OrderFilled log")
	ErrMalformed      = errors.New("malformed OrderFilled log")
)

// Fill is one OrderFilled log, seen from the order of its maker topic (the leader when polybot
// filters on it). Amounts are in 6-decimal base units: 1_000_000 is one share or one USDC/pUSD.
type Fill struct {
	Exchange   common.Address // the contract that emitted the log
	Version    Version
	OrderHash  common.Hash
	Maker      common.Address // topic2: the order's maker (the leader's funder wallet)
	Taker      common.Address // topic3: the exchange itself when the maker was the match's taker
	Side       Side
	TokenID    *big.Int // the outcome token
	Shares     uint64   // outcome tokens filled
	Collateral uint64   // collateral paid (BUY) or received (SELL), gross of fee
	Fee        uint64   // V2: collateral; V1: in the taker asset
	Block      uint64
	BlockHash  common.Hash
	TxHash     common.Hash
	LogIndex   uint
	// Nth counts the earlier fills of the same order in the same transaction (0 for the first).
	// With TxHash and OrderHash it identifies the fill wherever a reorg puts the transaction;
	// the wallet monitor sets it (DecodeOrderFilled leaves it 0).
	Nth     uint
	Removed bool // the log was reverted by a reorg
	// BlockTime is the block's timestamp (unix seconds) as the node sent it with the log
	// (blockTimestamp); 0 when the node did not, and the monitor then reads it from the header.
	BlockTime uint64
	// SeenAt is when polybot's wallet monitor read the log (zero when not known): the start of
	// the copy's latency after the leader's block.
	SeenAt time.Time
}

// Price is collateral per share, exact to 6 decimals (rounded half up past that).
func (f *Fill) Price() decimal.Decimal {
	if f.Shares == 0 {
		return decimal.Zero
	}
	return decimal.NewFromUint64(f.Collateral).DivRound(decimal.NewFromUint64(f.Shares), 6)
}

// IsTaker reports whether the maker topic's order was the taker of its match.
func (f *Fill) IsTaker() bool { return f.Taker == f.Exchange }

// Market is the key polybot uses for a market: the decimal outcome token id.
func (f *Fill) Market() string { return f.TokenID.String() }

const word = 32

// DecodeOrderFilled decodes a V1 or V2 OrderFilled log. It checks every length and range so
// that no input, however hostile, can panic it.
func DecodeOrderFilled(l *types.Log) (Fill, error) {
	if len(l.Topics) == 0 {
		return Fill{}, ErrNotOrderFilled
	}
	var f Fill
	switch l.Topics[0] {
	case OrderFilledV2Topic:
		f.Version = V2
	case OrderFilledV1Topic:
		f.Version = V1
	default:
		return Fill{}, ErrNotOrderFilled
	}
	if len(l.Topics) != 4 {
		return Fill{}, fmt.Errorf("%w: %d topics, want 4", ErrMalformed, len(l.Topics))
	}
	var err error
	if f.Maker, err = topicAddress(l.Topics[2]); err != nil {
		return Fill{}, fmt.Errorf("%w: maker topic: %v", ErrMalformed, err)
	}
	if f.Taker, err = topicAddress(l.Topics[3]); err != nil {
		return Fill{}, fmt.Errorf("%w: taker topic: %v", ErrMalformed, err)
	}
	f.OrderHash = l.Topics[1]
	f.Exchange = l.Address
	f.Block, f.BlockHash, f.TxHash, f.LogIndex, f.Removed = l.BlockNumber, l.BlockHash, l.TxHash, l.Index, l.Removed
	f.BlockTime = l.BlockTimestamp

	d := l.Data
	if f.Version == V2 {
		// side, tokenId, makerAmountFilled, takerAmountFilled, fee, builder, metadata
		if len(d) != 7*word {
			return Fill{}, fmt.Errorf("%w: %d data bytes, want %d", ErrMalformed, len(d), 7*word)
		}
		side, err := wordUint64(d[0:word])
		if err != nil || side > 1 {
			return Fill{}, fmt.Errorf("%w: side is not 0 or 1", ErrMalformed)
		}
		f.Side = Side(side)
		f.TokenID = new(big.Int).SetBytes(d[word : 2*word])
		making, err1 := wordUint64(d[2*word : 3*word])
		taking, err2 := wordUint64(d[3*word : 4*word])
		fee, err3 := wordUint64(d[4*word : 5*word])
		if err := errors.Join(err1, err2, err3); err != nil {
			return Fill{}, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		f.Fee = fee
		if f.Side == Buy {
			f.Collateral, f.Shares = making, taking
		} else {
			f.Shares, f.Collateral = making, taking
		}
	} else {
		// makerAssetId, takerAssetId, makerAmountFilled, takerAmountFilled, fee
		if len(d) != 5*word {
			return Fill{}, fmt.Errorf("%w: %d data bytes, want %d", ErrMalformed, len(d), 5*word)
		}
		makerAsset := new(big.Int).SetBytes(d[0:word])
		takerAsset := new(big.Int).SetBytes(d[word : 2*word])
		making, err1 := wordUint64(d[2*word : 3*word])
		taking, err2 := wordUint64(d[3*word : 4*word])
		fee, err3 := wordUint64(d[4*word : 5*word])
		if err := errors.Join(err1, err2, err3); err != nil {
			return Fill{}, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		f.Fee = fee
		switch {
		case makerAsset.Sign() == 0 && takerAsset.Sign() != 0:
			f.Side, f.TokenID, f.Collateral, f.Shares = Buy, takerAsset, making, taking
		case takerAsset.Sign() == 0 && makerAsset.Sign() != 0:
			f.Side, f.TokenID, f.Shares, f.Collateral = Sell, makerAsset, making, taking
		default:
			return Fill{}, fmt.Errorf("%w: exactly one asset id must be 0 (collateral)", ErrMalformed)
		}
	}
	if f.Shares == 0 {
		return Fill{}, fmt.Errorf("%w: zero shares", ErrMalformed)
	}
	return f, nil
}

// LeaderTopic is the topic value that matches logs whose maker is addr.
func LeaderTopic(addr common.Address) common.Hash { return common.BytesToHash(addr.Bytes()) }

func topicAddress(h common.Hash) (common.Address, error) {
	for _, b := range h[:12] {
		if b != 0 {
			return common.Address{}, errors.New("high bytes of an address topic are not zero")
		}
	}
	return common.BytesToAddress(h[12:]), nil
}

func wordUint64(w []byte) (uint64, error) {
	for _, b := range w[:word-8] {
		if b != 0 {
			return 0, errors.New("amount does not fit in 64 bits")
		}
	}
	return binary.BigEndian.Uint64(w[word-8:]), nil
}
