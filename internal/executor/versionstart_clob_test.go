package executor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// TestAnExitAfterAStartOnAnUnknownOrderVersionWaitsAndIsRetried: polybot holds a position and
// restarts while the CLOB announces an order version it cannot sign. It starts with BUYs
// stopped; there is no version yet to sign an exit for, so the leader's exit is refused before
// anything is sent, with the reason, and waits as an exit retry (polybot status lists it).
// Once the CLOB announces version 2 again, the next retry sells the position.
func TestAnExitAfterAStartOnAnUnknownOrderVersionWaitsAndIsRetried(t *testing.T) {
	w := newWall()
	d := decimal.RequireFromString
	var opts broker.CLOBOptions
	srv, first, addr := startLiveCLOB(t, "100", func(so *clobsim.Options, bo *broker.CLOBOptions) {
		so.Markets[0].Bids = []order.Level{{Price: d("0.48"), Size: d("100")}}
		so.Now, bo.Now = w.now, w.now
		opts = *bo
	})
	st := openStore(t, t.TempDir())
	newExecutor := func(live *broker.CLOB) *Executor {
		e, err := New(Options{Broker: live, Preparer: live, Store: st, Strategy: policy("1", 0), Now: w.now, Log: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		e.queues = e.queues[:1]
		return e
	}
	r := &liveRig{srv: srv, addr: addr, st: st, w: w, token: clobToken, e: newExecutor(first)}
	if in := r.copyBuy(t, 10_000_000, 5_000_000); in.Status != store.StatusFilled {
		t.Fatalf("first copy %s", in.Status)
	}
	held := srv.Balance(addr).Tokens[clobToken]

	// The restart, on a CLOB that now announces order version 9.
	srv.SetVersion(9)
	opts.BaseURL = srv.URL()
	live, err := broker.NewCLOB(context.Background(), opts)
	if err != nil {
		t.Fatalf("the broker did not start on a CLOB announcing version 9: %v", err)
	}
	t.Cleanup(live.Close)
	r.e = newExecutor(live)
	if why := live.Access().BuysStopped(); !strings.Contains(why, "order version 9") {
		t.Fatalf("access at start %q, want BUYs stopped for version 9", why)
	}
	posts := srv.Requests(clobsim.RoutePostOrder)
	fillN++
	f := fill(alice, polymarket.Sell, 1001, 10_000_000, 4_800_000, fillN)
	if err := r.e.Submit(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	r.e.copy(context.Background(), <-r.e.queues[0])
	if n := srv.Requests(clobsim.RoutePostOrder); n != posts {
		t.Fatalf("%d orders posted with no order version to sign them for", n-posts)
	}
	x := oneExit(t, r.e)
	if !strings.Contains(x.Reason, "order version 9") || !strings.Contains(x.Reason, "tried again") {
		t.Fatalf("exit waiting %+v, want the order version as its reason", x)
	}

	srv.SetVersion(2)
	w.advance(31 * time.Second) // past the backoff and the GET /version re-read interval
	r.e.retryExits(context.Background())
	if n := srv.Requests(clobsim.RoutePostOrder); n != posts+1 {
		t.Fatalf("%d orders posted by the retry after version 2, want 1", n-posts)
	}
	if left := srv.Balance(addr).Tokens[clobToken]; left >= held {
		t.Fatalf("the CLOB account still holds %d of %d shares: the retry did not sell", left, held)
	}
	if w := r.e.ExitRetries(); len(w) != 0 {
		t.Fatalf("exits still waiting after the sale: %+v", w)
	}
	if why := live.Access().String(); why != "" {
		t.Fatalf("access %q after version 2", why)
	}
}
