package clobsim

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"

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

// Settler puts a matched trade on chain (moves it to MINED) and returns its transaction hash.
// It is called with the server's lock held: it must not call the server.
type Settler interface {
	Settle(Settlement) (common.Hash, error)
}

// settleState is the server's chain side; guarded by Server.mu.
type settleState struct {
	settler  Settler
	txs      map[common.Hash]common.Hash // taker order hash -> its settling transaction
	misN     int                         // the next misN "matched" answers misreport
	misPct   int64                       // their amounts, in percent of what matched
	misCount int                         // answers misreported so far
}

// SetSettler makes every later matched trade go on chain through st (nil: none).
func (s *Server) SetSettler(st Settler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chain.settler = st
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
	if b := s.books[tokenID]; b != nil && b.NegRisk {
		return s.exch.NegRisk
	}
	return s.exch.CTF
}

// settleLocked settles one match of the order taker (nil: a counterparty outside the server)
// against fills on chain, if a Settler is set; mu must be held.
func (s *Server) settleLocked(tokenID string, taker *SettledOrder, fills []fill) {
	if s.chain.settler == nil {
		return
	}
	id, ok := new(big.Int).SetString(tokenID, 10)
	if !ok {
		return
	}
	st := Settlement{Exchange: s.exchangeOf(tokenID), TokenID: id, Taker: taker}
	for _, f := range fills {
		if o := f.entry.order; o != nil {
			st.Makers = append(st.Makers, SettledOrder{Hash: o.Hash, Maker: o.Maker, Side: o.Side, Shares: f.shares, Collateral: f.collateral})
		}
	}
	if taker == nil && len(st.Makers) == 0 {
		return
	}
	tx, err := s.chain.settler.Settle(st)
	if err != nil {
		s.log.Warn("trade not settled on chain", zap.Error(err))
		return
	}
	if taker != nil {
		if s.chain.txs == nil {
			s.chain.txs = make(map[common.Hash]common.Hash)
		}
		s.chain.txs[taker.Hash] = tx
	}
	s.log.Debug("trade settled on chain", zap.Stringer("tx", tx), zap.Int("makers", len(st.Makers)))
}

// reportLocked is what a "matched" answer reports of shares and collateral matched by the
// order hash, and its transaction hash; mu must be held.
func (s *Server) reportLocked(hash common.Hash, shares, collateral int64) (int64, int64, common.Hash) {
	tx, ok := s.chain.txs[hash]
	if !ok {
		tx = defaultTx(hash)
	}
	if s.chain.misN > 0 && shares > 0 {
		s.chain.misN--
		s.chain.misCount++
		shares, collateral = shares*s.chain.misPct/100, collateral*s.chain.misPct/100
	}
	return shares, collateral, tx
}

// settleResting settles a counterparty's fill of the resting order o; mu must be held.
func (s *Server) settleResting(o *simOrder, shares int64) {
	c := o.Price.Mul(decimal.NewFromInt(shares)).Floor().IntPart()
	s.settleLocked(o.TokenID, nil, []fill{{entry: &entry{order: o}, shares: shares, collateral: c}})
}

// defaultTx is the transaction hash a "matched" answer carries without a Settler: derived from
// the order hash, on no chain.
func defaultTx(hash common.Hash) common.Hash { return crypto.Keccak256Hash(hash[:], []byte("fill")) }
