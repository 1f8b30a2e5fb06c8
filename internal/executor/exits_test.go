package executor

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// newExitFixture is clobsim with asks and bids of 100 shares at 0.50 and an executor over the
// live broker, holding the shares bought by copying alice's BUY of 10 at 0.50 (a market BUY
// of 5.20, 10.4 shares at the book's 0.50).
func newExitFixture(t *testing.T) *trackFixture {
	t.Helper()
	w := newWall()
	srv, live, addr := startLiveCLOB(t, "100", func(so *clobsim.Options, bo *broker.CLOBOptions) {
		so.Markets[0].Bids = []order.Level{{Price: decimal.RequireFromString("0.50"), Size: decimal.RequireFromString("100")}}
		bo.OrderType, bo.Now = order.FAK, w.now
	})
	f := &trackFixture{srv: srv, addr: addr, live: live, dir: t.TempDir(), clk: new(mclock.Simulated), wall: w}
	f.start(t)
	copyNow(t, f.e, 1001)
	if p := f.position(t); p.Shares < 10_000_000 {
		t.Fatalf("position %d shares after the BUY, want at least 10", p.Shares)
	}
	return f
}

// leaderSells copies alice's SELL of all her 10 shares: her exit.
func leaderSells(t *testing.T, f *trackFixture) {
	t.Helper()
	fillN++
	fl := fill(alice, polymarket.Sell, 1001, 10_000_000, 5_000_000, fillN)
	if err := f.e.Submit(context.Background(), fl); err != nil {
		t.Fatal(err)
	}
	f.e.copy(context.Background(), <-f.e.queues[0])
}

// TestARefusedExitIsRetriedUntilItSells: the leader exits, and the CLOB refuses polybot's SELL.
// Today such an exit is recorded unfilled and polybot holds the shares for good. Here the exit
// waits, listed with its shares and reason (polybot status), is not tried before its backoff
// has passed, and is then sold whole: the position closes and the exit leaves the list.
func TestARefusedExitIsRetriedUntilItSells(t *testing.T) {
	f := newExitFixture(t)
	held := f.position(t).Shares
	f.srv.FailNext(clobsim.RoutePostOrder, 1, http.StatusBadRequest, 0)
	leaderSells(t, f)
	if p := f.position(t); p.Shares != held {
		t.Fatalf("position %d shares after the refused SELL, want the %d still held", p.Shares, held)
	}
	waiting := f.e.ExitRetries()
	if len(waiting) != 1 || waiting[0].Shares != held || waiting[0].Reason == "" {
		t.Fatalf("exits waiting %+v; want the %d shares held with the refusal's reason", waiting, held)
	}
	posts := f.srv.Requests(clobsim.RoutePostOrder)
	f.clk.Run(exitRetryBase / 2)
	f.e.retryExits(context.Background())
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != posts {
		t.Fatalf("%d orders posted before the backoff passed, want %d", n, posts)
	}
	f.clk.Run(exitRetryBase)
	f.e.retryExits(context.Background())
	if _, open, err := f.st.Position(trackToken); err != nil || open {
		t.Fatalf("position still open after the retry (%v); want it sold", err)
	}
	if w := f.e.ExitRetries(); len(w) != 0 {
		t.Fatalf("exits still waiting after the sale: %+v", w)
	}
	if held := f.srv.Balance(f.addr).Tokens[trackToken]; held != 0 {
		t.Fatalf("the CLOB account still holds %d shares", held)
	}
}

// TestAnExitRetryBacksOffAndEndsWhenTheLeaderBuysAgain: while the CLOB keeps refusing, each
// try waits twice as long as the one before; once the leader buys into the market again it is
// no longer out, and the exit is not retried.
func TestAnExitRetryBacksOffAndEndsWhenTheLeaderBuysAgain(t *testing.T) {
	f := newExitFixture(t)
	f.srv.FailNext(clobsim.RoutePostOrder, 2, http.StatusBadRequest, 0)
	leaderSells(t, f)
	f.clk.Run(exitRetryBase)
	f.e.retryExits(context.Background()) // refused again
	w := f.e.ExitRetries()
	if len(w) != 1 || w[0].Attempt != 1 {
		t.Fatalf("exits waiting %+v; want one, tried once more", w)
	}
	posts := f.srv.Requests(clobsim.RoutePostOrder)
	f.clk.Run(exitRetryBase + time.Second) // less than the doubled wait
	f.e.retryExits(context.Background())
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != posts {
		t.Fatalf("%d orders posted before the doubled backoff passed, want %d", n, posts)
	}
	copyNow(t, f.e, 1001) // alice buys again
	if w := f.e.ExitRetries(); len(w) != 0 {
		t.Fatalf("exits waiting after the leader bought again: %+v", w)
	}
	var sells int
	for _, d := range decisions(t, f.st) {
		if d.Side == polymarket.Sell.String() && d.Action != "skip" {
			sells++
		}
	}
	if sells != 2 {
		t.Fatalf("%d SELL decisions, want 2 (the copy and one retry)", sells)
	}
}

// TestAnExitMetByALongCLOBPauseIsRetried: the CLOB is in cancel-only mode for a minute (503 with
// retry_after_seconds 60) when the leader exits. The pause is longer than polybot waits for one
// order, so the SELL ends unfilled; the exit waits, and once the CLOB takes orders again its
// retry sells the position.
func TestAnExitMetByALongCLOBPauseIsRetried(t *testing.T) {
	f := newExitFixture(t)
	if err := f.srv.Pause(http.StatusServiceUnavailable, time.Minute); err != nil {
		t.Fatal(err)
	}
	leaderSells(t, f)
	if w := f.e.ExitRetries(); len(w) != 1 {
		t.Fatalf("exits waiting %+v after the paused SELL; want one", w)
	}
	if err := f.srv.Pause(http.StatusServiceUnavailable, 0); err != nil {
		t.Fatal(err)
	}
	f.wall.advance(time.Minute + time.Second) // polybot holds orders back for the pause it was told
	f.clk.Run(exitRetryBase)
	f.e.retryExits(context.Background())
	if _, open, err := f.st.Position(trackToken); err != nil || open {
		t.Fatalf("position still open after the retry (%v); want it sold", err)
	}
	if w := f.e.ExitRetries(); len(w) != 0 {
		t.Fatalf("exits still waiting after the sale: %+v", w)
	}
}
