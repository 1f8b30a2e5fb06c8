package executor

import (
	"context"
	"errors"

	"github.com/ethereum/go-ethereum/common/mclock"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/store"
)

// This file watches the settlement of copies (BUYs and SELLs) that the POST /order answer reported matched:
// their intent is completed at once, but the trade can still FAIL on chain (py-clob-client
// issue 338: 12 of 34 matched market BUYs; py-clob-client-v2 issue 34). Each is looked up in
// GET /data/trades every poll interval until its trades are final; the fill of a FAILED trade
// is taken out of the store (store.UndoFill). The watch lives in memory: a restart drops it.

// SettlementLookup is implemented by a broker that reads an order's trades (the live CLOB).
type SettlementLookup interface {
	Settlement(ctx context.Context, ref broker.OrderRef) (st broker.OrderStatus, found bool, err error)
}

var _ SettlementLookup = (*broker.CLOB)(nil)

const (
	// maxSettling bounds the copies watched at once; past it new ones are not watched.
	maxSettling = 10_000
	// settleGiveUp is how many lookups find no trade of a matched order before it is no
	// longer watched (the CLOB lists trades as it matches them).
	settleGiveUp = 30
)

// settlingCopy is a completed copy whose trades are not known to be final.
type settlingCopy struct {
	in      store.Intent
	applied store.Result
	next    mclock.AbsTime
	attempt int // failed lookups in a row
	empty   int // lookups that found no trade
	log     *zap.Logger
}

// watchSettlement watches the trades of a copy recorded as filled from the CLOB's answer.
func (e *Executor) watchSettlement(log *zap.Logger, in store.Intent, r store.Result) {
	if _, ok := e.lookup.(SettlementLookup); !ok || in.OrderHash == ([32]byte{}) || r.FilledShares == 0 {
		return
	}
	e.tracker.mu.Lock()
	defer e.tracker.mu.Unlock()
	if e.tracker.settling == nil {
		e.tracker.settling = make(map[store.IntentID]*settlingCopy)
	}
	if len(e.tracker.settling) >= maxSettling {
		log.Warn("too many copies settling; this one's trades are not watched", zap.Int("watched", len(e.tracker.settling)))
		return
	}
	e.tracker.settling[in.ID] = &settlingCopy{in: in, applied: r, next: e.clock.Now().Add(e.pollInterval), log: log}
}

// Settling is the number of copies whose trades are watched until they are final.
func (e *Executor) Settling() int {
	e.tracker.mu.Lock()
	defer e.tracker.mu.Unlock()
	return len(e.tracker.settling)
}

// pollSettling looks up the trades of each watched copy that is due.
func (e *Executor) pollSettling(ctx context.Context) {
	sl, ok := e.lookup.(SettlementLookup)
	if !ok {
		return
	}
	now := e.clock.Now()
	e.tracker.mu.Lock()
	var due []*settlingCopy
	for _, s := range e.tracker.settling {
		if s.next <= now {
			due = append(due, s)
		}
	}
	e.tracker.mu.Unlock()
	for _, s := range due {
		if ctx.Err() != nil {
			return
		}
		if e.checkSettlement(ctx, sl, s) {
			e.tracker.mu.Lock()
			delete(e.tracker.settling, s.in.ID)
			e.tracker.mu.Unlock()
		}
	}
}

// checkSettlement looks s's trades up once and reports whether the watch is over.
func (e *Executor) checkSettlement(ctx context.Context, sl SettlementLookup, s *settlingCopy) bool {
	log := s.log.With(zap.Stringer("order", s.in.OrderHash))
	st, found, err := sl.Settlement(ctx, RefOf(s.in))
	switch {
	case err != nil:
		wait := min(e.pollInterval<<min(s.attempt, 16), maxLookupBackoff)
		s.attempt++
		s.next = e.clock.Now().Add(wait)
		log.Warn("the trades of a copy could not be read; trying again", zap.Int("attempt", s.attempt), zap.Error(err))
		return false
	case !found:
		s.empty++
		if s.empty >= settleGiveUp {
			log.Warn("no trade of a matched copy is listed; its settlement is no longer watched", zap.Int("lookups", s.empty))
			return true
		}
		s.next = e.clock.Now().Add(e.pollInterval)
		return false
	}
	s.attempt = 0
	if st.Result.FilledShares < s.applied.FilledShares {
		if err := e.undoCompleted(s, st, log); err != nil {
			s.next = e.clock.Now().Add(e.pollInterval)
			log.Error("a failed trade's fill could not be taken back; trying again", zap.Error(err))
			return false
		}
	}
	if st.Settling {
		s.next = e.clock.Now().Add(e.pollInterval)
		return false
	}
	return true
}

// undoCompleted takes the fills of s's FAILED trades out of the store.
func (e *Executor) undoCompleted(s *settlingCopy, st broker.OrderStatus, log *zap.Logger) error {
	want := store.Result{FilledShares: st.Result.FilledShares, OrderID: s.applied.OrderID,
		FilledCollateral: min(st.Result.FilledCollateral, s.applied.FilledCollateral), Fee: min(st.Result.Fee, s.applied.Fee)}
	err := e.takeBack(s.in.ID, s.applied, want, log)
	switch {
	case errors.Is(err, store.ErrUndoSell):
		s.applied = want // logged for review by hand; it is not tried again
	case errors.Is(err, errNoTakeBack):
	case err != nil:
		return err
	default:
		s.applied = want
	}
	return nil
}
