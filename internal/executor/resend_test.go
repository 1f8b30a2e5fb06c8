package executor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/shopspring/decimal"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// killedBeforePost is the broker of a polybot killed after a copy's intent was journaled and
// before its POST left: the order never reaches the CLOB, and nothing is recorded after.
type killedBeforePost struct{}

func (killedBeforePost) PlaceOrder(context.Context, broker.Order) (broker.Execution, error) {
	return broker.Execution{}, context.Canceled
}

// neverSentFixture is the live broker on clobsim (asks and bids of 100 shares at 0.50), with
// copy.max_fill_age 1h and copy.max_exit_age 0 (exits of any age).
func neverSentFixture(t *testing.T) *trackFixture {
	t.Helper()
	d := decimal.RequireFromString
	srv, live, addr := startLiveCLOB(t, "100", func(so *clobsim.Options, bo *broker.CLOBOptions) {
		so.Markets[0].Bids = []order.Level{{Price: d("0.50"), Size: d("100")}}
		bo.OrderType, bo.Timeout = order.FAK, 2*time.Second
	})
	f := &trackFixture{srv: srv, addr: addr, live: live, dir: t.TempDir(), clk: new(mclock.Simulated), wall: newWall()}
	f.start(t)
	return f
}

// rules are the fixture's copy rules, as the executor at each start has them.
func (f *trackFixture) ageRules() {
	p := policy("1", 0)
	p.Rules = strategy.Rules{MaxFillAge: time.Hour}
	f.e.SetStrategy(p)
}

// copyKilled copies a leader fill of side in a polybot killed before the order's POST: the
// intent is journaled and stays pending. The fill's block time is the wall clock's now.
func (f *trackFixture) copyKilled(t *testing.T, side polymarket.Side) (polymarket.Fill, store.Intent) {
	t.Helper()
	e, err := New(Options{Broker: killedBeforePost{}, Preparer: f.live, Store: f.st, Strategy: f.e.Strategy(), Now: f.wall.now,
		Clock: f.clk, Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	e.queues = e.queues[:1]
	fillN++
	fl := fill(alice, side, 1001, 10_000_000, 5_000_000, fillN)
	fl.BlockTime = uint64(f.wall.now().Unix())
	if err := e.Submit(context.Background(), fl); err != nil {
		t.Fatal(err)
	}
	e.copy(context.Background(), <-e.queues[0])
	in := f.intent(t, fl)
	if in.Status != store.StatusPending || in.OrderHash == (common.Hash{}) || len(in.Order) == 0 {
		t.Fatalf("intent %s, order %s, %d bytes journaled; want it pending with its signed order", in.Status, in.OrderHash.Hex(), len(in.Order))
	}
	if _, ok := f.srv.Order(in.OrderHash); ok {
		t.Fatal("the order reached the CLOB")
	}
	return fl, in
}

// restart closes the store and starts polybot again after d, recovering the pending intents.
func (f *trackFixture) restart(t *testing.T, d time.Duration) Recovered {
	t.Helper()
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	f.wall.advance(d)
	f.start(t)
	f.ageRules()
	r, err := f.e.Recover(context.Background(), LookUp{Broker: f.live})
	if err != nil {
		t.Fatalf("recover: %v", err)
	}
	return r
}

// A BUY copy whose order a crash stopped before it left is sent at the next start, its leader
// fill being 10 minutes old (copy.max_fill_age 1h): as the very order its intent journaled (the
// CLOB holds that hash, and only one order was ever posted), recorded filled with what the CLOB
// matched, its reservation held while it was sent and given back once its result was stored.
func TestANeverSentYoungBuyIsSentAfterTheRestartAsTheSameOrder(t *testing.T) {
	f := neverSentFixture(t)
	f.ageRules()
	fl, before := f.copyKilled(t, polymarket.Buy)

	r := f.restart(t, 10*time.Minute)
	if r.Resent != 1 || r.Resolved != 1 || r.TooOld != 0 {
		t.Fatalf("recover: %+v; want the order re-sent and resolved", r)
	}
	in := f.intent(t, fl)
	st, ok := f.srv.Order(before.OrderHash)
	if !ok {
		t.Fatalf("the CLOB does not hold order %s, the one the intent journaled", before.OrderHash.Hex())
	}
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != 1 {
		t.Fatalf("%d orders posted, want exactly 1", n)
	}
	if in.Status != store.StatusFilled || in.OrderHash != before.OrderHash || in.Result.FilledShares != uint64(st.SizeMatched) ||
		in.Result.FilledShares < 10_000_000 {
		t.Fatalf("intent %s, order %s, %d shares; want filled with the %d the CLOB matched of order %s",
			in.Status, in.OrderHash.Hex(), in.Result.FilledShares, st.SizeMatched, before.OrderHash.Hex())
	}
	if p := f.position(t); p.Shares != in.Result.FilledShares {
		t.Fatalf("position %d shares, the copy filled %d", p.Shares, in.Result.FilledShares)
	}
	if f.reserved() != 0 || f.e.Tracking() != 0 {
		t.Fatalf("reserved %d, tracking %d after the re-sent copy was recorded; want none", f.reserved(), f.e.Tracking())
	}

	// A second start finds nothing pending and sends nothing.
	if r := f.restart(t, time.Minute); r != (Recovered{}) || f.srv.Requests(clobsim.RoutePostOrder) != 1 {
		t.Fatalf("second restart: %+v, %d posts", r, f.srv.Requests(clobsim.RoutePostOrder))
	}
}

// A crash in the middle of the re-send (the order reached the CLOB, its result was not stored)
// leaves the intent pending; the next start finds the order by its hash and records it: the
// copy is placed once.
func TestACrashDuringTheResendIsRecoveredByTheSameHash(t *testing.T) {
	f := neverSentFixture(t)
	f.ageRules()
	fl, before := f.copyKilled(t, polymarket.Buy)
	// The re-send of a start that is killed before it stores the result.
	p, err := f.live.Restore(before.Order, before.OrderHash)
	if err != nil {
		t.Fatal(err)
	}
	o, err := OrderOf(before)
	if err != nil {
		t.Fatal(err)
	}
	o.Prepared = p
	if _, err := f.live.PlaceOrder(context.Background(), o); err != nil {
		t.Fatal(err)
	}

	r := f.restart(t, time.Minute)
	if r.Resent != 0 || r.Resolved != 1 {
		t.Fatalf("recover: %+v; want the order found by its hash, not sent again", r)
	}
	in := f.intent(t, fl)
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != 1 || in.Status != store.StatusFilled {
		t.Fatalf("%d orders posted, intent %s; want 1 and filled", n, in.Status)
	}
}

// A BUY whose order never left and whose leader fill is older than copy.max_fill_age when
// polybot starts again is not copied: it is recorded unfilled, "never sent, too old", and no
// order is posted.
func TestANeverSentBuyTooOldIsRecordedUnfilled(t *testing.T) {
	f := neverSentFixture(t)
	f.ageRules()
	fl, _ := f.copyKilled(t, polymarket.Buy)

	r := f.restart(t, 2*time.Hour)
	if r.TooOld != 1 || r.Resent != 0 || r.Resolved != 1 {
		t.Fatalf("recover: %+v; want the copy recorded too old", r)
	}
	in := f.intent(t, fl)
	if in.Status != store.StatusUnfilled || !strings.Contains(in.Result.Reason, "never sent, too old") ||
		!strings.Contains(in.Result.Reason, strategy.LimitMaxFillAge) {
		t.Fatalf("intent %s (%q); want unfilled, never sent, too old by %s", in.Status, in.Result.Reason, strategy.LimitMaxFillAge)
	}
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != 0 || f.reserved() != 0 {
		t.Fatalf("%d orders posted, %d reserved; want none", n, f.reserved())
	}
}

// A SELL (an exit) whose order never left is sent at the next start whatever the age of its
// leader fill (copy.max_exit_age 0): two hours later, with copy.max_fill_age 1h, it is sent as
// the journaled order and the position is sold.
func TestANeverSentOldSellIsSentAfterTheRestart(t *testing.T) {
	f := neverSentFixture(t)
	f.ageRules()
	buy := copyNow(t, f.e, 1001)
	bought := f.intent(t, buy)
	if bought.Status != store.StatusFilled {
		t.Fatalf("the BUY copy: %s", bought.Status)
	}
	fl, before := f.copyKilled(t, polymarket.Sell)

	r := f.restart(t, 2*time.Hour)
	if r.Resent != 1 || r.TooOld != 0 {
		t.Fatalf("recover: %+v; want the exit re-sent", r)
	}
	in := f.intent(t, fl)
	st, ok := f.srv.Order(before.OrderHash)
	if !ok || in.Status != store.StatusFilled || in.Result.FilledShares != uint64(st.SizeMatched) || in.Result.FilledShares != before.Shares {
		t.Fatalf("intent %s with %d shares of %d; the CLOB holds order %s: %v, matched %d", in.Status, in.Result.FilledShares,
			before.Shares, before.OrderHash.Hex(), ok, st.SizeMatched)
	}
	p, open, err := f.st.Position(trackToken)
	if err != nil {
		t.Fatal(err)
	}
	if held := uint64(f.srv.Balance(f.addr).Tokens[trackToken]); p.Shares != held || (open && p.Shares == bought.Result.FilledShares) {
		t.Fatalf("position %d shares (open %v), the CLOB account holds %d; want the SELL applied", p.Shares, open, held)
	}
}

// chainFills is polybot's own fills as the chain's record has them: by order hash.
type chainFills map[common.Hash][]polymarket.Fill

func (c chainFills) Of(h common.Hash) ([]polymarket.Fill, uint64) { return c[h], 100 }

// An order the CLOB does not know but the chain shows filled did leave: it is not sent again.
func TestAnOrderTheChainShowsFilledIsNotSentAgain(t *testing.T) {
	f := neverSentFixture(t)
	f.ageRules()
	_, before := f.copyKilled(t, polymarket.Buy)
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	f.st = openStore(t, f.dir)
	e, err := New(Options{Broker: f.live, Preparer: f.live, Lookup: f.live, Store: f.st, Strategy: f.e.Strategy(), Now: f.wall.now,
		Clock: f.clk, Log: zaptest.NewLogger(t),
		OwnFills: chainFills{before.OrderHash: {{OrderHash: before.OrderHash, Shares: 10_000_000, Collateral: 5_000_000}}}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.Recover(context.Background(), LookUp{Broker: f.live})
	if err != nil || r.Resent != 0 {
		t.Fatalf("recover: %+v %v; want no re-send of an order the chain shows filled", r, err)
	}
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != 0 {
		t.Fatalf("%d orders posted, want none", n)
	}
}
