package clobsim

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/order"
)

// This file hands each matched trade to the chain, and lets a "matched" answer misreport what
// matched. The CLOB matches off chain and its operator settles every match on chain with one
// matchOrders transaction of the exchange, whose OrderFilled logs are the ledger (polymarket.md
// 3a/3b: one OrderFilled per maker order with taker = the taker order's maker, then the taker
// order's with taker = the exchange, then OrdersMatched). A trade's statuses are MATCHED, then
// MINED once that transaction is in a block (polymarket.md, December 2026 update); the CLOB's
// answer to the POST is only a first report of it.

// SettledOrder is one order's part of a settled trade, in its own terms: Shares of the outcome
// token bought (BUY) or sold (SELL) for Collateral, and the Fee it paid in collateral (the
// taker fee; makers pay none on the V2 exchanges).
type SettledOrder struct {
	Hash       common.Hash
	Maker      common.Address
	Side       order.Side
	Shares     int64
	Collateral int64
	Fee        int64
}

// Settlement is one matched trade as the exchange settles it: one transaction.
type Settlement struct {
	Exchange common.Address
	TokenID  *big.Int
	// Taker is the incoming order; nil when a counterparty outside the server took a resting
	// order (FillResting).
	Taker *SettledOrder
	// Makers are the resting orders it matched, in match order. Seeded liquidity has no order
	// and is left out.
	Makers []SettledOrder
}

// Settler settles trades on a chain: the operator's matchOrders transaction that moves the
// holdings of a trade (docs.polymarket.com "Order Lifecycle": orders are matched off chain and
// settled on chain). The server calls it when a trade is to be mined (trades.go); the hash it
// returns is the trade's transaction_hash, and an error is a transaction that failed, which
// makes the trade RETRYING and, when a retry fails too, FAILED (py-clob-client issue 338:
// matched BUYs whose settlement reverted; py-clob-client-v2 issue 34: "ghost fills" that never
// settle). A retried trade is settled by a new transaction, so its hash changes.
//
// Settle is called with the server's lock held: it must not call back into the Server.
// Without a Settler the server makes up transaction hashes.
type Settler interface {
	Settle(Settlement) (common.Hash, error)
}

// settleState is what the server's "matched" answers misreport; guarded by Server.mu.
type settleState struct {
	misN     int   // the next misN "matched" answers misreport
	misPct   int64 // their amounts, in percent of what matched
	misCount int   // answers misreported so far
}

// SetSettler sets the chain that settles trades (nil: made-up transaction hashes).
func (s *Server) SetSettler(st Settler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trades.settler = st
}

// MisreportMatched makes the next n "matched" answers of POST /order report pct percent of
// the shares and collateral that matched (the trade on chain is what matched). The real CLOB's
// answer is a first report the chain can contradict: matched trades that never settled ("ghost
// fills", py-clob-client-v2 issue 34; 12 of 34 matched BUYs reverted, py-clob-client issue
// 338) and FAKs answered with less than filled later (clob-client issue 317).
func (s *Server) MisreportMatched(n int, pct int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chain.misN, s.chain.misPct = max(n, 0), max(pct, 0)
}

// Misreported counts the answers MisreportMatched changed.
func (s *Server) Misreported() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.chain.misCount
}

// exchangeOf is the exchange that settles trades in tokenID's market.
func (s *Server) exchangeOf(tokenID string) common.Address {
	if b := s.books[tokenID]; b != nil && b.ProtocolV2 {
		return s.exch.V3
	}
	if b := s.books[tokenID]; b != nil && b.NegRisk {
		return s.exch.NegRisk
	}
	return s.exch.CTF
}

// settlementOf is trade t as the exchange settles it: the taker order's part, then each
// resting order's (seeded liquidity has no order and is left out). A trade whose taker is a
// counterparty outside the server (FillResting) has no taker part. mu must be held.
func (s *Server) settlementOf(t *simTrade) (Settlement, bool) {
	id, ok := new(big.Int).SetString(t.tokenID, 10)
	if !ok {
		return Settlement{}, false
	}
	st := Settlement{Exchange: s.exchangeOf(t.tokenID), TokenID: id}
	if t.takerOrder != nil {
		st.Taker = &SettledOrder{Hash: t.taker, Maker: t.takerAddr, Side: t.side, Shares: t.shares, Collateral: t.collateral, Fee: t.fee}
	}
	for _, m := range t.makers {
		if m.order != nil {
			st.Makers = append(st.Makers, SettledOrder{Hash: m.order.Hash, Maker: m.order.Maker, Side: m.order.Side, Shares: m.shares, Collateral: m.collateral})
		}
	}
	return st, st.Taker != nil || len(st.Makers) > 0
}

// reportLocked is what a "matched" answer reports of shares and collateral matched by the
// order hash, and its transaction hash; mu must be held.
func (s *Server) reportLocked(hash common.Hash, shares, collateral int64) (int64, int64, common.Hash) {
	tx := defaultTx(hash)
	for i := len(s.trades.list) - 1; i >= 0; i-- {
		if t := s.trades.list[i]; t.taker == hash && t.tx != (common.Hash{}) {
			tx = t.tx
			break
		}
	}
	if s.chain.misN > 0 && shares > 0 {
		s.chain.misN--
		s.chain.misCount++
		shares, collateral = shares*s.chain.misPct/100, collateral*s.chain.misPct/100
	}
	return shares, collateral, tx
}

// defaultTx is the transaction hash a "matched" answer carries without a Settler: derived from
// the order hash, on no chain.
func defaultTx(hash common.Hash) common.Hash { return crypto.Keccak256Hash(hash[:], []byte("fill")) }
