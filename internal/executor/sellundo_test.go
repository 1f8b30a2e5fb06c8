package executor

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// sellFixture is a live CLOB whose book sells at 0.50 and buys at 0.49: a copied BUY then SELL
// realises a loss.
func sellFixture(t *testing.T) *trackFixture {
	t.Helper()
	d := decimal.RequireFromString
	srv, live, addr := startLiveCLOB(t, "100", func(so *clobsim.Options, bo *broker.CLOBOptions) {
		so.Markets[0].Bids = []order.Level{{Price: d("0.49"), Size: d("100")}}
		bo.OrderType, bo.Timeout = order.FAK, 2*time.Second
	})
	f := &trackFixture{srv: srv, addr: addr, live: live, dir: t.TempDir(), clk: new(mclock.Simulated), wall: newWall()}
	f.start(t)
	return f
}

// sellUndoState is what a user sees of the copied token: the position, the lots, the day's
// counters and the exposure the limits read.
type sellUndoState struct {
	Pos      store.Position
	Open     bool
	Lots     []store.Lot
	Day      store.Daily
	Exposure uint64
	Held     uint64
}

func (f *trackFixture) sellUndoState(t *testing.T) sellUndoState {
	t.Helper()
	p, open, err := f.st.Position(trackToken)
	if err != nil {
		t.Fatal(err)
	}
	p.UpdatedAt = time.Time{}
	lots, err := f.st.Lots()
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.st.Daily(f.wall.now())
	if err != nil {
		t.Fatal(err)
	}
	snap, err := f.st.Snapshot(alice, trackToken, f.wall.now())
	if err != nil {
		t.Fatal(err)
	}
	return sellUndoState{Pos: p, Open: open, Lots: lots, Day: d, Exposure: snap.TotalExposure, Held: snap.Held}
}

// copySell copies a SELL by alice of the 10 shares she bought.
func (f *trackFixture) copySell(t *testing.T) polymarket.Fill {
	t.Helper()
	fillN++
	fl := fill(alice, polymarket.Sell, 1001, 10_000_000, 5_000_000, fillN)
	if err := f.e.Submit(context.Background(), fl); err != nil {
		t.Fatal(err)
	}
	f.e.copy(context.Background(), <-f.e.queues[0])
	return fl
}

// A copied SELL is answered matched and recorded at once: the position is closed, its P&L
// realised. Then its trade fails on chain (RETRYING, then FAILED: py-clob-client issue 338),
// so the shares never left the wallet. polybot takes the SELL back: the position, its cost
// basis, the realised P&L, the lots, the day's counters and the exposure are exactly as before
// the SELL, and the copy is unfilled.
func TestAMatchedSellWhoseTradeFailsIsPutBackExactly(t *testing.T) {
	f := sellFixture(t)
	buy := copyNow(t, f.e, 1001)
	if in := f.intent(t, buy); in.Status != store.StatusFilled {
		t.Fatalf("the BUY copy: %s", in.Status)
	}
	for f.e.Settling() > 0 { // the BUY's trade settles
		f.srv.SettleTrades()
		f.poll()
	}
	before := f.sellUndoState(t)
	if !before.Open || before.Pos.Shares == 0 || before.Held == 0 {
		t.Fatalf("before the SELL: %+v; want the BUY's position", before)
	}

	f.srv.HoldTrades(true)
	f.srv.FailTrades(1)
	fl := f.copySell(t)
	in := f.intent(t, fl)
	if in.Status != store.StatusFilled || in.Result.FilledShares != before.Pos.Shares {
		t.Fatalf("SELL copy %s with %d shares; want filled with all %d held", in.Status, in.Result.FilledShares, before.Pos.Shares)
	}
	if sold := f.sellUndoState(t); sold.Open || sold.Day.Realised == before.Day.Realised || sold.Day.Copies != before.Day.Copies+1 {
		t.Fatalf("after the matched SELL: %+v; want the position closed and its P&L realised", sold)
	}
	f.srv.SettleTrades()
	f.poll() // RETRYING
	f.srv.SettleTrades()
	f.poll() // FAILED
	if in := f.intent(t, fl); in.Status != store.StatusUnfilled || in.Result.FilledShares != 0 {
		t.Fatalf("SELL copy %s with %d shares after its trade failed; want unfilled", in.Status, in.Result.FilledShares)
	}
	if after := f.sellUndoState(t); !reflect.DeepEqual(after, before) {
		t.Fatalf("after the failed SELL\n %+v\nwant as before it\n %+v", after, before)
	}
	if f.e.Settling() != 0 || f.e.Stats().Undone != 1 {
		t.Fatalf("%d watched, stats %+v; want none watched and one fill undone", f.e.Settling(), f.e.Stats())
	}
	if held := uint64(f.srv.Balance(f.addr).Tokens[trackToken]); held != before.Pos.Shares {
		t.Fatalf("the CLOB account holds %d shares; the store %d", held, before.Pos.Shares)
	}
}

// A delayed FAK SELL matches later (clob-client issue 317); while its trade settles the copy
// is open with the SELL applied. The trade FAILS: the tracker takes the SELL back, exactly.
func TestADelayedSellWhoseTradeFailsIsPutBackExactly(t *testing.T) {
	f := sellFixture(t)
	copyNow(t, f.e, 1001)
	for f.e.Settling() > 0 {
		f.srv.SettleTrades()
		f.poll()
	}
	before := f.sellUndoState(t)
	f.srv.HoldTrades(true)
	f.srv.FailTrades(1)
	f.srv.DelayOrders(1, 0)
	fl := f.copySell(t)
	f.srv.DelayOrders(0, 0)
	if f.srv.MatchDelayed() != 1 {
		t.Fatal("no delayed order on the CLOB")
	}
	f.poll()
	if in := f.intent(t, fl); in.Status != store.StatusOpen || in.Result.FilledShares == 0 {
		t.Fatalf("SELL copy %s with %d shares while its trade settles; want open with its fill", in.Status, in.Result.FilledShares)
	}
	if sold := f.sellUndoState(t); sold.Open {
		t.Fatalf("while the SELL settles: %+v; want it applied", sold)
	}
	f.srv.SettleTrades()
	f.poll()
	f.srv.SettleTrades()
	f.poll()
	if in := f.intent(t, fl); in.Status != store.StatusUnfilled {
		t.Fatalf("SELL copy %s after its trade failed; want unfilled", in.Status)
	}
	if after := f.sellUndoState(t); !reflect.DeepEqual(after, before) {
		t.Fatalf("after the failed SELL\n %+v\nwant as before it\n %+v", after, before)
	}
	if f.e.Tracking() != 0 || f.reserved() != 0 {
		t.Fatalf("tracking %d, reserved %d; want nothing held", f.e.Tracking(), f.reserved())
	}
}

// polybot stops while a delayed SELL copy's trade settles; the trade FAILS meanwhile. What the
// SELL took out is kept in the store, so the next start's recovery puts it back exactly.
func TestRecoveryPutsBackASellWhoseTradeFailedWhileDown(t *testing.T) {
	f := sellFixture(t)
	copyNow(t, f.e, 1001)
	for f.e.Settling() > 0 {
		f.srv.SettleTrades()
		f.poll()
	}
	before := f.sellUndoState(t)
	f.srv.HoldTrades(true)
	f.srv.FailTrades(1)
	f.srv.DelayOrders(1, 0)
	fl := f.copySell(t)
	f.srv.DelayOrders(0, 0)
	f.srv.MatchDelayed()
	f.poll()
	if in := f.intent(t, fl); in.Status != store.StatusOpen || in.Result.FilledShares == 0 {
		t.Fatalf("SELL copy %s with %d shares while its trade settles; want open with its fill", in.Status, in.Result.FilledShares)
	}
	if err := f.st.Close(); err != nil { // polybot stops
		t.Fatal(err)
	}
	f.srv.SettleTrades()
	f.srv.SettleTrades() // FAILED
	f.start(t)
	r, err := f.e.Recover(context.Background(), LookUp{Broker: f.live})
	if err != nil || r.Resolved != 1 {
		t.Fatalf("recover: %+v %v; want the SELL copy resolved", r, err)
	}
	if in := f.intent(t, fl); in.Status != store.StatusUnfilled {
		t.Fatalf("SELL copy %s after the restart; want unfilled", in.Status)
	}
	if after := f.sellUndoState(t); !reflect.DeepEqual(after, before) {
		t.Fatalf("after the restart\n %+v\nwant as before the SELL\n %+v", after, before)
	}
}
