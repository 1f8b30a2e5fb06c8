package clobsim

import (
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/order"
)

// This file makes orders outlive their POST: an order can answer "delayed" and be matched
// later (as the CLOB does for markets with a matching delay), a resting order can be filled
// later by a counterparty, and a "matched" answer can come without its amounts. GET
// /data/order/{id} reports each order's state as it moves, and DELETE /order cancels a resting
// or delayed order.

// Statuses of GET /data/order beyond LIVE, MATCHED and CANCELED.
const (
	statusDelayed   = "DELAYED"   // accepted, its matching delayed
	statusUnmatched = "UNMATCHED" // a delayed FAK/FOK order that found nothing to match
)

// orderFaults is the server's state for late orders; guarded by Server.mu.
type orderFaults struct {
	delayEvery  int           // every n-th accepted order is delayed; 0: none
	delayAfter  time.Duration // when a delayed order is matched; 0: only by MatchDelayed
	delayOwner  string        // only this API key's orders are delayed; "": everyone's
	accepted    int           // orders accepted since DelayOrders
	noAmounts   int           // the next n "matched" answers carry no amounts
	delayed     map[common.Hash]*delayedOrder
	delayedSeen int  // orders ever answered "delayed"
	answerLive  bool // a delayed order is answered "live" rather than "delayed"
}

// delayedOrder is an accepted order waiting for its delayed matching.
type delayedOrder struct {
	so       *simOrder
	num, den *big.Int
	postOnly bool
}

// DelayOrders makes every n-th accepted order (1: each one, 0: none) answer "delayed" with no
// amounts: it is held unmatched (GET /data/order says DELAYED) and matched against the book
// after d, or when MatchDelayed is called if d is 0. Matched then, a FAK keeps what crossed, a
// FOK all or nothing, a GTC rests the rest; a FAK/FOK that finds nothing ends UNMATCHED.
func (s *Server) DelayOrders(n int, d time.Duration) { s.DelayOrdersOf("", n, d) }

// DelayOrdersOf is DelayOrders for the orders of one API key only ("": everyone's).
func (s *Server) DelayOrdersOf(apiKey string, n int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.late.delayEvery, s.late.delayAfter, s.late.delayOwner, s.late.accepted = max(n, 0), d, apiKey, 0
}

// AnswerDelayedAsLive makes a delayed order answer "live" with nothing matched, as the CLOB
// answers some FAK orders that fill later (clob-client issue 317: "why does it return 0
// shares, status \"live\" and later, maybe, it fills?"); false answers "delayed" again.
func (s *Server) AnswerDelayedAsLive(live bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.late.answerLive = live
}

// Delayed counts the orders ever answered "delayed".
func (s *Server) Delayed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.late.delayedSeen
}

// MatchDelayed matches every order still waiting for its delayed matching, oldest first, and
// returns how many it matched.
func (s *Server) MatchDelayed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var hs []common.Hash
	for h := range s.late.delayed {
		hs = append(hs, h)
	}
	// Oldest first: creation time, then hash.
	for i := 1; i < len(hs); i++ {
		for j := i; j > 0 && s.delayedBefore(hs[j], hs[j-1]); j-- {
			hs[j], hs[j-1] = hs[j-1], hs[j]
		}
	}
	n := 0
	for _, h := range hs {
		if s.late.delayed[h].so.Status == statusDelayed {
			n++
		}
		s.matchDelayedLocked(h)
	}
	return n
}

func (s *Server) delayedBefore(a, b common.Hash) bool {
	ta, tb := s.late.delayed[a].so.createdAt, s.late.delayed[b].so.createdAt
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a.Hex() < b.Hex()
}

// AnswerMatchedWithoutAmounts makes the next n orders answered "matched" carry empty
// makingAmount and takingAmount: what filled is only known by looking the order up.
func (s *Server) AnswerMatchedWithoutAmounts(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.late.noAmounts = max(n, 0)
}

// FillResting has a counterparty take up to shares (base units) of the resting order h at its
// price, as a later trade would; it returns the shares taken.
func (s *Server) FillResting(h common.Hash, shares int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[h]
	if o == nil || o.Status != statusLive {
		return 0, fmt.Errorf("clobsim: order %s is not resting on the book", h.Hex())
	}
	b := s.books[o.TokenID]
	var e *entry
	for _, levels := range [][]*entry{b.bids, b.asks} {
		for _, x := range levels {
			if x.order == o {
				e = x
			}
		}
	}
	if e == nil {
		return 0, fmt.Errorf("clobsim: order %s is live but not on the book", h.Hex())
	}
	q := min(shares, e.size, o.OriginalSize-o.SizeMatched)
	if q <= 0 {
		return 0, nil
	}
	c := o.Price.Mul(decimal.NewFromInt(q)).Floor().IntPart()
	s.move(o.Maker, o.TokenID, o.Side, q, c)
	o.SizeMatched += q
	s.recordOutsideTakerLocked(o, q, c)
	e.size -= q
	b.lastTrade = o.Price
	if e.size == 0 || o.SizeMatched >= o.OriginalSize {
		b.remove(o)
		o.Status = statusMatched
	}
	s.log.Debug("resting order filled by a counterparty", zap.String("order", h.Hex()), zap.Int64("shares", q))
	return q, nil
}

// delayNextLocked reports whether the order being accepted is delayed; mu must be held.
func (s *Server) delayNextLocked(owner string) bool {
	if s.late.delayEvery <= 0 || (s.late.delayOwner != "" && owner != s.late.delayOwner) {
		return false
	}
	s.late.accepted++
	return s.late.accepted%s.late.delayEvery == 0
}

// holdLocked records so as delayed and schedules its matching; mu must be held.
func (s *Server) holdLocked(so *simOrder, num, den *big.Int, postOnly bool) *postOrderAnswer {
	so.Status = statusDelayed
	s.orders[so.Hash] = so
	if s.late.delayed == nil {
		s.late.delayed = make(map[common.Hash]*delayedOrder)
	}
	s.late.delayed[so.Hash] = &delayedOrder{so: so, num: num, den: den, postOnly: postOnly}
	s.late.delayedSeen++
	if d := s.late.delayAfter; d > 0 {
		h := so.Hash
		time.AfterFunc(d, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if !s.closed {
				s.matchDelayedLocked(h)
			}
		})
	}
	s.log.Debug("order delayed", zap.String("order", so.Hash.Hex()), zap.String("type", so.OrderType.String()))
	status := "delayed"
	if s.late.answerLive {
		status = "live"
	}
	return &postOrderAnswer{Success: true, OrderID: so.Hash.Hex(), Status: status, TransactionsHashes: []string{}}
}

// matchDelayedLocked matches the delayed order h against the book now; mu must be held.
func (s *Server) matchDelayedLocked(h common.Hash) {
	d := s.late.delayed[h]
	if d == nil {
		return
	}
	delete(s.late.delayed, h)
	so := d.so
	if so.Status != statusDelayed { // cancelled meanwhile
		return
	}
	b := s.books[so.TokenID]
	size := so.OriginalSize
	avail := b.available(so.Side, d.num, d.den)
	switch {
	case d.postOnly && avail > 0, so.OrderType == order.FOK && avail < size, so.OrderType == order.FAK && avail == 0:
		so.Status = statusUnmatched
		s.log.Debug("delayed order unmatched", zap.String("order", h.Hex()))
		return
	}
	fills := b.take(so.Side, d.num, d.den, size)
	for _, f := range fills {
		s.settle(so.Side, so.Maker, so.TokenID, f)
		so.SizeMatched += f.shares
	}
	s.recordTradeLocked(so, fills, 0)
	so.Status = statusMatched
	if (so.OrderType == order.GTC || so.OrderType == order.GTD) && so.SizeMatched < size {
		so.Status = statusLive
		b.rest(so.Side, &entry{price: so.Price, size: size - so.SizeMatched, order: so})
	}
	s.log.Debug("delayed order matched", zap.String("order", h.Hex()), zap.String("status", so.Status),
		zap.Int64("shares_matched", so.SizeMatched))
}

// withoutAmountsLocked empties a "matched" answer's amounts while AnswerMatchedWithoutAmounts
// asks for it; mu must be held.
func (s *Server) withoutAmountsLocked(ans *postOrderAnswer) {
	if ans.Status != "matched" || s.late.noAmounts <= 0 {
		return
	}
	s.late.noAmounts--
	ans.MakingAmount, ans.TakingAmount = "", ""
}
