package executor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
)

// refusingStore is the real store refusing Record with an error that is not a disk fault
// (store.FaultNone: retrying cannot help): for the records that carry an intent, or for all.
type refusingStore struct {
	*store.Store
	all bool
}

func (s *refusingStore) Record(d store.Decision, in *store.Intent) error {
	if in != nil || s.all {
		return fmt.Errorf("record decision: begin intent: %w: shares out of range", store.ErrBadIntent)
	}
	return s.Store.Record(d, in)
}

// An intent the store refuses (not a disk fault) leaves no fill without a decision: it is
// recorded as skipped, with the store's error as the reason, no order is sent, and only then
// may the checkpoint pass it.
func TestAnIntentTheStoreRefusesIsRecordedAsASkip(t *testing.T) {
	st := &refusingStore{Store: openStore(t, t.TempDir())}
	rec := &recorder{}
	e, err := New(Options{Broker: rec, Store: st, Strategy: policy("1", 0), Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if store.FaultOf(st.Record(store.Decision{}, &store.Intent{})) != store.FaultNone {
		t.Fatal("the injected error is classified as a disk fault; the test needs one that is not")
	}
	stop := run(t, e, 5*time.Second)
	f := fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 3)
	submitAll(t, e, f)
	waitUntil(t, "the copy to end", func() bool { return e.Settled(100) == 100 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	ds := decisions(t, st.Store)
	if len(ds) != 1 || ds[0].Tx != f.TxHash || ds[0].Action != strategy.Skip.String() ||
		!strings.Contains(ds[0].Reason, "state store error (record intent)") {
		t.Fatalf("decisions %+v, want one skip of the fill giving the store's error", ds)
	}
	if rec.count() != 0 {
		t.Fatalf("%d orders sent without an intent", rec.count())
	}
}

// When the store refuses even the decision, the fill has none: it stays in flight, so the
// checkpoint stays before it and the next start reads it again.
func TestAFillWithNoDecisionHoldsTheCheckpoint(t *testing.T) {
	st := &refusingStore{Store: openStore(t, t.TempDir()), all: true}
	rec := &recorder{}
	e, err := New(Options{Broker: rec, Store: st, Strategy: policy("1", 0), Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, e, 5*time.Second)
	f := fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 3)
	submitAll(t, e, f)
	waitUntil(t, "the copy to fail", func() bool { return e.Stats().Failed > 0 })
	if got := e.Settled(100); got != f.Block-1 {
		t.Fatalf("Settled(100) = %d after the fill got no decision; want %d (before its block)", got, f.Block-1)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if ds := decisions(t, st.Store); len(ds) != 0 || rec.count() != 0 {
		t.Fatalf("decisions %+v and %d orders, want none", ds, rec.count())
	}
}

// When the shutdown grace runs out, the fills still queued are not decided: deciding them now
// would record intents whose orders are never sent (lost copies). They stay in flight, so the
// checkpoint stays before them, and the next start copies them.
func TestFillsQueuedWhenTheGraceRunsOutAreLeftForTheNextStart(t *testing.T) {
	rec := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 3)} // the broker never answers
	st := openStore(t, t.TempDir())
	e, err := New(Options{Broker: rec, Store: st, Strategy: policy("1", 0), Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, e, 50*time.Millisecond)
	fills := []polymarket.Fill{
		fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 1),
		fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 2),
		fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 3),
	}
	submitAll(t, e, fills...)
	<-rec.entered // the first copy is at the broker, the others queued behind it
	if err := stop(); err == nil {
		t.Fatal("the grace ran out unreported")
	}
	if ds := decisions(t, st); len(ds) != 1 || ds[0].Tx != fills[0].TxHash {
		t.Fatalf("decisions %+v, want the first fill's only", ds)
	}
	if p, err := st.PendingIntents(); err != nil || len(p) != 1 {
		t.Fatalf("pending intents %d (%v), want the first copy's (its outcome is unknown)", len(p), err)
	}
	if got := e.Settled(100); got != fills[1].Block-1 {
		t.Fatalf("Settled(100) = %d, want %d: before the fills never copied", got, fills[1].Block-1)
	}
}

// cutOff is a resolver that shutdown cuts off.
type cutOff struct{}

func (cutOff) Resolve(ctx context.Context, _ store.Intent) (store.Result, error) {
	<-ctx.Done()
	return store.Result{}, ctx.Err()
}

// A recovery that shutdown cuts off leaves the intents pending for the next start; it does not
// count them for manual review.
func TestARecoveryCutOffByShutdownLeavesItsIntentsPending(t *testing.T) {
	st := openStore(t, t.TempDir())
	e := newOn(t, st, &recorder{}, policy("1", 0))
	f := fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 1)
	if err := st.BeginIntent(store.Intent{ID: store.IntentIDOf(&f), Leader: alice, Token: "7", Side: polymarket.Buy, Shares: 1e6}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := e.Recover(ctx, cutOff{})
	if err != nil || r.Review != 0 || r.Resolved != 0 {
		t.Fatalf("Recover = %+v, %v; want nothing resolved and nothing for review", r, err)
	}
	if p, err := st.PendingIntents(); err != nil || len(p) != 1 {
		t.Fatalf("pending intents %d (%v), want 1", len(p), err)
	}
}

// The skip reason of a refused copy says "copy refused before sending" once, with the broker's
// reason after it.
func TestARefusalReasonSaysItOnce(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("%w: 0.5 shares is below the market minimum of 5", broker.ErrRefused),
		errors.New("0.5 shares is below the market minimum of 5"),
	} {
		got := refusalReason(err)
		if got != "copy refused before sending: 0.5 shares is below the market minimum of 5" {
			t.Errorf("refusalReason(%v) = %q", err, got)
		}
	}
}
