package executor

import (
	"context"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// newExitFixture is clobsim (asks of 100 shares at 0.50, no bid unless edit adds one) and an
// executor over the live broker, on the test's wall clock (the broker's too), holding the
// shares bought by copying alice's BUY of 10 at 0.50.
func newExitFixture(t *testing.T, edit func(*clobsim.Options, *broker.CLOBOptions)) *trackFixture {
	t.Helper()
	w := newWall()
	srv, live, addr := startLiveCLOB(t, "100", func(so *clobsim.Options, bo *broker.CLOBOptions) {
		bo.OrderType, bo.Now = order.FAK, w.now
		if edit != nil {
			edit(so, bo)
		}
	})
	f := &trackFixture{srv: srv, addr: addr, live: live, dir: t.TempDir(), clk: new(mclock.Simulated), wall: w}
	f.start(t)
	copyNow(t, f.e, 1001)
	if p := f.position(t); p.Shares < 10_000_000 {
		t.Fatalf("position %d shares after the BUY, want at least 10", p.Shares)
	}
	return f
}

// leaderSells copies alice's SELL of all her 10 shares at collateral (her exit) and returns it.
func leaderSells(t *testing.T, f *trackFixture, collateral uint64) polymarket.Fill {
	t.Helper()
	fillN++
	fl := fill(alice, polymarket.Sell, 1001, 10_000_000, collateral, fillN)
	if err := f.e.Submit(context.Background(), fl); err != nil {
		t.Fatal(err)
	}
	f.e.copy(context.Background(), <-f.e.queues[0])
	return fl
}

// bid rests a bid of 100 shares at price on the fake CLOB.
func bid(t *testing.T, f *trackFixture, price string) {
	t.Helper()
	if err := f.srv.AddBid(clobToken, decimal.RequireFromString(price), decimal.RequireFromString("100")); err != nil {
		t.Fatal(err)
	}
}

// oneExit returns the one exit waiting, failing the test when there is not exactly one.
func oneExit(t *testing.T, e *Executor) ExitRetry {
	t.Helper()
	w := e.ExitRetries()
	if len(w) != 1 {
		t.Fatalf("exits waiting %+v; want one", w)
	}
	return w[0]
}

// sold checks that the retries sold the whole position: closed in the store, none left at the
// CLOB, no exit waiting.
func sold(t *testing.T, f *trackFixture) {
	t.Helper()
	if p, open, err := f.st.Position(trackToken); err != nil || open {
		t.Fatalf("position %+v still open (%v); want it sold", p, err)
	}
	if w := f.e.ExitRetries(); len(w) != 0 {
		t.Fatalf("exits still waiting after the sale: %+v", w)
	}
	if held := f.srv.Balance(f.addr).Tokens[trackToken]; held != 0 {
		t.Fatalf("the CLOB account still holds %d shares", held)
	}
}

// attemptDecisions are the decisions on the leader fill fl, by attempt.
func attemptDecisions(t *testing.T, st *store.Store, fl polymarket.Fill) map[uint][]store.Decision {
	t.Helper()
	out := map[uint][]store.Decision{}
	for _, d := range decisions(t, st) {
		if d.Tx == fl.TxHash && d.LogIndex == fl.LogIndex {
			out[d.Attempt] = append(out[d.Attempt], d)
		}
	}
	return out
}

// TestAnExitThatFindsNoBidIsRetriedWithBackoffUntilABidComes: the leader exits and polybot's
// FAK SELL finds no bid. The exit waits, listed with the reason (polybot status); it is not
// tried before its backoff, tried again after it (still no bid: the next wait is twice as long),
// and once a bid is back the next attempt sells the position. Each attempt is a decision and an
// intent of its own on the leader's fill, with a salt of its own, and the order the CLOB
// matched is the last attempt's.
func TestAnExitThatFindsNoBidIsRetriedWithBackoffUntilABidComes(t *testing.T) {
	f := newExitFixture(t, nil)
	held := f.position(t).Shares
	fl := leaderSells(t, f, 5_000_000)
	if p := f.position(t); p.Shares != held {
		t.Fatalf("position %d shares after the SELL found no bid, want the %d still held", p.Shares, held)
	}
	x := oneExit(t, f.e)
	if x.Attempt != 0 || x.Shares != held || !strings.Contains(x.Reason, "no bid") {
		t.Fatalf("exit waiting %+v; want the copy's %d shares, not sold for want of a bid", x, held)
	}
	posts := f.srv.Requests(clobsim.RoutePostOrder)
	f.wall.advance(exitRetryBase - time.Second)
	f.e.retryExits(context.Background())
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != posts {
		t.Fatalf("%d orders posted before the backoff passed, want %d", n, posts)
	}
	f.wall.advance(time.Second)
	f.e.retryExits(context.Background()) // attempt 1: still no bid
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != posts+1 {
		t.Fatalf("%d orders posted once the backoff passed, want %d", n, posts+1)
	}
	if x := oneExit(t, f.e); x.Attempt != 1 || !x.Next.Equal(f.wall.now().Add(2*exitRetryBase)) {
		t.Fatalf("exit waiting %+v; want attempt 1, next try in %s", x, 2*exitRetryBase)
	}
	f.wall.advance(exitRetryBase)
	f.e.retryExits(context.Background())
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != posts+1 {
		t.Fatalf("%d orders posted before the doubled backoff passed, want %d", n, posts+1)
	}
	bid(t, f, "0.50")
	f.wall.advance(exitRetryBase)
	f.e.retryExits(context.Background()) // attempt 2 sells
	sold(t, f)

	byAttempt := attemptDecisions(t, f.st, fl)
	salts := map[uint64]bool{}
	for n := uint(0); n <= 2; n++ {
		if len(byAttempt[n]) != 1 || byAttempt[n][0].Action != "copy" {
			t.Fatalf("attempt %d: decisions %+v; want one copy", n, byAttempt[n])
		}
		id := store.IntentIDOf(&fl)
		id.Attempt = n
		in, ok, err := f.st.IntentFor(id)
		if err != nil || !ok {
			t.Fatalf("attempt %d has no intent (%v)", n, err)
		}
		if want := order.SaltForAttempt(fl.TxHash, fl.LogIndex, n).Uint64(); in.Salt != want || salts[in.Salt] {
			t.Fatalf("attempt %d: salt %d, want %d and unique", n, in.Salt, want)
		}
		salts[in.Salt] = true
		if o, ok := f.srv.Order(in.OrderHash); n == 2 && (!ok || o.SizeMatched == 0) {
			t.Fatalf("the CLOB did not match attempt 2's order %s: %+v", in.OrderHash.Hex(), o)
		}
	}
	if len(byAttempt) != 3 {
		t.Fatalf("decisions on the leader's SELL by attempt: %+v; want attempts 0 to 2", byAttempt)
	}
}

// TestAnExitRefusedForItsTickSizeIsRetriedOnTheNewGrid: the market's tick size goes from 0.001
// to 0.01 while polybot has the old one cached; the exit's limit (0.485) is off the new grid
// and the CLOB refuses it. The retry is priced on the new grid (0.49) and sells to the bid.
func TestAnExitRefusedForItsTickSizeIsRetriedOnTheNewGrid(t *testing.T) {
	f := newExitFixture(t, func(so *clobsim.Options, _ *broker.CLOBOptions) {
		so.Markets[0].TickSize = decimal.RequireFromString("0.001")
		so.Markets[0].Bids = []order.Level{{Price: decimal.RequireFromString("0.49"), Size: decimal.RequireFromString("100")}}
	})
	if err := f.srv.SetTickSize(clobToken, decimal.RequireFromString("0.01")); err != nil {
		t.Fatal(err)
	}
	held := f.position(t).Shares
	leaderSells(t, f, 5_050_000) // 0.505: a limit of 0.485 on the cached 0.001 grid
	if p := f.position(t); p.Shares != held {
		t.Fatalf("position %d shares after the refused SELL, want the %d still held", p.Shares, held)
	}
	if x := oneExit(t, f.e); !strings.Contains(x.Reason, "tick") {
		t.Fatalf("exit waiting %+v; want the tick-size refusal as its reason", x)
	}
	f.wall.advance(exitRetryBase)
	f.e.retryExits(context.Background())
	sold(t, f)
}

// TestAnExitMetByACLOBPauseOverThirtySecondsIsRetriedWhenTheCLOBTakesOrders: the CLOB is in
// cancel-only mode for a minute (503 with retry_after_seconds 60) when the leader exits: longer
// than polybot holds one order back, so the SELL is not placed. The exit waits; while the
// pause lasts its tries sell nothing, and once the CLOB takes orders again a retry sells.
func TestAnExitMetByACLOBPauseOverThirtySecondsIsRetriedWhenTheCLOBTakesOrders(t *testing.T) {
	f := newExitFixture(t, func(so *clobsim.Options, _ *broker.CLOBOptions) {
		so.Markets[0].Bids = []order.Level{{Price: decimal.RequireFromString("0.50"), Size: decimal.RequireFromString("100")}}
	})
	if err := f.srv.Pause(http.StatusServiceUnavailable, time.Minute); err != nil {
		t.Fatal(err)
	}
	held := f.position(t).Shares
	leaderSells(t, f, 5_000_000)
	if p := f.position(t); p.Shares != held {
		t.Fatalf("position %d shares after the paused SELL, want the %d still held", p.Shares, held)
	}
	oneExit(t, f.e)
	if err := f.srv.Pause(http.StatusServiceUnavailable, 0); err != nil {
		t.Fatal(err)
	}
	f.wall.advance(time.Minute + time.Second) // polybot holds orders back for the pause it was told
	f.e.retryExits(context.Background())
	sold(t, f)
}

// TestAnExitSkippedByTheOpenCLOBBreakerIsRetriedOnceItCloses: the CLOB breaker is open when the
// leader exits, so the copy SELL is skipped without an order. While the breaker stays open the
// exit waits and no attempt is made; after the cooldown the retry is the breaker's probe, sells,
// and closes the breaker.
func TestAnExitSkippedByTheOpenCLOBBreakerIsRetriedOnceItCloses(t *testing.T) {
	w := newWall()
	rec := &recorder{}
	e, st := newBreakerExecutor(t, rec, w, BreakerOptions{Failures: 2, Cooldown: time.Minute, MaxCooldown: 4 * time.Minute})
	e.queues = e.queues[:1]
	copyNow(t, e, 7) // the position to exit
	rec.setFail(outage)
	copyNow(t, e, 8)
	copyNow(t, e, 9)
	if e.Breaker().State != BreakerOpen {
		t.Fatalf("breaker %+v, want open", e.Breaker())
	}
	fillN++
	fl := fill(alice, polymarket.Sell, 7, 10_000_000, 5_000_000, fillN)
	if err := e.Submit(context.Background(), fl); err != nil {
		t.Fatal(err)
	}
	e.copy(context.Background(), <-e.queues[0])
	sent := rec.count()
	if x := oneExit(t, e); !strings.Contains(x.Reason, "breaker open") {
		t.Fatalf("exit waiting %+v; want the open breaker as its reason", x)
	}
	w.advance(exitRetryBase)
	e.retryExits(context.Background())
	if rec.count() != sent || len(attemptDecisions(t, st, fl)) != 1 {
		t.Fatalf("an exit was tried while the breaker was open: %d orders (want %d), decisions %+v", rec.count(), sent, attemptDecisions(t, st, fl))
	}
	rec.setFail(nil)
	w.advance(time.Minute)
	e.retryExits(context.Background())
	if _, open, err := st.Position("7"); err != nil || open {
		t.Fatalf("position still open after the breaker closed (%v)", err)
	}
	if e.Breaker().State != BreakerClosed {
		t.Fatalf("breaker %+v after the retry sold; want closed", e.Breaker())
	}
	if w := e.ExitRetries(); len(w) != 0 {
		t.Fatalf("exits still waiting: %+v", w)
	}
}

// TestExitRetriesEnd: an exit waiting for a bid stops being retried, with no order sent, when
// the leader buys into the market again, when the position is gone (resolved), when the market
// has closed (its book answers 404), when a reorg removed the leader's SELL, or when it has
// waited exitRetryMaxAge.
func TestExitRetriesEnd(t *testing.T) {
	for _, tc := range []struct {
		name string
		then func(t *testing.T, f *trackFixture, sell polymarket.Fill)
	}{
		{"the leader buys again", func(t *testing.T, f *trackFixture, _ polymarket.Fill) { copyNow(t, f.e, 1001) }},
		{"a reorg removed the leader's SELL", func(t *testing.T, f *trackFixture, sell polymarket.Fill) {
			sell.Removed = true
			if err := f.e.Submit(context.Background(), sell); err != nil {
				t.Fatal(err)
			}
			f.e.copy(context.Background(), <-f.e.queues[0])
		}},
		{"the position is resolved", func(t *testing.T, f *trackFixture, _ polymarket.Fill) {
			if _, ok, err := f.st.Resolve(trackToken, big.NewInt(0), big.NewInt(1), fl0.TxHash, 1, f.wall.now()); err != nil || !ok {
				t.Fatalf("resolve: %v %v", ok, err)
			}
		}},
		{"the market has closed", func(t *testing.T, f *trackFixture, _ polymarket.Fill) {
			f.srv.CloseMarket(clobToken)
			f.wall.advance(time.Hour) // the broker's cached book expires
		}},
		{"it waited too long", func(t *testing.T, f *trackFixture, _ polymarket.Fill) {
			f.wall.advance(exitRetryMaxAge + time.Second)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newExitFixture(t, nil)
			sell := leaderSells(t, f, 5_000_000)
			oneExit(t, f.e)
			tc.then(t, f, sell)
			bid(t, f, "0.50") // an attempt now would sell
			posts := f.srv.Requests(clobsim.RoutePostOrder)
			f.wall.advance(exitRetryBase)
			f.e.retryExits(context.Background())
			if w := f.e.ExitRetries(); len(w) != 0 {
				t.Fatalf("exits still waiting: %+v", w)
			}
			if n := f.srv.Requests(clobsim.RoutePostOrder); n != posts {
				t.Fatalf("%d orders posted after the exit's end, want %d", n, posts)
			}
		})
	}
}

// fl0 is a transaction hash for the resolution above (any will do).
var fl0 = fill(alice, polymarket.Buy, 1001, 1, 1, 0)

// TestARestartResumesAQueuedExitRetry: the exit is queued when polybot stops; the next start
// finds it in the store, with its attempt and reason, and its retry sells once a bid is back.
func TestARestartResumesAQueuedExitRetry(t *testing.T) {
	f := newExitFixture(t, nil)
	fl := leaderSells(t, f, 5_000_000)
	before := oneExit(t, f.e)
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	f.start(t) // the store reopened, a new executor on it
	after := oneExit(t, f.e)
	if after.Attempt != before.Attempt || after.Reason != before.Reason || !after.Next.Equal(before.Next) {
		t.Fatalf("exit after the restart %+v; before it %+v", after, before)
	}
	bid(t, f, "0.50")
	f.wall.advance(exitRetryBase)
	f.e.retryExits(context.Background())
	sold(t, f)
	if byAttempt := attemptDecisions(t, f.st, fl); len(byAttempt[1]) != 1 {
		t.Fatalf("decisions by attempt %+v; want attempt 1 decided once", byAttempt)
	}
}

// TestAnExitRetryRunsOnItsOwn: with the executor running, a queued exit is tried by its loop
// when due (no test calls it), and the loop stops with Run.
func TestAnExitRetryRunsOnItsOwn(t *testing.T) {
	f := newExitFixture(t, nil)
	leaderSells(t, f, 5_000_000)
	oneExit(t, f.e)
	bid(t, f, "0.50")
	f.wall.advance(exitRetryBase)
	stop := run(t, f.e, time.Second)
	f.e.wakeExits()
	waitFor(t, "the exit sold", func() bool { return len(f.e.ExitRetries()) == 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	sold(t, f)
}

// cutOff is a broker that stops every exit retry's order before it is sent and reports its
// outcome unknown, as a crash right after the attempt's intent was recorded leaves it.
type cutOffExits struct{ Broker }

func (b cutOffExits) PlaceOrder(ctx context.Context, o broker.Order) (broker.Execution, error) {
	if o.Attempt > 0 {
		return broker.Execution{}, broker.Classify(fmt.Errorf("%w: cut off before the POST", clob.ErrUnknownOutcome))
	}
	return b.Broker.PlaceOrder(ctx, o)
}

// TestAnExitAttemptCutOffByACrashIsSentOnceAtTheRestart: polybot stops right after recording
// attempt 1 of an exit, before its order left. The next start finds the attempt's intent
// pending and sends its journaled order (one POST, the attempt's own salt); the exit then
// reads from that intent that it sold, and ends without another order.
func TestAnExitAttemptCutOffByACrashIsSentOnceAtTheRestart(t *testing.T) {
	f := newExitFixture(t, nil)
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	f.wrap = func(b Broker) Broker { return cutOffExits{b} }
	f.start(t) // the same store, orders through cutOffExits
	fl := leaderSells(t, f, 5_000_000)
	bid(t, f, "0.50")
	f.wall.advance(exitRetryBase)
	posts := f.srv.Requests(clobsim.RoutePostOrder)
	f.e.retryExits(context.Background()) // attempt 1 recorded, its order never sent
	id := store.IntentIDOf(&fl)
	id.Attempt = 1
	if in, ok, err := f.st.IntentFor(id); err != nil || !ok || in.Status != store.StatusPending {
		t.Fatalf("attempt 1's intent %+v %v %v; want it pending", in, ok, err)
	}
	if err := f.st.Close(); err != nil { // polybot stops
		t.Fatal(err)
	}
	f.wrap = nil
	f.start(t)
	if r, err := f.e.Recover(context.Background(), LookUp{Broker: f.live}); err != nil || r.Resent != 1 {
		t.Fatalf("recover: %+v %v; want attempt 1 sent as journaled", r, err)
	}
	f.wall.advance(2 * exitRetryBase)
	f.e.retryExits(context.Background())
	sold(t, f)
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != posts+1 {
		t.Fatalf("%d orders posted for the exit after the restart, want 1", n-posts)
	}
	in, _, _ := f.st.IntentFor(id)
	if in.Salt != order.SaltForAttempt(fl.TxHash, fl.LogIndex, 1).Uint64() || in.Status != store.StatusFilled {
		t.Fatalf("attempt 1's intent %+v; want filled with the attempt's salt", in)
	}
	if byAttempt := attemptDecisions(t, f.st, fl); len(byAttempt) != 2 || len(byAttempt[1]) != 1 {
		t.Fatalf("decisions by attempt %+v; want the copy and attempt 1, once each", byAttempt)
	}
}
