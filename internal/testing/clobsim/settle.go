package clobsim

import (
	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/order"
)

// Settler settles trades on a chain: the operator's matchOrders transaction that moves the
// holdings of a trade (docs.polymarket.com "Order Lifecycle": orders are matched off chain and
// settled on chain). The server calls it when a trade is to be mined; the hash it returns is
// the trade's transaction_hash, and an error is a transaction that failed, which makes the
// trade RETRYING and, when a retry fails too, FAILED (py-clob-client issue 338: matched BUYs
// whose settlement reverted; py-clob-client-v2 issue 34: "ghost fills" that never settle). A
// retried trade is settled by a new transaction, so its hash changes.
//
// Settle is called with the server's lock held: it must not call back into the Server.
// Without a Settler the server makes up transaction hashes.
type Settler interface {
	Settle(t SettledTrade) (common.Hash, error)
}

// SettledTrade is a trade to settle: the taker order, the orders it matched, and the attempt
// (1 for the first transaction, 2 for its retry). Sizes are base units (6 decimals).
type SettledTrade struct {
	ID         string
	TakerOrder common.Hash
	Taker      common.Address // the taker order's maker (the wallet that trades)
	TokenID    string
	Side       order.Side // the taker's side
	Shares     int64
	Collateral int64
	Fee        int64 // the taker fee
	Makers     []SettledMaker
	Attempt    int
}

// SettledMaker is one resting order of a trade. Order is zero for the book's seeded liquidity,
// which has no owner.
type SettledMaker struct {
	Order      common.Hash
	Maker      common.Address
	Shares     int64
	Collateral int64
}

// SetSettler sets the chain that settles trades (nil: made-up transaction hashes).
func (s *Server) SetSettler(st Settler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trades.settler = st
}
