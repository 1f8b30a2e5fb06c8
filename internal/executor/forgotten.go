package executor

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
)

// This file decides what an order the CLOB has forgotten became, and takes back the fills of
// trades that failed on chain.
//
// The CLOB forgets an order once it filled or was killed (GET /data/order answers nothing:
// py-clob-client issue 217); the broker's lookup then reads its trades (GET /data/trades).
// An order neither lists is "never placed" only when the chain shows no fill of it either:
// with OwnFills set, polybot waits until the ledger has read NeverPlacedBlocks blocks past the
// block it had read through when it first found the order unknown, and records the chain's
// fills if any appear. Without OwnFills (paper mode, tests) the trades are the last word.
//
// A trade the CLOB matched can fail on chain (RETRYING, then FAILED: py-clob-client issue 338,
// py-clob-client-v2 issue 34). A tracked order stays open in the store until its trades are
// final, and the fill of a FAILED trade is taken out of the position, the day's spend and the
// limits (store.UndoFill).

// NeverPlacedBlocks is how many blocks past the first "unknown to the CLOB" the chain must
// have been read through, with no fill of the order, before it counts as never placed. The
// order was posted before polybot found it unknown, so a fill of it is matched by then and
// only its settlement is outstanding: the CLOB settles a match in a few blocks, up to 10–50 s
// after the V2 cutover (py-clob-client-v2 issue 34), and retries a failed settlement once
// more. 64 Polygon blocks are about two minutes at ~2 s a block: well past a settlement and
// its retry, and short enough that a copy's reservation is not held for long.
const NeverPlacedBlocks = 64

// unknownToCLOB decides about t's order, which neither GET /data/order nor GET /data/trades
// lists: final reports the result to record; !final means wait for the chain.
func (e *Executor) unknownToCLOB(t *tracked, log *zap.Logger) (r store.Result, final bool) {
	if e.ownFills == nil {
		if t.unclear {
			log.Info("order of an unclear outcome is not on the CLOB, nor in its trades: it never reached it")
		} else {
			log.Warn("tracked order no longer on the CLOB and not in its trades; recorded with what was seen to fill")
		}
		return cumulative(&t.in, t.applied, store.Result{}), true
	}
	fills, through := e.ownFills.Of(t.in.OrderHash)
	if got, ok := chainResult(&t.in, fills); ok {
		log.Info("order unknown to the CLOB filled on chain; recorded as the chain shows it",
			zap.String("filled_shares", units(got.FilledShares)), zap.String("usdc", units(got.FilledCollateral)), zap.Int("fills", len(fills)))
		return cumulative(&t.in, t.applied, got), true
	}
	if !t.chainWait {
		t.chainWait, t.chainFrom = true, through
	}
	if through >= t.chainFrom+NeverPlacedBlocks {
		log.Info("order unknown to the CLOB and to the chain; it never traded",
			zap.Uint64("from_block", t.chainFrom), zap.Uint64("through_block", through))
		return cumulative(&t.in, t.applied, store.Result{}), true
	}
	log.Debug("order unknown to the CLOB; waiting for the chain to show whether it filled",
		zap.Uint64("through_block", through), zap.Uint64("until_block", t.chainFrom+NeverPlacedBlocks))
	return store.Result{}, false
}

// chainResult sums the on-chain fills of in's order (a reorg's removed logs excluded); false
// when there are none.
func chainResult(in *store.Intent, fills []polymarket.Fill) (store.Result, bool) {
	var r store.Result
	for _, f := range fills {
		if f.Removed {
			continue
		}
		r.FilledShares += f.Shares
		r.FilledCollateral += f.Collateral
		r.Fee += f.Fee
		r.OrderID = in.OrderHash.Hex()
	}
	switch {
	case r.FilledShares == 0:
		return store.Result{}, false
	case r.FilledShares >= in.Shares:
		r.Status = store.StatusFilled
	default:
		r.Status = store.StatusPartial
	}
	return r, true
}

// fillUndoer is a Store that can take a fill back (*store.Store).
type fillUndoer interface {
	UndoFill(id store.IntentID, r store.Result) error
}

// undoFailed takes out of the store the fills of t's order whose trades FAILED on chain: st,
// the order as looked up, fills less than what was applied.
func (e *Executor) undoFailed(t *tracked, st broker.OrderStatus, log *zap.Logger) error {
	if !t.recorded || st.Result.FilledShares >= t.applied.FilledShares {
		return nil
	}
	want := store.Result{Status: store.StatusOpen, FilledShares: st.Result.FilledShares, OrderID: t.applied.OrderID,
		FilledCollateral: min(st.Result.FilledCollateral, t.applied.FilledCollateral), Fee: min(st.Result.Fee, t.applied.Fee)}
	if want.FilledShares == 0 {
		want.FilledCollateral, want.Fee = 0, 0
	}
	err := e.takeBack(t.in.ID, t.applied, want, log.With(zap.String("failed_shares", units(st.FailedShares))))
	switch {
	case errors.Is(err, errNoTakeBack):
		return nil
	case err != nil:
		return err
	}
	t.applied = want
	return nil
}

// errNoTakeBack: the store could not take a failed fill back (a store without UndoFill, or a
// SELL recorded with no record of what it sold); takeBack logged it for review by hand.
var errNoTakeBack = errors.New("failed fill not taken back")

// takeBack has the store take an intent's fills back from applied to want, because trades
// of its order FAILED on chain (the tracker's orders and the copies matched at once alike),
// and logs what it took back, or why it could not (errNoTakeBack).
func (e *Executor) takeBack(id store.IntentID, applied, want store.Result, log *zap.Logger) error {
	u, ok := e.store.(fillUndoer)
	if !ok {
		log.Error("a matched trade of the copy failed on chain, but this store cannot take a fill back: review the position by hand")
		return errNoTakeBack
	}
	err := u.UndoFill(id, want)
	switch {
	case errors.Is(err, store.ErrUndoSell):
		log.Error("a SELL's trade failed on chain, but its fill keeps no record of what it sold; review the position by hand")
		return fmt.Errorf("%w: %w", errNoTakeBack, err)
	case err != nil:
		return err
	}
	log.Warn("a matched trade of the copy failed on chain; its fill is taken out of the position and the limits",
		zap.String("undone_shares", units(applied.FilledShares-want.FilledShares)),
		zap.String("undone_usdc", units(applied.FilledCollateral-want.FilledCollateral)),
		zap.String("filled_shares", units(want.FilledShares)))
	e.undone.Add(1)
	return nil
}
