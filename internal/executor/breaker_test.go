package executor

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
)

// wall is a settable wall clock for decision times and the breaker's cooldowns.
type wall struct {
	mu sync.Mutex
	t  time.Time
}

func newWall() *wall { return &wall{t: time.Now().UTC().Truncate(time.Second)} }

func (w *wall) now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.t
}

func (w *wall) advance(d time.Duration) {
	w.mu.Lock()
	w.t = w.t.Add(d)
	w.mu.Unlock()
}

// outage is what the live broker returns when POST /order met a gateway error: the order's
// outcome is unknown.
var outage = broker.Classify(fmt.Errorf("%w: %w", clob.ErrUnknownOutcome,
	&clob.APIError{Status: http.StatusBadGateway, Method: http.MethodPost, Path: "/order", Kind: clob.KindRetryable}))

// rejection is the live broker's answer when the CLOB refuses an order as invalid.
var rejection = broker.Classify(&clob.APIError{Status: http.StatusBadRequest, Method: http.MethodPost, Path: "/order",
	Message: "invalid order payload", Kind: clob.KindValidation})

func (r *recorder) setFail(err error) {
	r.mu.Lock()
	r.fail = err
	r.mu.Unlock()
}

// newBreakerExecutor is an executor whose copies the test runs one by one (copyNow), with the
// wall clock w.
func newBreakerExecutor(t *testing.T, b Broker, w *wall, opts BreakerOptions) (*Executor, *store.Store) {
	t.Helper()
	st := openStore(t, t.TempDir())
	e, err := New(Options{Broker: b, Store: st, Strategy: policy("1", 0), Now: w.now, Breaker: opts})
	if err != nil {
		t.Fatal(err)
	}
	return e, st
}

var fillN uint

// copyNow submits a new leader fill of token and copies it on the test's goroutine.
func copyNow(t *testing.T, e *Executor, token int64) polymarket.Fill {
	t.Helper()
	fillN++
	f := fill(alice, polymarket.Buy, token, 10_000_000, 5_000_000, fillN)
	if err := e.Submit(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	e.copy(context.Background(), <-e.queues[0])
	return f
}

func lastDecision(t *testing.T, st *store.Store) store.Decision {
	t.Helper()
	ds := decisions(t, st)
	if len(ds) == 0 {
		t.Fatal("no decision logged")
	}
	return ds[len(ds)-1]
}

// TestCLOBBreakerOpensAfterConsecutiveOutagesAndProbesAfterTheCooldown: three orders in a row
// meet a CLOB outage; the breaker opens. The next copy reaches no broker: it is logged as
// skipped, with the failures and the time of the next try, and leaves no intent. After the
// cooldown one probe order goes out; it fills, the breaker closes, and copies flow again.
func TestCLOBBreakerOpensAfterConsecutiveOutagesAndProbesAfterTheCooldown(t *testing.T) {
	w := newWall()
	rec := &recorder{fail: outage}
	var changes int
	e, st := newBreakerExecutor(t, rec, w, BreakerOptions{Failures: 3, Cooldown: time.Minute, MaxCooldown: 4 * time.Minute})
	e.breaker.onChange = func() { changes++ }
	e.queues = e.queues[:1] // one queue: copyNow reads it

	for i := range 3 {
		copyNow(t, e, 7)
		if got := e.Breaker().State; (i < 2) != (got == BreakerClosed) {
			t.Fatalf("after %d outages the breaker is %s", i+1, got)
		}
	}
	if got := e.Breaker(); got.State != BreakerOpen || got.Failures != 3 || got.Trips != 1 || !got.RetryAt.Equal(w.now().Add(time.Minute)) {
		t.Fatalf("breaker %+v; want open for 1m after 3 failures", got)
	}
	if rec.count() != 3 {
		t.Fatalf("%d orders sent, want 3", rec.count())
	}

	skipped := copyNow(t, e, 8)
	if rec.count() != 3 {
		t.Fatal("an order reached the broker while the breaker was open")
	}
	d := lastDecision(t, st)
	want := "CLOB circuit breaker open: 3 consecutive failures, retry at " + w.now().Add(time.Minute).Format("15:04:05") + " UTC"
	if d.Action != "skip" || d.Reason != want || d.Tx != skipped.TxHash {
		t.Fatalf("decision %+v; want a skip with reason %q", d, want)
	}
	if !regexp.MustCompile(`^CLOB circuit breaker open: 3 consecutive failures, retry at \d\d:\d\d:\d\d UTC$`).MatchString(d.Reason) {
		t.Fatalf("reason %q", d.Reason)
	}
	if _, ok, err := st.IntentFor(store.IntentIDOf(&skipped)); err != nil || ok {
		t.Fatalf("the skipped copy has an intent (%v, %v): nothing should be pending for it", ok, err)
	}
	if p, _ := st.PendingIntents(); len(p) != 3 {
		t.Fatalf("%d pending intents, want only the 3 whose outcome the outage left unknown", len(p))
	}

	// One second before the cooldown ends: still open.
	w.advance(time.Minute - time.Second)
	copyNow(t, e, 8)
	if rec.count() != 3 {
		t.Fatal("an order was sent before the cooldown ended")
	}
	// The cooldown ends; the CLOB is back: one probe, then the breaker is closed.
	w.advance(time.Second)
	rec.setFail(nil)
	probe := copyNow(t, e, 9)
	if rec.count() != 4 || e.Breaker().State != BreakerClosed || e.Breaker().Failures != 0 {
		t.Fatalf("after the probe: %d orders, breaker %+v; want 4 orders and closed", rec.count(), e.Breaker())
	}
	if in, ok, err := st.IntentFor(store.IntentIDOf(&probe)); err != nil || !ok || in.Status != store.StatusFilled {
		t.Fatalf("probe intent %+v %v %v, want filled", in, ok, err)
	}
	copyNow(t, e, 10)
	if rec.count() != 5 {
		t.Fatal("copies did not flow again after the breaker closed")
	}
	if changes != 3 { // open, half-open, closed
		t.Fatalf("%d state changes reported, want 3", changes)
	}
}

// TestCLOBBreakerReopensWithDoublingCappedCooldown: each failed probe reopens the breaker for
// twice the last cooldown, never more than MaxCooldown; while the probe is under way other
// copies are skipped, not sent.
func TestCLOBBreakerReopensWithDoublingCappedCooldown(t *testing.T) {
	w := newWall()
	rec := &recorder{fail: outage}
	e, st := newBreakerExecutor(t, rec, w, BreakerOptions{Failures: 2, Cooldown: time.Minute, MaxCooldown: 3 * time.Minute})
	e.queues = e.queues[:1]
	copyNow(t, e, 7)
	copyNow(t, e, 7)
	for i, cooldown := range []time.Duration{2 * time.Minute, 3 * time.Minute, 3 * time.Minute} {
		prev := e.Breaker()
		w.advance(prev.RetryAt.Sub(w.now()))
		sent := rec.count()
		copyNow(t, e, 7) // the probe, which fails
		got := e.Breaker()
		if rec.count() != sent+1 || got.State != BreakerOpen || !got.RetryAt.Equal(w.now().Add(cooldown)) || got.Trips != uint64(i+2) {
			t.Fatalf("failed probe %d: %d orders sent, breaker %+v; want one probe and open for %s", i+1, rec.count()-sent, got, cooldown)
		}
		w.advance(cooldown - time.Second)
		copyNow(t, e, 7)
		if rec.count() != sent+1 || !strings.HasPrefix(lastDecision(t, st).Reason, "CLOB circuit breaker open: ") {
			t.Fatalf("open for %s, a copy %s in was sent or not logged as skipped", cooldown, cooldown-time.Second)
		}
	}

	// Half-open: while the probe waits for its answer, another copy is skipped.
	w.advance(e.Breaker().RetryAt.Sub(w.now()))
	rec.setFail(nil)
	gate, entered := make(chan struct{}), make(chan struct{})
	rec.gate, rec.entered = gate, entered
	probe := fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 900)
	probeDone := make(chan struct{})
	go func() { defer close(probeDone); e.copy(context.Background(), probe) }()
	<-entered
	if got := e.Breaker().State; got != BreakerHalfOpen {
		t.Fatalf("breaker %s while the probe is under way, want half-open", got)
	}
	other := fill(alice, polymarket.Buy, 8, 10_000_000, 5_000_000, 901)
	otherDone := make(chan struct{})
	go func() { defer close(otherDone); e.copy(context.Background(), other) }()
	select {
	case <-otherDone:
	case <-entered:
		t.Fatal("a second order reached the broker while the probe was under way")
	}
	if d := lastDecision(t, st); d.Tx != other.TxHash || !strings.HasPrefix(d.Reason, "CLOB circuit breaker half-open: a probe order is under way") {
		t.Fatalf("copy during the probe: %+v", d)
	}
	close(gate)
	<-probeDone
	if b := e.Breaker(); b.State != BreakerClosed {
		t.Fatalf("breaker %+v after the probe filled, want closed", b)
	}
}

// TestRejectionsDoNotOpenTheCLOBBreaker: the CLOB refusing orders (validation) is an answer,
// not an outage; and a rejection between outages breaks their run.
func TestRejectionsDoNotOpenTheCLOBBreaker(t *testing.T) {
	w := newWall()
	rec := &recorder{fail: rejection}
	e, _ := newBreakerExecutor(t, rec, w, BreakerOptions{Failures: 3, Cooldown: time.Minute})
	e.queues = e.queues[:1]
	for range 10 {
		copyNow(t, e, 7)
	}
	if rec.count() != 10 || e.Breaker().State != BreakerClosed {
		t.Fatalf("%d orders, breaker %+v; want 10 and closed", rec.count(), e.Breaker())
	}
	for _, err := range []error{outage, outage, rejection, outage, outage} {
		rec.setFail(err)
		copyNow(t, e, 7)
	}
	if b := e.Breaker(); b.State != BreakerClosed || b.Failures != 2 {
		t.Fatalf("breaker %+v; want closed with 2 consecutive failures", b)
	}
	// Local refusals (below the minimum size, no price in bounds) say nothing about the CLOB.
	rec.setFail(broker.ErrRefused)
	copyNow(t, e, 7)
	if b := e.Breaker(); b.Failures != 2 {
		t.Fatalf("a local refusal changed the count: %+v", b)
	}
	rec.setFail(outage)
	copyNow(t, e, 7)
	if e.Breaker().State != BreakerOpen {
		t.Fatalf("breaker %+v after the third outage in a row", e.Breaker())
	}
}

func TestOutageClassification(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"unknown outcome", outage, true},
		{"5xx after retries", &clob.APIError{Status: 503, Kind: clob.KindRetryable}, true},
		{"429 with a long retry-after", fmt.Errorf("retry-after 1m exceeds 30s: %w", &clob.APIError{Status: 429, Kind: clob.KindRetryable}), true},
		{"malformed JSON", fmt.Errorf("%w: GET /tick-size: unexpected end", clob.ErrMalformedResponse), true},
		{"timeout", context.DeadlineExceeded, true},
		{"validation", rejection, false},
		{"balance", &clob.APIError{Status: 400, Kind: clob.KindInsufficientBalance}, false},
		{"auth", &clob.APIError{Status: 401, Kind: clob.KindAuth}, false},
		{"refused here", broker.ErrRefused, false},
		{"nil", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The error as the broker returns it (broker.Classify).
			if got := Outage(broker.Classify(c.err)); got != c.want {
				t.Fatalf("Outage(%v) = %v, want %v", c.err, got, c.want)
			}
		})
	}
}

func TestBreakerOptionsAreValidated(t *testing.T) {
	st := openStore(t, t.TempDir())
	for _, o := range []BreakerOptions{{Failures: -1}, {Cooldown: -time.Second}, {Cooldown: time.Hour, MaxCooldown: time.Minute}} {
		if _, err := New(Options{Broker: &recorder{}, Store: st, Strategy: policy("1", 0), Breaker: o}); err == nil {
			t.Errorf("New accepted breaker options %+v", o)
		}
	}
	e, err := New(Options{Broker: &recorder{}, Store: st, Strategy: policy("1", 0)})
	if err != nil {
		t.Fatal(err)
	}
	if o := e.breaker.opts; o.Failures != DefaultBreakerFailures || o.Cooldown != DefaultBreakerCooldown || o.MaxCooldown != DefaultBreakerMaxCooldown {
		t.Fatalf("defaults %+v", o)
	}
}
