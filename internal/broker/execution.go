package broker

import (
	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/polymarket"
)

// Execution is the broker's answer to one copy order (PlaceOrder): what filled (Shares 0 when
// nothing did), attributed to the leader fill it copies. polybot's positions themselves live in
// the state store, which applies an execution to them in the transaction that completes its
// order intent, so they survive a crash exactly once. Amounts are 6-decimal base units.
//
// Shares are the shares that traded (a market BUY may get more
// than ordered), Collateral the collateral that traded before the fee, Fee the taker fee in
// collateral (on top of a BUY, out of a SELL's proceeds). Complete reports an order that
// filled in full even with fewer shares than ordered: a market BUY that spent its whole
// amount.
type Execution struct {
	Leader     common.Address
	Market     string
	Side       polymarket.Side
	Shares     uint64
	Collateral uint64
	Fee        uint64
	Complete   bool
	SourceTx   common.Hash
	SourceLog  uint
	// Open says the order is on the exchange and not final (it rests on the book, or its
	// matching is delayed): Shares and Collateral are what filled so far, and more may fill.
	Open bool
}
