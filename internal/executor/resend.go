package executor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
)

// This file recovers, at start, a copy whose order never left: a crash (SIGKILL, power loss)
// came after its intent was journaled and before its POST reached the CLOB. Its fill was
// decided a copy, so it is copied now when it is still young enough to copy (copy.max_fill_age
// for a BUY, copy.max_exit_age for a SELL, which by default lets exits of any age through), and
// it is copied with the very order its intent journaled: the same signed fields, so the same
// order hash. Never a second, different order for one fill: the exchange contract fills one
// order hash at most up to its amounts and the CLOB refuses a hash it has seen, so a crash in the
// middle of a re-send (the intent stays pending until its result is stored) is recovered again
// by that hash, and never places the copy twice. A fill too old is recorded unfilled with the
// reason "never sent, too old".

// Restorer is implemented by a broker that signs its orders and rebuilds one its intent
// journaled (store.Intent.Order) for PlaceOrder to send again (the live CLOB). It refuses a
// journal whose order does not hash to the intent's order hash.
type Restorer interface {
	Restore(journal []byte, hash common.Hash) (*broker.Prepared, error)
}

var _ Restorer = (*broker.CLOB)(nil)

// What became of an order that never left, as the restart's log line says (never_sent).
const (
	NeverSentResent    = "re-sent"
	NeverSentTooOld    = "too old"
	NeverSentNoJournal = "not journaled"
)

// neverSent reports whether the order of in, an intent a stop left behind, never reached the
// exchange, given lookupErr, the CLOB's answer to looking it up by its hash: the intent is
// pending (an open intent's order was on the CLOB), the CLOB does not know the hash
// (broker.ErrOrderNotFound), and the chain's record of polybot's own fills, when there is one,
// shows no fill of it. Without that record the CLOB's word alone decides; the re-send is safe
// either way, since it sends the same order hash, which can never fill beyond its amounts.
func (e *Executor) neverSent(in *store.Intent, lookupErr error) bool {
	if in.Status != store.StatusPending || in.OrderHash == (common.Hash{}) || !errors.Is(lookupErr, broker.ErrOrderNotFound) {
		return false
	}
	if e.ownFills != nil {
		if fills, _ := e.ownFills.Of(in.OrderHash); len(fills) > 0 {
			return false
		}
	}
	return true
}

// fillAge is how old in's leader fill is now, and the age limit of its side (0: none) with
// the limit's config key. known is false when the intent did not record the fill's block time.
func (e *Executor) fillAge(in *store.Intent) (age, limit time.Duration, key string, known bool) {
	rules := e.strategy.Load().Rules
	limit, key = rules.MaxFillAge, strategy.LimitMaxFillAge
	if in.Side == polymarket.Sell {
		limit, key = rules.MaxExitAge, strategy.LimitMaxExitAge
	}
	if in.BlockTime == 0 {
		return 0, limit, key, false
	}
	return e.now().Sub(time.Unix(int64(in.BlockTime), 0)), limit, key, true
}

// recoverNeverSent settles in, whose order never reached the exchange (neverSent): it sends
// the journaled order when the fill is still young enough to copy, else records the intent
// unfilled with the reason.
func (e *Executor) recoverNeverSent(ctx context.Context, log *zap.Logger, in store.Intent, out *Recovered) error {
	age, limit, key, known := e.fillAge(&in)
	restorer, _ := e.preparer.(Restorer)
	what, reason := NeverSentTooOld, ""
	switch {
	case len(in.Order) == 0 || restorer == nil:
		what, reason = NeverSentNoJournal, "never sent, and its signed order was not journaled: it cannot be sent as the same order"
	case !known && limit > 0:
		reason = fmt.Sprintf("never sent, too old: the fill's time is unknown, and %s is %s", key, limit)
	case limit > 0 && age > limit:
		reason = fmt.Sprintf("never sent, too old: the fill is %s old, more than %s (%s)", age.Round(time.Second), limit, key)
	}
	if reason == "" {
		p, err := restorer.Restore(in.Order, in.OrderHash)
		if err == nil {
			return e.resend(ctx, log, in, p, age, out)
		}
		what, reason = NeverSentNoJournal, "never sent, and its journaled order cannot be sent again: "+err.Error()
	}
	if err := e.store.CompleteIntent(in.ID, store.Result{Status: store.StatusUnfilled, Reason: reason}); err != nil {
		return fmt.Errorf("complete intent %s: %w", in.ID, err)
	}
	out.Resolved++
	if what == NeverSentTooOld {
		out.TooOld++
	} else {
		out.NotJournaled++
	}
	log.Info("pending copy resolved after a restart", zap.String("status", string(store.StatusUnfilled)),
		zap.String("filled_shares", "0"), zap.String("never_sent", what), zap.String("reason", reason))
	return nil
}

// resend sends p, the order in journaled, as a copy is sent: a BUY holds its reservation until
// its result is stored (or, when its order is not final, while it is tracked). Until then the
// intent stays pending, so a crash here leaves it for the next start, which looks the order up
// by the same hash again.
func (e *Executor) resend(ctx context.Context, log *zap.Logger, in store.Intent, p *broker.Prepared, age time.Duration, out *Recovered) error {
	o, err := OrderOf(in)
	if err != nil {
		return err
	}
	o.Prepared = p
	var held *reservation
	if in.Side == polymarket.Buy {
		_, open, _ := e.store.Position(in.Token)
		e.res.mu.Lock()
		v := e.res.reserve(in.Token, in.Leader, in.Collateral, !open)
		e.res.mu.Unlock()
		held = &v
	}
	release := func() {
		if held != nil {
			e.res.release(*held)
			held = nil
		}
	}
	log.Info("a copy order from before the restart never reached the CLOB; sending its journaled order now",
		zap.Duration("fill_age", age.Round(time.Second)))
	exec, err := e.broker.PlaceOrder(ctx, o)
	var res store.Result
	switch {
	case err != nil && ctx.Err() != nil:
		// Shutdown during recovery: the intent stays pending, and the next start looks its
		// order up by hash again.
		release()
		log.Info("re-send of a pending copy cut off by shutdown; the next start resolves it", zap.Error(err))
		return nil
	case err != nil && (Rejected(err) || errors.Is(err, broker.ErrNotPlaced)):
		res = store.Result{Status: store.StatusUnfilled, Reason: "never sent before the restart; re-sent and refused: " + err.Error()}
	case err != nil:
		// Its outcome is unknown: it is looked up by hash while polybot runs.
		release()
		if err := e.resume(log, in, nil); err != nil {
			return err
		}
		out.Tracked++
		out.Resent++
		log.Warn("re-sent copy order's outcome unknown; it is looked up by hash while polybot runs",
			zap.String("never_sent", NeverSentResent), zap.Error(err))
		return nil
	case exec.Open && e.trackOpen(log, &in, exec, held):
		out.Tracked++
		out.Resent++
		log.Info("re-sent copy order not final; tracking it", zap.String("never_sent", NeverSentResent))
		return nil
	default:
		res = ResultOf(exec, in.Shares)
	}
	if err := e.store.CompleteIntent(in.ID, res); err != nil {
		release()
		return fmt.Errorf("complete intent %s: %w", in.ID, err)
	}
	release()
	out.Resolved++
	out.Resent++
	log.Info("pending copy resolved after a restart", zap.String("status", string(res.Status)),
		zap.String("filled_shares", units(res.FilledShares)), zap.String("never_sent", NeverSentResent),
		zap.String("reason", res.Reason))
	return nil
}
