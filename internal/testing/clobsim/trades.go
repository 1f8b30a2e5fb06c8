package clobsim

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/order"
)

// This file is the CLOB's memory of trades, and its forgetting of orders.
//
//   - GET /data/order/{id} forgets an order that filled (MATCHED, a FAK whose rest was killed
//     included) or a delayed FAK/FOK that found nothing (UNMATCHED): it answers 404: "if the order was filled, it will be in get_trades" (py-clob-client
//     issue 217, a FAK answered "matched" that get_order then did not return). Sources
//     disagree: py-clob-client-v2 issue 34 shows get_order answering MATCHED with its
//     size_matched for a while after the match. The fake takes the stricter reading and
//     forgets at once; Server.Order still shows every order to tests.
//   - GET /data/trades lists each match as a trade with its settlement status: MATCHED, then
//     MINED once its transaction is in a block, then CONFIRMED; a transaction that fails makes
//     it RETRYING, and FAILED when its retry fails too (docs.polymarket.com user channel
//     "trade" messages; py-clob-client issue 338: 12 of 34 matched BUYs FAILED after the V2
//     cutover). A FAILED trade gives both sides their holdings back: the trade never happened
//     on chain. Fields are those the official clients read (py-clob-client get_trades,
//     clob-client Trade type): id, taker_order_id, market, asset_id, side, size, fee_rate_bps,
//     price, status, match_time, last_update, outcome, owner, maker_address,
//     transaction_hash, trader_side, maker_orders[].
//
// By default a trade settles at once (MATCHED, MINED and CONFIRMED as it is made); HoldTrades
// keeps trades MATCHED until SettleTrades moves them on, one step per call, and FailTrades
// makes the settlement of the next trades fail.

// RouteTrades lists the account's trades.
const RouteTrades = "GET /data/trades"

// Trade statuses of GET /data/trades, as the CLOB's API spells them (clob-openapi.yaml
// Trade.status: TRADE_STATUS_MATCHED …; the user channel sends them without the prefix).
const (
	tradeMatched   = "TRADE_STATUS_MATCHED"
	tradeMined     = "TRADE_STATUS_MINED"
	tradeConfirmed = "TRADE_STATUS_CONFIRMED"
	tradeRetrying  = "TRADE_STATUS_RETRYING"
	tradeFailed    = "TRADE_STATUS_FAILED"
)

// settleAttempts is how many transactions settle a trade before it is FAILED: the first and
// one retry.
const settleAttempts = 2

// defaultTradesPage is the page size of GET /data/trades.
const defaultTradesPage = 100

// errSettleFailed is the made-up settlement failure of FailTrades.
var errSettleFailed = errors.New("clobsim: settlement transaction reverted")

// tradeBook is the server's trades; guarded by Server.mu.
type tradeBook struct {
	list     []*simTrade
	hold     bool // trades stay MATCHED until SettleTrades
	failNext int  // the next n trades fail to settle
	settler  Settler
	pageSize int
	seq      int
}

// simTrade is one match of a taker order against resting orders.
type simTrade struct {
	id         string
	taker      common.Hash // the taker order (made up for an outside counterparty)
	takerOwner string      // its API key; "" for an outside counterparty
	takerAddr  common.Address
	takerOrder *simOrder // nil for an outside counterparty
	tokenID    string
	side       order.Side // the taker's side
	shares     int64
	collateral int64
	fee        int64
	price      decimal.Decimal
	makers     []tradeMaker
	status     string
	tx         common.Hash
	attempts   int
	doomed     bool // every settlement attempt fails (FailTrades)
	matched    time.Time
	updated    time.Time
}

// tradeMaker is one resting order a trade matched; order is nil for seeded liquidity.
type tradeMaker struct {
	order      *simOrder
	id         common.Hash
	shares     int64
	collateral int64
	price      decimal.Decimal
}

// HoldTrades keeps new trades MATCHED (hold true) until SettleTrades moves them on, as the
// CLOB's settlement takes blocks; false settles them at once again.
func (s *Server) HoldTrades(hold bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trades.hold = hold
}

// FailTrades makes the settlement of the next n trades fail: each goes RETRYING, then FAILED.
func (s *Server) FailTrades(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trades.failNext = max(n, 0)
}

// TradesPageSize sets how many trades one page of GET /data/trades holds (default 100).
func (s *Server) TradesPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trades.pageSize = n
}

// SettleTrades moves every trade not yet final one step: MATCHED or RETRYING to MINED (its
// transaction is mined) or, when that transaction fails, to RETRYING and, after the last
// attempt, FAILED; MINED to CONFIRMED. It returns how many trades moved.
func (s *Server) SettleTrades() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.trades.list {
		if s.stepLocked(t) {
			n++
		}
	}
	return n
}

// TradeState is a trade as tests see it.
type TradeState struct {
	ID         string
	TakerOrder common.Hash
	Status     string // TRADE_STATUS_…
	TxHash     common.Hash
	Shares     int64
}

// Trades returns the trades that involve order h, as taker or maker, oldest first.
func (s *Server) Trades(h common.Hash) []TradeState {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []TradeState
	for _, t := range s.trades.list {
		if t.involves(h) {
			out = append(out, TradeState{ID: t.id, TakerOrder: t.taker, Status: t.status, TxHash: t.tx, Shares: t.shares})
		}
	}
	return out
}

func (t *simTrade) involves(h common.Hash) bool {
	if t.taker == h {
		return true
	}
	for _, m := range t.makers {
		if m.order != nil && m.id == h {
			return true
		}
	}
	return false
}

// openOrder reports whether GET /data/order still lists o (see the top of this file): not
// once it filled (MATCHED) or a delayed FAK/FOK found nothing (UNMATCHED). A canceled order
// stays listed: no public source shows the CLOB forgetting one.
func openOrder(o *simOrder) bool { return o.Status != statusMatched && o.Status != statusUnmatched }

// recordTradeLocked records the fills of the taker order so as one trade (fills of nothing
// record none) and settles it at once unless trades are held; mu must be held.
func (s *Server) recordTradeLocked(so *simOrder, fills []fill, fee int64) {
	t := &simTrade{taker: so.Hash, takerOwner: so.Owner, takerAddr: so.Maker, takerOrder: so, tokenID: so.TokenID,
		side: so.Side, fee: fee, price: so.Price}
	for _, f := range fills {
		m := tradeMaker{order: f.entry.order, shares: f.shares, collateral: f.collateral, price: f.entry.price}
		if m.order != nil {
			m.id = m.order.Hash
		} else {
			// Seeded liquidity: a made-up resting order of an outside maker.
			m.id = crypto.Keccak256Hash(so.Hash[:], []byte("seed"), []byte(strconv.Itoa(len(t.makers))))
		}
		t.makers = append(t.makers, m)
		t.shares += f.shares
		t.collateral += f.collateral
	}
	if t.shares == 0 {
		return
	}
	if len(t.makers) > 0 {
		t.price = t.makers[0].price
	}
	s.addTradeLocked(t)
}

// recordOutsideTakerLocked records an outside counterparty taking shares of the resting order
// o for collateral; mu must be held.
func (s *Server) recordOutsideTakerLocked(o *simOrder, shares, collateral int64) {
	t := &simTrade{tokenID: o.TokenID, side: 1 - o.Side, shares: shares, collateral: collateral, price: o.Price,
		makers: []tradeMaker{{order: o, id: o.Hash, shares: shares, collateral: collateral, price: o.Price}}}
	t.taker = crypto.Keccak256Hash(o.Hash[:], []byte("outside taker"), []byte(strconv.Itoa(len(s.trades.list))))
	s.addTradeLocked(t)
}

func (s *Server) addTradeLocked(t *simTrade) {
	s.trades.seq++
	t.id = fmt.Sprintf("trade-%d", s.trades.seq)
	t.status, t.matched = tradeMatched, s.now()
	t.updated = t.matched
	if s.trades.failNext > 0 {
		s.trades.failNext--
		t.doomed = true
	}
	s.trades.list = append(s.trades.list, t)
	if !s.trades.hold {
		for s.stepLocked(t) {
		}
	}
}

// stepLocked moves t one step of its settlement; false: it is final. mu must be held.
func (s *Server) stepLocked(t *simTrade) bool {
	switch t.status {
	case tradeMatched, tradeRetrying:
		t.attempts++
		h, err := s.settleTxLocked(t)
		t.updated = s.now()
		if err == nil {
			t.status, t.tx = tradeMined, h
			return true
		}
		s.log.Debug("trade settlement failed", zap.String("trade", t.id), zap.Int("attempt", t.attempts), zap.Error(err))
		if h != (common.Hash{}) {
			t.tx = h
		}
		if t.attempts < settleAttempts {
			t.status = tradeRetrying
			return true
		}
		t.status = tradeFailed
		s.undoTradeLocked(t)
		return true
	case tradeMined:
		t.status, t.updated = tradeConfirmed, s.now()
		return true
	}
	return false
}

// settleTxLocked sends t's settling transaction: the Settler's, or a made-up one.
func (s *Server) settleTxLocked(t *simTrade) (common.Hash, error) {
	made := crypto.Keccak256Hash([]byte(t.id), []byte("settle"), []byte(strconv.Itoa(t.attempts)))
	if t.doomed {
		return made, errSettleFailed
	}
	if s.trades.settler == nil {
		return made, nil
	}
	st, ok := s.settlementOf(t)
	if !ok {
		return made, nil // only seeded liquidity moved: nothing of anyone's on chain
	}
	return s.trades.settler.Settle(st)
}

// undoTradeLocked gives back what a FAILED trade moved: the taker's and each owned maker's
// holdings and the taker fee; the orders count the shares as unmatched. The seeded liquidity
// it took is not put back on the book. mu must be held.
func (s *Server) undoTradeLocked(t *simTrade) {
	if t.takerOrder != nil {
		s.move(t.takerAddr, t.tokenID, 1-t.side, t.shares, t.collateral)
		b := s.balances[t.takerAddr]
		b.Collateral += t.fee
		s.balances[t.takerAddr] = b
		t.takerOrder.SizeMatched = max(t.takerOrder.SizeMatched-t.shares, 0)
	}
	for _, m := range t.makers {
		if m.order == nil {
			continue
		}
		s.move(m.order.Maker, t.tokenID, t.side, m.shares, m.collateral)
		m.order.SizeMatched = max(m.order.SizeMatched-m.shares, 0)
	}
	s.log.Info("trade failed on chain; its holdings are given back", zap.String("trade", t.id),
		zap.String("taker_order", t.taker.Hex()), zap.Int64("shares", t.shares))
}

// wireTrade is a trade as GET /data/trades answers it, seen by the account apiKey.
func (s *Server) wireTradeLocked(t *simTrade, apiKey string) map[string]any {
	side := "TAKER"
	if t.takerOwner != apiKey {
		side = "MAKER"
	}
	market := ""
	if b := s.books[t.tokenID]; b != nil {
		market = b.ConditionID
	}
	makers := make([]map[string]any, 0, len(t.makers))
	for _, m := range t.makers {
		wm := map[string]any{
			"order_id": m.id.Hex(), "matched_amount": decimal.New(m.shares, -6).String(), "price": m.price.String(),
			"asset_id": t.tokenID, "outcome": "", "side": (1 - t.side).String(), "fee_rate_bps": "0",
			"owner": "", "maker_address": common.Address{}.Hex(),
		}
		if m.order != nil {
			wm["owner"], wm["maker_address"] = m.order.Owner, m.order.Maker.Hex()
		}
		makers = append(makers, wm)
	}
	feeBps := 0
	if b := s.books[t.tokenID]; b != nil && t.takerOrder != nil {
		feeBps = b.FeeRateBps // the rate charged, as a trade reports it
	}
	tx := ""
	if t.tx != (common.Hash{}) {
		tx = t.tx.Hex()
	}
	return map[string]any{
		"id": t.id, "taker_order_id": t.taker.Hex(), "market": market, "asset_id": t.tokenID, "side": t.side.String(),
		"size": decimal.New(t.shares, -6).String(), "fee_rate_bps": strconv.Itoa(feeBps), "price": t.price.String(),
		"status": t.status, "match_time": strconv.FormatInt(t.matched.Unix(), 10),
		"last_update": strconv.FormatInt(t.updated.Unix(), 10), "outcome": "", "bucket_index": 0,
		"owner": t.takerOwner, "maker_address": t.takerAddr.Hex(), "transaction_hash": tx, "trader_side": side,
		"maker_orders": makers,
	}
}

// visible reports whether the account apiKey is a side of t.
func (t *simTrade) visible(apiKey string) bool {
	if t.takerOwner == apiKey {
		return true
	}
	for _, m := range t.makers {
		if m.order != nil && m.order.Owner == apiKey {
			return true
		}
	}
	return false
}

func (s *Server) handleTrades(w http.ResponseWriter, r *http.Request) {
	apiKey, _, ok := s.authL2(w, r, nil)
	if !ok {
		return
	}
	q := r.URL.Query()
	offset := 0
	if c := q.Get("next_cursor"); c != "" {
		raw, err := base64.StdEncoding.DecodeString(c)
		n, err2 := strconv.Atoi(string(raw))
		if err != nil || err2 != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "invalid next_cursor")
			return
		}
		offset = n
	}
	var before, after int64
	for k, p := range map[string]*int64{"before": &before, "after": &after} {
		if v := q.Get(k); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				writeError(w, http.StatusBadRequest, "invalid "+k)
				return
			}
			*p = n
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []map[string]any
	for _, t := range s.trades.list {
		if !t.visible(apiKey) || !s.tradeMatchesLocked(t, q.Get("id"), q.Get("maker_address"), q.Get("market"), q.Get("asset_id")) {
			continue
		}
		if (before > 0 && t.matched.Unix() >= before) || (after > 0 && t.matched.Unix() <= after) {
			continue
		}
		all = append(all, s.wireTradeLocked(t, apiKey))
	}
	size := s.trades.pageSize
	if size <= 0 {
		size = defaultTradesPage
	}
	page := []map[string]any{}
	if offset < len(all) {
		page = all[offset:min(offset+size, len(all))]
	}
	next := "LTE=" // base64("-1"): the end
	if offset+size < len(all) {
		next = base64.StdEncoding.EncodeToString([]byte(strconv.Itoa(offset + size)))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": page, "next_cursor": next, "limit": size, "count": len(page)})
}

func (s *Server) tradeMatchesLocked(t *simTrade, id, maker, market, asset string) bool {
	if id != "" && id != t.id {
		return false
	}
	if asset != "" && asset != t.tokenID {
		return false
	}
	if market != "" {
		if b := s.books[t.tokenID]; b == nil || !strings.EqualFold(b.ConditionID, market) {
			return false
		}
	}
	if maker != "" {
		hit := strings.EqualFold(t.takerAddr.Hex(), maker)
		for _, m := range t.makers {
			hit = hit || (m.order != nil && strings.EqualFold(m.order.Maker.Hex(), maker))
		}
		if !hit {
			return false
		}
	}
	return true
}
