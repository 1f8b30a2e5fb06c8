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

// accessRig is the executor on the live broker on clobsim, with bids at 0.48 so that exits
// fill, and the CLOB breaker opening after breakerFailures consecutive failures.
type accessRig struct {
	*liveRig
	live *broker.CLOB
}

func newAccessRig(t *testing.T, breakerFailures int) *accessRig {
	t.Helper()
	w := newWall()
	d := decimal.RequireFromString
	srv, live, addr := startLiveCLOB(t, "100", func(so *clobsim.Options, bo *broker.CLOBOptions) {
		so.Markets[0].Bids = []order.Level{{Price: d("0.48"), Size: d("100")}}
		so.Now, bo.Now = w.now, w.now
	})
	r := &accessRig{liveRig: &liveRig{srv: srv, addr: addr, w: w, token: clobToken}, live: live}
	r.st = openStore(t, t.TempDir())
	var err error
	r.e, err = New(Options{Broker: live, Preparer: live, Store: r.st, Strategy: policy("1", 0), Now: w.now,
		Breaker: BreakerOptions{Failures: breakerFailures}, Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	r.e.queues = r.e.queues[:1]
	return r
}

// copySell copies a leader SELL of shares for collateral and returns the copy's intent.
func (r *accessRig) copySell(t *testing.T, shares, collateral uint64) store.Intent {
	t.Helper()
	fillN++
	f := fill(alice, polymarket.Sell, 1001, shares, collateral, fillN)
	if err := r.e.Submit(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	r.e.copy(context.Background(), <-r.e.queues[0])
	in, ok, err := r.st.IntentFor(store.IntentIDOf(&f))
	if err != nil || !ok {
		t.Fatalf("no intent for the copy: %v", err)
	}
	return in
}

// copySkipped copies a leader fill of 10 shares at 0.50 that gets no intent.
func (r *accessRig) copySkipped(t *testing.T, side polymarket.Side) {
	t.Helper()
	fillN++
	f := fill(alice, side, 1001, 10_000_000, 5_000_000, fillN)
	if err := r.e.Submit(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	r.e.copy(context.Background(), <-r.e.queues[0])
	if _, ok, _ := r.st.IntentFor(store.IntentIDOf(&f)); ok {
		t.Fatalf("the %s copy has an intent: it was sent", side)
	}
}

// lastDecision is the newest decision in the log.
func (r *accessRig) lastDecision(t *testing.T) store.Decision {
	t.Helper()
	ds, err := r.st.Decisions(time.Time{}, 1)
	if err != nil || len(ds) != 1 {
		t.Fatalf("decisions %v %v", ds, err)
	}
	return ds[0]
}

// TestAVersionFlipMidRunIsReSignedAndFilled: the CLOB moves from order version 2 to 3 while
// polybot runs. The next copy's V2 order is refused with order_version_mismatch; polybot
// re-reads GET /version, signs the same copy for ExchangeV3 (domain "3"), points the copy's one
// intent at the new order and sends it once: it fills, and the intent names the order that
// traded. The refused order stays matched to the copy.
func TestAVersionFlipMidRunIsReSignedAndFilled(t *testing.T) {
	r := newAccessRig(t, 0)
	first := r.copyBuy(t, 10_000_000, 5_000_000)
	if first.Status != store.StatusFilled {
		t.Fatalf("first copy %s", first.Status)
	}
	r.srv.SetVersion(3)
	in := r.copyBuy(t, 10_000_000, 5_000_000)
	if n := r.srv.Requests(clobsim.RoutePostOrder); n != 3 {
		t.Fatalf("%d POST /order, want 3 (one, then the refused V2 order and its V3 signing)", n)
	}
	if in.Status != store.StatusFilled || in.Result.FilledShares == 0 {
		t.Fatalf("re-signed copy: intent %s %+v, want filled", in.Status, in.Result)
	}
	posted, ok := r.srv.Order(in.OrderHash)
	if !ok || posted.SizeMatched == 0 {
		t.Fatalf("the intent names order %s, which the CLOB did not fill (%+v)", in.OrderHash.Hex(), posted)
	}
	if got := r.live.Access(); got.Version != 3 || got.BuysStopped() != "" {
		t.Fatalf("broker access %+v", got)
	}
	s := r.e.Stats()
	if s.Copied != 2 || s.Failed != 0 || s.Unfilled != 0 {
		t.Fatalf("stats %+v, want both copies copied", s)
	}
	if n, err := r.st.DecisionCount(); err != nil || n != 2 {
		t.Fatalf("%d decisions (%v), want one per fill", n, err)
	}
	p, _, err := r.st.Position(r.token)
	if err != nil || p.Shares != first.Result.FilledShares+in.Result.FilledShares {
		t.Fatalf("position %+v (%v): both copies' shares", p, err)
	}
	if bal := r.srv.Balance(r.addr).Tokens[r.token]; uint64(bal) != p.Shares {
		t.Fatalf("the CLOB account holds %d, polybot's position %d", bal, p.Shares)
	}
}

// TestAnUnknownOrderVersionStopsBUYsAndCountsRefusals: the CLOB announces an order version
// polybot cannot sign. The BUY sent before polybot knew is refused (unfilled, and counted toward
// the CLOB breaker); later BUYs are refused before anything is sent, with the reason in the
// decision log and the broker's status; exits are still signed (for the last version the CLOB
// took) and sent, and their refusals count toward the breaker until it opens.
func TestAnUnknownOrderVersionStopsBUYsAndCountsRefusals(t *testing.T) {
	r := newAccessRig(t, 2)
	r.copyBuy(t, 20_000_000, 10_000_000)
	r.srv.SetVersion(9)
	in := r.copyBuy(t, 10_000_000, 5_000_000)
	if in.Status != store.StatusUnfilled {
		t.Fatalf("BUY after the change: %s, want unfilled", in.Status)
	}
	if b := r.e.Breaker(); b.Failures != 1 {
		t.Fatalf("breaker %+v: the version refusal did not count", b)
	}
	acc := r.live.Access()
	if !acc.UnknownVersion || acc.Version != 9 || !strings.Contains(acc.BuysStopped(), "order version 9") {
		t.Fatalf("access %+v, want BUYs stopped for version 9", acc)
	}
	posts := r.srv.Requests(clobsim.RoutePostOrder)
	r.copySkipped(t, polymarket.Buy)
	if n := r.srv.Requests(clobsim.RoutePostOrder); n != posts {
		t.Fatalf("a BUY was sent while the CLOB wants a version polybot cannot sign")
	}
	if d := r.lastDecision(t); d.Action != "skip" || !strings.Contains(d.Reason, "BUYs stopped") {
		t.Fatalf("decision %+v, want a skip saying BUYs stopped", d)
	}
	sell := r.copySell(t, 10_000_000, 4_800_000)
	if n := r.srv.Requests(clobsim.RoutePostOrder); n != posts+1 || sell.Status != store.StatusUnfilled {
		t.Fatalf("exit: %d POSTs after %d, intent %s; want it sent (and refused)", n, posts, sell.Status)
	}
	if b := r.e.Breaker(); b.State != BreakerOpen {
		t.Fatalf("breaker %+v, want open after two version refusals", b)
	}
}

// TestClosedOnlyMidRunStopsBUYsAndLetsExitsGo: the account enters closed-only mode while
// polybot runs. The BUY the CLOB refuses for it did not trade; BUYs after it are refused
// before sending, with the reason logged and in status; SELLs still go and fill. Once the CLOB
// says the mode ended (re-read at most every 30 s), BUYs resume.
func TestClosedOnlyMidRunStopsBUYsAndLetsExitsGo(t *testing.T) {
	r := newAccessRig(t, 0)
	r.copyBuy(t, 20_000_000, 10_000_000)
	r.srv.SetClosedOnly(r.addr, true)
	in := r.copyBuy(t, 10_000_000, 5_000_000)
	if in.Status != store.StatusUnfilled {
		t.Fatalf("BUY in closed-only mode: %s, want unfilled", in.Status)
	}
	acc := r.live.Access()
	if !acc.ClosedOnly || !strings.Contains(acc.String(), "closed-only") {
		t.Fatalf("access %+v (%q), want closed-only in status", acc, acc.String())
	}
	posts := r.srv.Requests(clobsim.RoutePostOrder)
	r.copySkipped(t, polymarket.Buy)
	if n := r.srv.Requests(clobsim.RoutePostOrder); n != posts {
		t.Fatal("a BUY was sent in closed-only mode")
	}
	if d := r.lastDecision(t); d.Action != "skip" || !strings.Contains(d.Reason, "closed-only") {
		t.Fatalf("decision %+v, want a skip naming closed-only mode", d)
	}
	sell := r.copySell(t, 10_000_000, 4_800_000)
	if sell.Status != store.StatusFilled {
		t.Fatalf("exit in closed-only mode: %s %+v, want filled", sell.Status, sell.Result)
	}
	r.srv.SetClosedOnly(r.addr, false)
	r.w.advance(31 * time.Second)
	if in := r.copyBuy(t, 10_000_000, 5_000_000); in.Status != store.StatusFilled {
		t.Fatalf("BUY after closed-only mode ended: %s", in.Status)
	}
	if acc := r.live.Access(); acc.String() != "" {
		t.Fatalf("access still %q", acc.String())
	}
}
