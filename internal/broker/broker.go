// Package broker places polybot's copy orders: on paper (the default) or, later, on the live CLOB.
package broker

import (
	"context"
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/positions"
)

// Order is a copy order as the executor sized it. Shares and Collateral are 6-decimal base units;
// Collateral is the limit notional: the most a BUY pays, the least a SELL accepts.
type Order struct {
	Leader     common.Address
	Market     string
	TokenID    *big.Int
	Side       polymarket.Side
	Shares     uint64
	Collateral uint64
	Source     *polymarket.Fill // the leader fill being copied
}

// Paper fills every order in full at its limit, which the executor sets at the leader's price.
// The executor records the execution in the position book and logs the copy.
type Paper struct{}

// PlaceOrder fills o at once.
func (Paper) PlaceOrder(_ context.Context, o Order) (positions.Execution, error) {
	e := positions.Execution{
		Leader:     o.Leader,
		Market:     o.Market,
		Side:       o.Side,
		Shares:     o.Shares,
		Collateral: o.Collateral,
	}
	if o.Source != nil {
		e.SourceTx, e.SourceLog = o.Source.TxHash, o.Source.LogIndex
	}
	return e, nil
}
