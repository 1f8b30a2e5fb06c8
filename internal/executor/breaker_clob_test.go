package executor

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// TestCLOBBreakerAgainstTheFakeCLOBAnswering5xx runs copies through the live CLOB broker (it
// signs, prepares and posts each copy as in mode live) against clobsim answering every
// POST /order with 500. Two copies meet the outage (each POST is looked up by hash and sent
// once more, as the broker does after an unknown outcome); the breaker opens, and the next copy
// sends no request at all and is logged as skipped. Once the CLOB is healthy and the cooldown has
// passed, the probe copy trades on the CLOB and the breaker closes.
func TestCLOBBreakerAgainstTheFakeCLOBAnswering5xx(t *testing.T) {
	const token = clobToken
	srv, live, addr := startLiveCLOB(t, "100", nil)

	w := newWall()
	st := openStore(t, t.TempDir())
	e, err := New(Options{Broker: live, Preparer: live, Store: st, Strategy: policy("1", 0), Now: w.now, Log: zaptest.NewLogger(t),
		Breaker: BreakerOptions{Failures: 2, Cooldown: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	e.queues = e.queues[:1]

	srv.FailNext(clobsim.RoutePostOrder, 1000, http.StatusInternalServerError, 0)
	copyNow(t, e, 1001)
	copyNow(t, e, 1001)
	posts := srv.Requests(clobsim.RoutePostOrder)
	if b := e.Breaker(); b.State != BreakerOpen || b.Failures != 2 {
		t.Fatalf("breaker %+v after two copies met 500s, want open", b)
	}
	if posts != 4 {
		t.Fatalf("%d POST /order for two copies, want 4 (each sent, looked up, sent once more)", posts)
	}
	if e.Stats().Unresolved != 2 {
		t.Fatalf("stats %+v: the two copies whose outcome is unknown should stay pending", e.Stats())
	}

	requests := func() (n int) {
		for _, r := range []string{clobsim.RoutePostOrder, clobsim.RouteGetOrder, clobsim.RouteTickSize, clobsim.RouteNegRisk,
			clobsim.RouteFeeRate, clobsim.RouteBook} {
			n += srv.Requests(r)
		}
		return n
	}
	before := requests()
	skipped := copyNow(t, e, 1001)
	if got := requests(); got != before {
		t.Fatalf("%d CLOB requests for a copy made while the breaker was open, want none", got-before)
	}
	if d := lastDecision(t, st); d.Action != "skip" || !strings.HasPrefix(d.Reason, "CLOB circuit breaker open: 2 consecutive failures, retry at ") {
		t.Fatalf("decision %+v", d)
	}
	if _, ok, _ := st.IntentFor(store.IntentIDOf(&skipped)); ok {
		t.Fatal("a copy skipped by the breaker left an intent")
	}

	srv.ClearFaults()
	w.advance(time.Minute)
	probe := copyNow(t, e, 1001)
	if b := e.Breaker(); b.State != BreakerClosed {
		t.Fatalf("breaker %+v after a successful probe, want closed", b)
	}
	if got := srv.Requests(clobsim.RoutePostOrder); got != posts+1 {
		t.Fatalf("%d POSTs for the probe, want 1", got-posts)
	}
	in, ok, err := st.IntentFor(store.IntentIDOf(&probe))
	if err != nil || !ok || in.Status != store.StatusFilled {
		t.Fatalf("probe intent %+v %v %v; want filled", in, ok, err)
	}
	// The probe is a market BUY of 5.20 (10 shares at the 0.52 limit) that fills at 0.50.
	if held := srv.Balance(addr).Tokens[token]; held != 10_400_000 || in.Result.FilledShares != uint64(held) {
		t.Fatalf("the CLOB account holds %d base units of %s, the intent %d; want 10.4 shares (the probe only)", held, token, in.Result.FilledShares)
	}
}
