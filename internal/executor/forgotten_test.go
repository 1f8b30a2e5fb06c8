package executor

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// fakeOwnFills is the chain's record of polybot's fills as a test sets it.
type fakeOwnFills struct {
	mu      sync.Mutex
	fills   map[common.Hash][]polymarket.Fill
	through uint64
}

func (o *fakeOwnFills) Of(h common.Hash) ([]polymarket.Fill, uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]polymarket.Fill(nil), o.fills[h]...), o.through
}

func (o *fakeOwnFills) set(h common.Hash, fs ...polymarket.Fill) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fills == nil {
		o.fills = make(map[common.Hash][]polymarket.Fill)
	}
	o.fills[h] = fs
}

func (o *fakeOwnFills) readThrough(b uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.through = b
}

// startWith restarts f's executor, as start does, with the chain's record own.
func (f *trackFixture) startWith(t *testing.T, own OwnFills) {
	t.Helper()
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	f.start(t)
	f.e.ownFills = own
}

// A GTC copy fills 4 shares and rests, then a counterparty fills the other 6: the CLOB no
// longer lists the order (GET /data/order: 404). The tracker reads its trades and records the
// fill: the copy is filled, not "no longer on the CLOB" with the 4 seen before.
func TestATrackedOrderThatFilledAndVanishedIsRecordedFilled(t *testing.T) {
	f := newTrackFixture(t, order.GTC, "4", strategy.Rules{})
	fl := copyNow(t, f.e, 1001)
	in := f.intent(t, fl)
	if in.Status != store.StatusOpen || f.e.Tracking() != 1 {
		t.Fatalf("intent %s, tracking %d; want the resting order tracked", in.Status, f.e.Tracking())
	}
	if n, err := f.srv.FillResting(in.OrderHash, 6_000_000); err != nil || n != 6_000_000 {
		t.Fatalf("fill resting: %d %v", n, err)
	}
	f.poll()
	in = f.intent(t, fl)
	if in.Status != store.StatusFilled || in.Result.FilledShares != 10_000_000 {
		t.Fatalf("intent %s with %d shares; want filled with 10", in.Status, in.Result.FilledShares)
	}
	if p := f.position(t); p.Shares != 10_000_000 {
		t.Fatalf("position %d shares, want 10", p.Shares)
	}
	if f.e.Tracking() != 0 || f.reserved() != 0 {
		t.Fatalf("tracking %d, reserved %d; want none", f.e.Tracking(), f.reserved())
	}
}

// A FAK answered "live" with nothing matched (clob-client issue 317) fills later and is then
// forgotten by GET /data/order: polybot tracks it and records the fill from its trade.
func TestAFAKAnsweredLiveFillsLaterAndIsRecorded(t *testing.T) {
	f := newTrackFixture(t, order.FAK, "100", strategy.Rules{})
	f.srv.AnswerDelayedAsLive(true)
	f.srv.DelayOrders(1, 0)
	fl := copyNow(t, f.e, 1001)
	if in := f.intent(t, fl); in.Status != store.StatusOpen || in.Result.FilledShares != 0 {
		t.Fatalf("intent %+v after a live answer with nothing matched; want open", in)
	}
	f.poll() // still waiting: nothing changes
	if f.e.Tracking() != 1 {
		t.Fatal("the FAK answered live is not tracked")
	}
	if f.srv.MatchDelayed() != 1 {
		t.Fatal("no delayed order on the CLOB")
	}
	f.poll()
	in := f.intent(t, fl)
	if in.Status != store.StatusFilled || in.Result.FilledShares != 10_000_000 || in.Result.FilledCollateral != 5_000_000 {
		t.Fatalf("intent %s with %d shares for %d; want filled: 10 at the 0.50 ask", in.Status, in.Result.FilledShares, in.Result.FilledCollateral)
	}
	if p := f.position(t); p.Shares != 10_000_000 || p.Cost != 5_000_000 {
		t.Fatalf("position %d for %d, want 10 shares for 5", p.Shares, p.Cost)
	}
}

// The POST's answer is lost (the CLOB took the order, then the connection stalled): the
// order filled and the CLOB forgot it. polybot finds its trade and records the fill at once
// instead of sending it again or calling it unfilled.
func TestAnUnclearPostOfAnOrderThatFilledAndVanishedIsRecordedFilled(t *testing.T) {
	f := newTrackFixture(t, order.FAK, "100", strategy.Rules{})
	f.srv.StallAfterAccept(clobsim.RoutePostOrder, time.Hour)
	fl := copyNow(t, f.e, 1001)
	in := f.intent(t, fl)
	// The market BUY spends its 5.20 at the 0.50 ask: 10.4 shares.
	if in.Status != store.StatusFilled || in.Result.FilledShares != 10_400_000 || in.Result.FilledCollateral != 5_200_000 {
		t.Fatalf("intent %s with %d shares for %d; want filled: 10.4 at 0.50", in.Status, in.Result.FilledShares, in.Result.FilledCollateral)
	}
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != 1 {
		t.Fatalf("%d POSTs, want 1: the order was found in the trades", n)
	}
	if s := f.e.Stats(); s.Unresolved != 0 {
		t.Fatalf("stats %+v; want nothing unresolved", s)
	}
}

// pendingAfterLostPost copies once while the CLOB takes the order but its answer is lost and
// its trades cannot be read: the intent stays pending (unclear) with the order's hash.
func pendingAfterLostPost(t *testing.T, f *trackFixture) polymarket.Fill {
	t.Helper()
	f.srv.StallAfterAccept(clobsim.RoutePostOrder, time.Hour)
	f.srv.FailNext(clobsim.RouteTrades, 100, http.StatusInternalServerError, 0)
	fl := copyNow(t, f.e, 1001)
	if in := f.intent(t, fl); in.Status != store.StatusPending {
		t.Fatalf("intent %s; want pending after the lost answer", in.Status)
	}
	f.srv.ClearFaults()
	return fl
}

// polybot stops while a copy's outcome is unclear; meanwhile the order filled and the CLOB
// forgot it. At the next start recovery reads its trade and records the fill.
func TestRecoveryRecordsAnOrderThatFilledAndVanished(t *testing.T) {
	f := newTrackFixture(t, order.FAK, "100", strategy.Rules{})
	fl := pendingAfterLostPost(t, f)
	if err := f.st.Close(); err != nil { // polybot stops
		t.Fatal(err)
	}
	f.start(t)
	r, err := f.e.Recover(context.Background(), LookUp{Broker: f.live})
	if err != nil || r.Resolved != 1 {
		t.Fatalf("recover: %+v %v; want the copy resolved", r, err)
	}
	in := f.intent(t, fl)
	if in.Status != store.StatusFilled || in.Result.FilledShares != 10_400_000 {
		t.Fatalf("intent %s with %d shares after the restart; want filled with 10.4", in.Status, in.Result.FilledShares)
	}
	if p := f.position(t); p.Shares != 10_400_000 {
		t.Fatalf("position %d shares, want 10.4", p.Shares)
	}
}

// lostPost copies once while POST /order never reaches the CLOB (the request hangs until the
// broker gives up, twice): the intent stays pending and tracked as unclear, and neither the
// CLOB nor its trades know the order.
func lostPost(t *testing.T, f *trackFixture) polymarket.Fill {
	t.Helper()
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) }) // before the server closes
	f.srv.Override(clobsim.RoutePostOrder, func(_ http.ResponseWriter, r *http.Request, _ http.Handler) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	})
	fl := copyNow(t, f.e, 1001)
	if in := f.intent(t, fl); in.Status != store.StatusPending || f.e.Tracking() != 1 {
		t.Fatalf("intent %s, tracking %d; want pending and tracked", in.Status, f.e.Tracking())
	}
	f.srv.ClearFaults()
	return fl
}

// An order neither the CLOB nor its trades know, but the chain shows filled (the CLOB's
// memory is not the ledger): the tracker records the chain's fill.
func TestAnOrderUnknownToTheCLOBButFilledOnChainIsRecorded(t *testing.T) {
	f := newTrackFixture(t, order.FAK, "100", strategy.Rules{})
	own := &fakeOwnFills{through: 100}
	f.startWith(t, own)
	fl := lostPost(t, f)
	hash := f.intent(t, fl).OrderHash
	own.set(hash, polymarket.Fill{OrderHash: hash, Side: polymarket.Buy, Shares: 10_000_000, Collateral: 5_100_000, Fee: 20_000, Block: 101})
	f.poll()
	in := f.intent(t, fl)
	if in.Status != store.StatusFilled || in.Result.FilledShares != 10_000_000 || in.Result.FilledCollateral != 5_100_000 || in.Result.Fee != 20_000 {
		t.Fatalf("intent %+v; want filled as the chain shows: 10 shares for 5.10 and a 0.02 fee", in)
	}
	if p := f.position(t); p.Shares != 10_000_000 || p.Cost != 5_120_000 {
		t.Fatalf("position %d for %d; want 10 shares for 5.12 with the fee", p.Shares, p.Cost)
	}
}

// An order neither the CLOB, its trades nor the chain know is "never placed" only once the
// chain has been read NeverPlacedBlocks past the block it was read through when the order was
// first found unknown; until then it stays pending with its reservation held.
func TestAnOrderUnknownEverywhereIsUnfilledOnlyAfterTheChainBound(t *testing.T) {
	f := newTrackFixture(t, order.FAK, "100", strategy.Rules{})
	own := &fakeOwnFills{through: 100}
	f.startWith(t, own)
	fl := lostPost(t, f)
	f.poll() // first found unknown with the chain read through block 100
	own.readThrough(100 + NeverPlacedBlocks - 1)
	f.poll()
	if in := f.intent(t, fl); in.Status != store.StatusPending || f.e.Tracking() != 1 || f.reserved() != 5_000_000 {
		t.Fatalf("intent %s, tracking %d, reserved %d before the chain bound; want pending, tracked, its 5 held",
			in.Status, f.e.Tracking(), f.reserved())
	}
	own.readThrough(100 + NeverPlacedBlocks)
	f.poll()
	if in := f.intent(t, fl); in.Status != store.StatusUnfilled || f.e.Tracking() != 0 || f.reserved() != 0 {
		t.Fatalf("intent %s, tracking %d, reserved %d after the chain bound; want unfilled, nothing tracked or held",
			in.Status, f.e.Tracking(), f.reserved())
	}
}

// At a restart, a pending copy whose order neither the CLOB nor its trades know but the chain
// shows filled is recorded with the chain's fill.
func TestRecoveryRecordsTheChainsFillOfAnOrderTheCLOBNeverListed(t *testing.T) {
	f := newTrackFixture(t, order.FAK, "100", strategy.Rules{})
	own := &fakeOwnFills{through: 100}
	f.startWith(t, own)
	fl := lostPost(t, f)
	hash := f.intent(t, fl).OrderHash
	if err := f.st.Close(); err != nil { // polybot stops
		t.Fatal(err)
	}
	own.set(hash, polymarket.Fill{OrderHash: hash, Side: polymarket.Buy, Shares: 4_000_000, Collateral: 2_000_000, Block: 101})
	f.startWith(t, own)
	r, err := f.e.Recover(context.Background(), LookUp{Broker: f.live})
	if err != nil || r.Resolved != 1 {
		t.Fatalf("recover: %+v %v; want the copy resolved", r, err)
	}
	if in := f.intent(t, fl); in.Status != store.StatusPartial || in.Result.FilledShares != 4_000_000 {
		t.Fatalf("intent %s with %d shares; want partial with the chain's 4", in.Status, in.Result.FilledShares)
	}
}

// A delayed FAK BUY matches, then its trade fails on chain (RETRYING, then FAILED). While the
// trade settles the fill counts (the copy is open, the position holds it); once it FAILED the
// fill is taken out of the position, the day's spend and the limits, and the copy is unfilled.
func TestAFailedTradeIsUndoneInThePositionAndTheLimits(t *testing.T) {
	f := newTrackFixture(t, order.FAK, "100", strategy.Rules{})
	f.srv.HoldTrades(true)
	f.srv.FailTrades(1)
	f.srv.DelayOrders(1, 0)
	fl := copyNow(t, f.e, 1001)
	f.srv.DelayOrders(0, 0)
	if f.srv.MatchDelayed() != 1 {
		t.Fatal("no delayed order on the CLOB")
	}
	f.poll()
	in := f.intent(t, fl)
	if in.Status != store.StatusOpen || in.Result.FilledShares != 10_000_000 {
		t.Fatalf("intent %s with %d shares while its trade settles; want open with 10", in.Status, in.Result.FilledShares)
	}
	day, err := f.st.Daily(f.wall.now())
	if err != nil || day.Spent != 5_000_000 {
		t.Fatalf("day's spend %d (%v) while the trade settles; want 5", day.Spent, err)
	}
	f.srv.SettleTrades() // RETRYING
	f.poll()
	if p := f.position(t); p.Shares != 10_000_000 || f.e.Tracking() != 1 {
		t.Fatalf("position %d, tracking %d while the trade retries; want 10 held and tracked", p.Shares, f.e.Tracking())
	}
	f.srv.SettleTrades() // FAILED: the CLOB gives the collateral back
	f.poll()
	in = f.intent(t, fl)
	if in.Status != store.StatusUnfilled || in.Result.FilledShares != 0 {
		t.Fatalf("intent %s with %d shares after the trade failed; want unfilled", in.Status, in.Result.FilledShares)
	}
	if p, open, err := f.st.Position(trackToken); err != nil || open {
		t.Fatalf("position %+v (open %v, %v) after the trade failed; want none", p, open, err)
	}
	day, err = f.st.Daily(f.wall.now())
	if err != nil || day.Spent != 0 || day.Copies != 0 {
		t.Fatalf("day %+v (%v) after the trade failed; want nothing spent, no copy", day, err)
	}
	snap, err := f.st.Snapshot(alice, trackToken, f.wall.now())
	if err != nil || snap.MarketExposure != 0 || snap.LeaderExposure != 0 || snap.TotalExposure != 0 || snap.Held != 0 {
		t.Fatalf("snapshot %+v (%v) after the trade failed; want no exposure", snap, err)
	}
	if f.e.Tracking() != 0 || f.reserved() != 0 || f.e.Stats().Undone != 1 {
		t.Fatalf("tracking %d, reserved %d, stats %+v; want nothing held and one fill undone", f.e.Tracking(), f.reserved(), f.e.Stats())
	}
	if b := f.srv.Balance(f.addr); b.Collateral != 1000_000_000 || b.Tokens[trackToken] != 0 {
		t.Fatalf("wallet %+v after the failed trade; want its collateral back", b)
	}
}

// A FAK BUY is answered matched, so its copy is recorded filled at once; then its trade fails
// on chain. polybot watches the copy's trades and, once the trade FAILED, takes the fill out
// of the copy, the position, the day's spend and the exposure. A second copy whose trade
// settles keeps its fill and is no longer watched.
func TestAMatchedCopyWhoseTradeFailsIsUndone(t *testing.T) {
	f := newTrackFixture(t, order.FAK, "100", strategy.Rules{})
	f.srv.HoldTrades(true)
	f.srv.FailTrades(1)
	bad := copyNow(t, f.e, 1001)
	if in := f.intent(t, bad); in.Status != store.StatusFilled || in.Result.FilledShares != 10_400_000 {
		t.Fatalf("intent %s with %d shares; want filled with 10.4 from the matched answer", in.Status, in.Result.FilledShares)
	}
	good := copyNow(t, f.e, 1001)
	if f.e.Settling() != 2 {
		t.Fatalf("%d copies watched, want both", f.e.Settling())
	}
	f.poll() // MATCHED: nothing changes
	f.srv.SettleTrades()
	f.poll() // MINED and RETRYING
	if p := f.position(t); p.Shares != 20_800_000 {
		t.Fatalf("position %d while the trades settle, want 20.8", p.Shares)
	}
	f.srv.SettleTrades()
	f.poll() // CONFIRMED and FAILED
	if in := f.intent(t, bad); in.Status != store.StatusUnfilled || in.Result.FilledShares != 0 {
		t.Fatalf("intent %s with %d shares after its trade failed; want unfilled", in.Status, in.Result.FilledShares)
	}
	if in := f.intent(t, good); in.Status != store.StatusFilled || in.Result.FilledShares != 10_400_000 {
		t.Fatalf("the settled copy %s with %d shares; want filled with 10.4", in.Status, in.Result.FilledShares)
	}
	if p := f.position(t); p.Shares != 10_400_000 || p.Cost != 5_200_000 {
		t.Fatalf("position %d for %d; want only the settled copy's 10.4 for 5.20", p.Shares, p.Cost)
	}
	day, err := f.st.Daily(f.wall.now())
	if err != nil || day.Spent != 5_200_000 || day.Copies != 1 {
		t.Fatalf("day %+v (%v); want one copy, 5.20 spent", day, err)
	}
	snap, err := f.st.Snapshot(alice, trackToken, f.wall.now())
	if err != nil || snap.TotalExposure != 5_200_000 || snap.LeaderExposure != 5_200_000 {
		t.Fatalf("snapshot %+v (%v); want 5.20 of exposure", snap, err)
	}
	if f.e.Settling() != 0 || f.e.Stats().Undone != 1 {
		t.Fatalf("%d watched, stats %+v; want none watched and one fill undone", f.e.Settling(), f.e.Stats())
	}
	if b := f.srv.Balance(f.addr); b.Collateral != 1000_000_000-5_200_000 || b.Tokens[trackToken] != 10_400_000 {
		t.Fatalf("wallet %+v; want only the settled copy spent", b)
	}
}

// polybot stops while a copy's trade settles; the trade FAILS meanwhile. At the next start
// recovery takes the fill back and records the copy unfilled.
func TestRecoveryTakesBackAFillWhoseTradeFailedWhileDown(t *testing.T) {
	f := newTrackFixture(t, order.FAK, "100", strategy.Rules{})
	f.srv.HoldTrades(true)
	f.srv.FailTrades(1)
	f.srv.DelayOrders(1, 0)
	fl := copyNow(t, f.e, 1001)
	f.srv.DelayOrders(0, 0)
	f.srv.MatchDelayed()
	f.poll()
	if in := f.intent(t, fl); in.Status != store.StatusOpen || in.Result.FilledShares != 10_000_000 {
		t.Fatalf("intent %s with %d shares while its trade settles; want open with 10", in.Status, in.Result.FilledShares)
	}
	if err := f.st.Close(); err != nil { // polybot stops
		t.Fatal(err)
	}
	f.srv.SettleTrades()
	f.srv.SettleTrades() // FAILED
	f.start(t)
	r, err := f.e.Recover(context.Background(), LookUp{Broker: f.live})
	if err != nil || r.Resolved != 1 {
		t.Fatalf("recover: %+v %v; want the copy resolved", r, err)
	}
	if in := f.intent(t, fl); in.Status != store.StatusUnfilled {
		t.Fatalf("intent %s after the restart; want unfilled", in.Status)
	}
	if p, open, _ := f.st.Position(trackToken); open {
		t.Fatalf("position %+v after its only fill failed; want none", p)
	}
	if d, _ := f.st.Daily(f.wall.now()); d.Spent != 0 {
		t.Fatalf("day %+v; want nothing spent", d)
	}
}
