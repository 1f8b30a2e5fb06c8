// Package positions holds what a broker answers for one copy order: the Execution, attributed
// to the leader fill it copies. Amounts are 6-decimal base units.
//
// polybot's positions themselves live in the state store (internal/store): a completed
// order intent applies its execution to them in the same transaction that records it, so
// they survive a crash exactly once.
package positions

import (
	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/polymarket"
)

// Execution is one copy order's outcome: what filled (Shares 0 when nothing did), attributed
// to the leader fill it copies. Shares are the shares that traded (a market BUY may get more
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
