package executor

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

const trackToken = clobToken

// trackFixture is the live broker on clobsim and an executor that tracks its orders, on a
// simulated monotonic clock (lookups) and a test wall clock (order timeouts).
type trackFixture struct {
	srv   *clobsim.Server
	addr  common.Address
	live  *broker.CLOB
	dir   string
	st    *store.Store
	e     *Executor
	clk   *mclock.Simulated
	wall  *wall
	rules strategy.Rules
	wrap  func(Broker) Broker // if set, what the executor places orders through
}

const (
	trackPoll    = time.Second
	trackTimeout = time.Minute
)

// newTrackFixture starts clobsim with asks of askShares at 0.50 and a live broker posting orders
// of type typ.
func newTrackFixture(t *testing.T, typ order.OrderType, askShares string, rules strategy.Rules) *trackFixture {
	t.Helper()
	srv, live, addr := startLiveCLOB(t, askShares, func(_ *clobsim.Options, bo *broker.CLOBOptions) {
		bo.OrderType, bo.Timeout = typ, 2*time.Second
	})
	f := &trackFixture{srv: srv, addr: addr, live: live, dir: t.TempDir(), clk: new(mclock.Simulated), wall: newWall(), rules: rules}
	f.start(t)
	return f
}

// start opens the store and builds an executor on it, as polybot does at start.
func (f *trackFixture) start(t *testing.T) {
	t.Helper()
	f.st = openStore(t, f.dir)
	p := policy("1", 0)
	p.Rules = f.rules
	p.Rules.MaxFillAge = 0
	var b Broker = f.live
	if f.wrap != nil {
		b = f.wrap(b)
	}
	e, err := New(Options{Broker: b, Preparer: f.live, Lookup: f.live, Store: f.st, Strategy: p, Now: f.wall.now,
		Clock: f.clk, OrderTimeout: trackTimeout, PollInterval: trackPoll, Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	e.queues = e.queues[:1] // copyNow reads it
	f.e = e
}

// poll lets one poll interval pass and looks the due orders up.
func (f *trackFixture) poll() {
	f.clk.Run(trackPoll)
	f.e.pollTracked(context.Background())
}

func (f *trackFixture) intent(t *testing.T, fl polymarket.Fill) store.Intent {
	t.Helper()
	in, ok, err := f.st.IntentFor(store.IntentIDOf(&fl))
	if err != nil || !ok {
		t.Fatalf("intent of %s:%d: %v %v", fl.TxHash.Hex(), fl.LogIndex, ok, err)
	}
	return in
}

func (f *trackFixture) position(t *testing.T) store.Position {
	t.Helper()
	p, _, err := f.st.Position(trackToken)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *trackFixture) reserved() uint64 {
	f.e.res.mu.Lock()
	defer f.e.res.mu.Unlock()
	return f.e.res.total
}

// TestADelayedOrderIsTrackedToItsFill: the CLOB answers a copy "delayed", with nothing matched
// yet. The copy's intent stays open and its reservation held, so a second copy in the same
// market is held back by the market cap; once the CLOB matches the order, the next lookup
// records the fill: the position holds it and the reservation is released.
func TestADelayedOrderIsTrackedToItsFill(t *testing.T) {
	f := newTrackFixture(t, order.FAK, "100", strategy.Rules{MaxMarketExposure: 6_000_000})
	f.srv.DelayOrders(1, 0)
	first := copyNow(t, f.e, 1001) // 10 shares at 0.50
	if in := f.intent(t, first); in.Status != store.StatusOpen {
		t.Fatalf("intent %s after a delayed answer, want open", in.Status)
	}
	if f.e.Tracking() != 1 || f.reserved() != 5_000_000 {
		t.Fatalf("tracking %d orders with %d reserved; want the delayed order tracked with its 5 USDC held", f.e.Tracking(), f.reserved())
	}
	f.srv.DelayOrders(0, 0)
	second := copyNow(t, f.e, 1001)
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != 1 {
		t.Fatalf("%d orders posted; the market cap should hold the second copy back while the first is delayed", n)
	}
	if _, ok, _ := f.st.IntentFor(store.IntentIDOf(&second)); ok {
		t.Fatal("the second copy was placed past the market cap")
	}

	f.poll() // still delayed: nothing changes
	if in := f.intent(t, first); in.Status != store.StatusOpen || in.Result.FilledShares != 0 {
		t.Fatalf("intent %+v while the order is delayed", in)
	}
	if f.srv.MatchDelayed() != 1 {
		t.Fatal("no delayed order on the CLOB")
	}
	f.poll()
	in := f.intent(t, first)
	if in.Status != store.StatusFilled || in.Result.FilledShares != 10_000_000 {
		t.Fatalf("intent %s with %d shares after the delayed match; want filled with 10 shares", in.Status, in.Result.FilledShares)
	}
	// The CLOB no longer lists the filled order; its trade tells the 0.50 it matched at.
	if p := f.position(t); p.Shares != 10_000_000 || p.Cost != 5_000_000 {
		t.Fatalf("position %d shares for %d; want 10 shares at the 0.50 they matched at", p.Shares, p.Cost)
	}
	if f.e.Tracking() != 0 || f.reserved() != 0 {
		t.Fatalf("tracking %d, reserved %d after the fill; want none", f.e.Tracking(), f.reserved())
	}
	if held := f.srv.Balance(f.addr).Tokens[trackToken]; held != 10_000_000 {
		t.Fatalf("the CLOB account holds %d, want 10 shares", held)
	}
}

// TestARestingOrderIsCancelledAfterTheTimeoutWithItsFillsKept: a GTC copy for 10 shares finds 4
// on the book and rests the rest. The 4 are in the position at once; 2 more filled later by a
// counterparty are added at the next lookup. When the order timeout passes the order is
// cancelled, and its 6 shares are kept; the reservation is released.
func TestARestingOrderIsCancelledAfterTheTimeoutWithItsFillsKept(t *testing.T) {
	f := newTrackFixture(t, order.GTC, "4", strategy.Rules{})
	fl := copyNow(t, f.e, 1001)
	in := f.intent(t, fl)
	if in.Status != store.StatusOpen || in.Result.FilledShares != 4_000_000 {
		t.Fatalf("intent %s with %d shares after a live answer; want open with 4", in.Status, in.Result.FilledShares)
	}
	if p := f.position(t); p.Shares != 4_000_000 || p.Cost != 2_000_000 {
		t.Fatalf("position %d for %d; want the 4 shares matched at once", p.Shares, p.Cost)
	}
	if r := f.reserved(); r != 3_000_000 {
		t.Fatalf("reserved %d; want the 5 USDC of the order less the 2 filled", r)
	}
	if n, err := f.srv.FillResting(in.OrderHash, 2_000_000); err != nil || n != 2_000_000 {
		t.Fatalf("fill resting: %d %v", n, err)
	}
	f.poll()
	if p := f.position(t); p.Shares != 6_000_000 || p.Cost != 3_040_000 {
		t.Fatalf("position %d for %d; want 6 shares (2 more at the 0.52 limit)", p.Shares, p.Cost)
	}
	if n := f.srv.Requests(clobsim.RouteCancelOrder); n != 0 {
		t.Fatalf("%d cancels before the order timeout", n)
	}
	f.wall.advance(trackTimeout)
	f.poll()
	if st, ok := f.srv.Order(in.OrderHash); !ok || st.Status != "CANCELED" {
		t.Fatalf("order on the CLOB %+v, want canceled after the timeout", st)
	}
	in = f.intent(t, fl)
	if in.Status != store.StatusPartial || in.Result.FilledShares != 6_000_000 {
		t.Fatalf("intent %s with %d shares after the cancel; want partial with 6", in.Status, in.Result.FilledShares)
	}
	if p := f.position(t); p.Shares != 6_000_000 {
		t.Fatalf("position %d shares after the cancel, want the 6 filled", p.Shares)
	}
	if f.e.Tracking() != 0 || f.reserved() != 0 {
		t.Fatalf("tracking %d, reserved %d after the cancel; want none", f.e.Tracking(), f.reserved())
	}
}

// TestAnUnclearOutcomeIsResolvedWhileRunning: the CLOB takes an order but its answer never
// comes (timeout), and looking the order up fails too (an unreadable answer). The running
// executor keeps looking it up, with backoff, and once the CLOB answers again records the fill
// and releases the reservation: nothing waits for a restart.
func TestAnUnclearOutcomeIsResolvedWhileRunning(t *testing.T) {
	f := newTrackFixture(t, order.FAK, "100", strategy.Rules{})
	f.srv.StallAfterAccept(clobsim.RoutePostOrder, time.Minute)
	garbage := func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id": [`))
	}
	f.srv.Override(clobsim.RouteGetOrder, garbage)
	fl := copyNow(t, f.e, 1001)
	if s := f.e.Stats(); s.Unresolved != 1 || f.reserved() != 5_000_000 {
		t.Fatalf("stats %+v, reserved %d: want the unclear copy unresolved and its 5 USDC held", s, f.reserved())
	}
	done := make(chan store.IntentID, 1)
	f.e.tracker.done = func(id store.IntentID) { done <- id }
	select {
	case <-f.e.tracker.wake: // the order was added before Run: its first lookup is due after one interval
	default:
		t.Fatal("the unclear order is not tracked")
	}
	f.clk.Run(trackPoll)
	lookups := f.srv.Requests(clobsim.RouteGetOrder)

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- f.e.Run(ctx, 5*time.Second) }()
	defer func() { cancel(); <-stopped }()
	waitFor(t, "a lookup while running", func() bool { return f.srv.Requests(clobsim.RouteGetOrder) > lookups })
	f.clk.WaitForTimers(1)
	if s := f.e.Stats(); s.Unresolved != 1 {
		t.Fatalf("stats %+v after a failed lookup; want still unresolved", s)
	}
	f.srv.ClearFaults()
	f.clk.Run(trackPoll) // the backoff after one failure: one interval
	select {
	case id := <-done:
		if id != store.IntentIDOf(&fl) {
			t.Fatalf("resolved %v", id)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the unclear order was not resolved while running")
	}
	// The market BUY bought what the CLOB matched: at least the 10 ordered (more with a better
	// price).
	in := f.intent(t, fl)
	st, ok := f.srv.Order(in.OrderHash)
	if !ok || st.SizeMatched < 10_000_000 {
		t.Fatalf("the CLOB holds order %s: %v, matched %d", in.OrderHash, ok, st.SizeMatched)
	}
	if in.Status != store.StatusFilled || in.Result.FilledShares != uint64(st.SizeMatched) {
		t.Fatalf("intent %s with %d shares; want filled with the %d the CLOB matched", in.Status, in.Result.FilledShares, st.SizeMatched)
	}
	if p := f.position(t); p.Shares != uint64(st.SizeMatched) {
		t.Fatalf("position %d shares, want %d", p.Shares, st.SizeMatched)
	}
	if s := f.e.Stats(); s.Unresolved != 0 || f.reserved() != 0 {
		t.Fatalf("stats %+v, reserved %d after the order was found; want nothing unresolved or held", s, f.reserved())
	}
}

// TestTrackingResumesAfterARestart: a GTC copy rests on the book with 4 of 10 shares filled
// when polybot stops. At the next start the open intent is found, the order looked up and
// tracked again (the rest of its collateral reserved); the 6 shares filled after the restart
// reach the position.
func TestTrackingResumesAfterARestart(t *testing.T) {
	f := newTrackFixture(t, order.GTC, "4", strategy.Rules{})
	fl := copyNow(t, f.e, 1001)
	hash := f.intent(t, fl).OrderHash
	if err := f.st.Close(); err != nil { // polybot stops
		t.Fatal(err)
	}

	f.start(t)
	r, err := f.e.Recover(context.Background(), LookUp{Broker: f.live})
	if err != nil || r.Tracked != 1 || r.Resolved != 0 {
		t.Fatalf("recover: %+v %v; want the open order tracked again", r, err)
	}
	if f.e.Tracking() != 1 || f.reserved() != 3_000_000 {
		t.Fatalf("tracking %d with %d reserved after the restart; want the order with its unfilled 3 USDC", f.e.Tracking(), f.reserved())
	}
	if p := f.position(t); p.Shares != 4_000_000 {
		t.Fatalf("position %d shares after the restart, want 4", p.Shares)
	}
	if n, err := f.srv.FillResting(hash, 6_000_000); err != nil || n != 6_000_000 {
		t.Fatalf("fill resting: %d %v", n, err)
	}
	f.poll()
	in := f.intent(t, fl)
	if in.Status != store.StatusFilled || in.Result.FilledShares != 10_000_000 {
		t.Fatalf("intent %s with %d shares; want filled with 10", in.Status, in.Result.FilledShares)
	}
	// The filled order is read from its trades: 4 at 0.50 and 6 at 0.52 cost 5.12; the 6
	// beyond the 4 recorded at the restart are priced at that average, 0.512.
	if p := f.position(t); p.Shares != 10_000_000 || p.Cost != 5_072_000 {
		t.Fatalf("position %d for %d; want 10 shares (4 at 0.50, 6 at the 0.512 average)", p.Shares, p.Cost)
	}
	if f.e.Tracking() != 0 || f.reserved() != 0 {
		t.Fatalf("tracking %d, reserved %d; want none", f.e.Tracking(), f.reserved())
	}
}

// waitFor waits until cond holds (checked every millisecond), failing after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestResultOfFillKeepsTheStoreStatusWords(t *testing.T) {
	for _, c := range []struct {
		in   broker.FillStatus
		want store.Status
	}{{broker.Filled, store.StatusFilled}, {broker.PartlyFilled, store.StatusPartial}, {broker.Unfilled, store.StatusUnfilled}} {
		f := broker.Fill{Status: c.in, FilledShares: 4, FilledCollateral: 2, Fee: 1, OrderID: "o"}
		if c.in == broker.Unfilled {
			f.FilledShares, f.FilledCollateral, f.Fee = 0, 0, 0
		}
		want := store.Result{Status: c.want, FilledShares: f.FilledShares, FilledCollateral: f.FilledCollateral, Fee: f.Fee, OrderID: "o"}
		if got := ResultOfFill(f); got != want {
			t.Errorf("ResultOfFill(%+v) = %+v; want %+v", f, got, want)
		}
	}
}

// TestARestartReservesTheWorstSignedPrice: a copy BUY signed up to 0.02 above the leader's 0.50
// (the broker's slippage too) rests with 4 of its 10 shares filled; it holds 5.20 less the 2
// filled, 3.20. After a restart the order, tracked again, holds the same 3.20 against the limits, not the 3 its unfilled
// shares cost at the leader's price: a restart must not make room the order may still spend.
func TestARestartReservesTheWorstSignedPrice(t *testing.T) {
	f := newTrackFixture(t, order.GTC, "4", strategy.Rules{Slippage: 20_000})
	copyNow(t, f.e, 1001)
	before := f.reserved()
	if before != 3_200_000 {
		t.Fatalf("%d reserved while the order rests; want 3.20 (5.20 at 0.52 less the 2 filled)", before)
	}
	if err := f.st.Close(); err != nil { // polybot stops
		t.Fatal(err)
	}
	f.start(t)
	r, err := f.e.Recover(context.Background(), LookUp{Broker: f.live})
	if err != nil || r.Tracked != 1 {
		t.Fatalf("recover: %+v %v; want the open order tracked again", r, err)
	}
	if got := f.reserved(); got != before {
		t.Fatalf("%d reserved after the restart; want the %d held before it", got, before)
	}
}

// refreshRecorder is a broker that caches balances: it records each refresh it is asked for.
type refreshRecorder struct {
	Broker
	mu     sync.Mutex
	tokens []string
}

func (r *refreshRecorder) Refresh(_ context.Context, token string) {
	r.mu.Lock()
	r.tokens = append(r.tokens, token)
	r.mu.Unlock()
}

func (r *refreshRecorder) refreshed() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...)
}

// TestFillsTheTrackerFindsRefreshTheBalances: a delayed copy BUY fills while it is tracked.
// Like a fill of a placed order, the fill the tracker finds has the broker refresh its cached
// balances (the live CLOB checks orders against them, and would refuse the exit of shares it
// does not know were bought); a lookup that finds nothing new refreshes nothing.
func TestFillsTheTrackerFindsRefreshTheBalances(t *testing.T) {
	rec := &refreshRecorder{}
	srv, live, addr := startLiveCLOB(t, "100", func(_ *clobsim.Options, bo *broker.CLOBOptions) {
		bo.OrderType, bo.Timeout = order.FAK, 2*time.Second
	})
	f := &trackFixture{srv: srv, addr: addr, live: live, dir: t.TempDir(), clk: new(mclock.Simulated), wall: newWall(),
		wrap: func(b Broker) Broker { rec.Broker = b; return rec }}
	f.start(t)
	f.srv.DelayOrders(1, 0)
	fl := copyNow(t, f.e, 1001)
	if in := f.intent(t, fl); in.Status != store.StatusOpen {
		t.Fatalf("intent %s after a delayed answer, want open", in.Status)
	}
	f.poll() // still delayed: nothing filled, nothing to refresh
	if got := rec.refreshed(); len(got) != 0 {
		t.Fatalf("balances refreshed %v with nothing filled", got)
	}
	if f.srv.MatchDelayed() != 1 {
		t.Fatal("no delayed order on the CLOB")
	}
	f.poll()
	if in := f.intent(t, fl); in.Status != store.StatusFilled {
		t.Fatalf("intent %s after the delayed match, want filled", in.Status)
	}
	if got := rec.refreshed(); len(got) != 1 || got[0] != trackToken {
		t.Fatalf("balances refreshed for %v after the tracked fill; want once for token %s", got, trackToken)
	}
}
