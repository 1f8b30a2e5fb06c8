package executor

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
)

// faultyStore is the real store with its writes failing, as they fail on a full or read-only
// disk, while fail is set.
type faultyStore struct {
	*store.Store
	fail   atomic.Pointer[error]
	writes atomic.Int64 // write attempts
}

func (s *faultyStore) set(err error) {
	if err == nil {
		s.fail.Store(nil)
		return
	}
	s.fail.Store(&err)
}

func (s *faultyStore) err() error {
	s.writes.Add(1)
	if p := s.fail.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *faultyStore) Record(d store.Decision, in *store.Intent) error {
	if err := s.err(); err != nil {
		return fmt.Errorf("record decision: %w", err)
	}
	return s.Store.Record(d, in)
}

func (s *faultyStore) CompleteIntent(id store.IntentID, r store.Result) error {
	if err := s.err(); err != nil {
		return fmt.Errorf("complete intent %s: %w", id, err)
	}
	return s.Store.CompleteIntent(id, r)
}

func (s *faultyStore) TripBreaker(now time.Time, pnl int64) (store.Breaker, bool, error) {
	if err := s.err(); err != nil {
		return store.Breaker{}, false, err
	}
	return s.Store.TripBreaker(now, pnl)
}

// diskErr is the error bbolt returns when a commit's write fails.
func diskErr(path string, errno syscall.Errno) error {
	return &os.PathError{Op: "write", Path: path, Err: errno}
}

// waitUntil polls cond until it holds or a generous deadline passes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitTimer waits until a copy waits on clk to retry its store call.
func waitTimer(t *testing.T, clk *mclock.Simulated) {
	t.Helper()
	waitUntil(t, "a store retry to be scheduled", func() bool { return clk.ActiveTimers() > 0 })
}

func messages(logs *observer.ObservedLogs, prefix string) int {
	n := 0
	for _, e := range logs.All() {
		if strings.HasPrefix(e.Message, prefix) {
			n++
		}
	}
	return n
}

// TestAStoreFaultPausesCopyingAndEveryFillIsCopiedOnceAfter: the disk fills up while a fill is
// being copied. Its intent cannot be recorded, so no order is sent; the copy keeps its fill and
// retries with backoff (on a simulated clock), copying pauses, the checkpoint stays before the
// fill, the next fill waits in the queue and a third blocks Submit. Polybot stays healthy (a
// restart would find the same disk). Once the disk takes writes again, each fill is copied
// exactly once, and the pause and the resumption are each logged once.
func TestAStoreFaultPausesCopyingAndEveryFillIsCopiedOnceAfter(t *testing.T) {
	st := &faultyStore{Store: openStore(t, t.TempDir())}
	rec := &recorder{}
	clk := new(mclock.Simulated)
	core, logs := observer.New(zapcore.InfoLevel)
	var changes atomic.Int32
	e, err := New(Options{Broker: rec, Store: st, Strategy: policy("1", 0), Workers: 1, Queue: 1, Clock: clk,
		Log: zap.New(core), OnChange: func() { changes.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	full := diskErr("/var/lib/polybot/polybot.db", syscall.ENOSPC)
	st.set(full)
	stop := run(t, e, 10*time.Second)

	fills := []polymarket.Fill{
		fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 10),
		fill(alice, polymarket.Buy, 8, 10_000_000, 5_000_000, 11),
		fill(alice, polymarket.Buy, 9, 10_000_000, 5_000_000, 12),
	}
	submitAll(t, e, fills[0])
	waitTimer(t, clk) // the copy waits to retry its store write
	reason, since := e.Paused()
	if want := "state store not writable: record decision: write /var/lib/polybot/polybot.db: no space left on device"; reason != want || since.IsZero() {
		t.Fatalf("Paused() = %q, %v; want %q", reason, since, want)
	}
	if err := e.Healthy(); err != nil {
		t.Fatalf("Healthy() = %v during a recoverable fault; want nil (keep feeding the watchdog)", err)
	}
	if got := e.Settled(100); got != fills[0].Block-1 {
		t.Fatalf("Settled(100) = %d during the fault, want %d: the checkpoint must not pass the fill", got, fills[0].Block-1)
	}
	submitAll(t, e, fills[1]) // fills the queue of one
	submitted := make(chan error, 1)
	go func() { submitted <- e.Submit(context.Background(), fills[2]) }()

	// Several retries, all failing; backoff doubles.
	for range 4 {
		w := st.writes.Load()
		clk.Run(30 * time.Second)
		waitUntil(t, "a retry", func() bool { return st.writes.Load() > w })
		waitTimer(t, clk)
	}
	select {
	case err := <-submitted:
		t.Fatalf("Submit returned (%v) while copying was paused and the queue full; want it to block", err)
	default:
	}
	if rec.count() != 0 {
		t.Fatalf("%d orders reached the broker while the store could not record them", rec.count())
	}
	if n := e.Stats(); n.Failed != 0 || n.Copied != 0 {
		t.Fatalf("stats %+v during the fault: nothing may be counted failed or copied", n)
	}

	st.set(nil) // space returns
	clk.Run(30 * time.Second)
	waitUntil(t, "three copies", func() bool { return e.Stats().Copied == 3 })
	if err := <-submitted; err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 3 {
		t.Fatalf("%d orders for 3 fills", rec.count())
	}
	for _, f := range fills {
		in, ok, err := st.IntentFor(store.IntentIDOf(&f))
		if err != nil || !ok || in.Status != store.StatusFilled {
			t.Fatalf("fill %d: intent %+v %v %v, want filled", f.LogIndex, in, ok, err)
		}
	}
	if p, _ := st.PendingIntents(); len(p) != 0 {
		t.Fatalf("%d intents left pending", len(p))
	}
	if reason, _ := e.Paused(); reason != "" {
		t.Fatalf("still paused: %s", reason)
	}
	if e.Settled(100) != 100 {
		t.Fatalf("Settled(100) = %d after every fill was copied", e.Settled(100))
	}
	if p, r := messages(logs, "copying paused"), messages(logs, "copying resumed"); p != 1 || r != 1 {
		t.Fatalf("logged %d pauses and %d resumptions, want one of each", p, r)
	}
	if changes.Load() != 2 {
		t.Fatalf("OnChange called %d times, want 2 (paused, resumed)", changes.Load())
	}
}

// TestAFaultAfterTheOrderKeepsItsResult: the order traded, then the disk filled before its
// result was recorded. The result is recorded once the disk takes writes again; the order is
// not sent twice.
func TestAFaultAfterTheOrderKeepsItsResult(t *testing.T) {
	st := &faultyStore{Store: openStore(t, t.TempDir())}
	rec := &recorder{}
	clk := new(mclock.Simulated)
	e, err := New(Options{Broker: rec, Store: st, Strategy: policy("1", 0), Workers: 1, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	rec.check = func(broker.Order) { st.set(diskErr("/x/polybot.db", syscall.EROFS)) }
	stop := run(t, e, 10*time.Second)
	f := fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 20)
	submitAll(t, e, f)
	waitTimer(t, clk)
	if reason, _ := e.Paused(); !strings.Contains(reason, "read-only file system") {
		t.Fatalf("Paused() = %q", reason)
	}
	in, _, _ := st.IntentFor(store.IntentIDOf(&f))
	if in.Status != store.StatusPending {
		t.Fatalf("intent %+v during the fault, want pending", in)
	}
	st.set(nil)
	clk.Run(time.Minute)
	waitUntil(t, "the copy", func() bool { return e.Stats().Copied == 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	in, _, _ = st.IntentFor(store.IntentIDOf(&f))
	if in.Status != store.StatusFilled || rec.count() != 1 {
		t.Fatalf("intent %+v after %d orders; want filled after one", in, rec.count())
	}
}

// TestWhenAStoreFaultStopsTheWatchdog: an I/O error is fatal at once; a full disk only after
// StorePauseLimit. Shutdown during a fault abandons the copy: nothing is sent and the
// checkpoint stays before the fill, so the next start reads it again.
func TestWhenAStoreFaultStopsTheWatchdog(t *testing.T) {
	for _, c := range []struct {
		name      string
		errno     syscall.Errno
		limit     time.Duration
		unhealthy time.Duration // how long after the pause Healthy fails; 0: at once
		wantErr   string
	}{
		{"I/O error", syscall.EIO, 0, 0, "state store failing: record decision: write /x/polybot.db: input/output error"},
		{"disk full past the limit", syscall.ENOSPC, 10 * time.Minute, 10*time.Minute + time.Second,
			"longer than executor.store_pause_limit 10m0s: state store not writable: record decision: write /x/polybot.db: no space left on device"},
		{"read-only past the limit", syscall.EROFS, time.Hour, time.Hour + time.Second, "read-only file system"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := &faultyStore{Store: openStore(t, t.TempDir())}
			st.set(diskErr("/x/polybot.db", c.errno))
			rec := &recorder{}
			clk := new(mclock.Simulated)
			w := newWall()
			e, err := New(Options{Broker: rec, Store: st, Strategy: policy("1", 0), Workers: 1, Clock: clk, Now: w.now,
				StorePauseLimit: c.limit})
			if err != nil {
				t.Fatal(err)
			}
			stop := run(t, e, 100*time.Millisecond)
			f := fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 30)
			submitAll(t, e, f)
			waitTimer(t, clk)
			if c.unhealthy > 0 {
				w.advance(c.unhealthy - 2*time.Second)
				if err := e.Healthy(); err != nil {
					t.Fatalf("unhealthy %s before the limit: %v", c.unhealthy-2*time.Second, err)
				}
				w.advance(2 * time.Second)
			}
			if err := e.Healthy(); err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("Healthy() = %v, want an error containing %q", err, c.wantErr)
			}
			if err := stop(); err == nil {
				t.Fatal("Run returned nil although a copy was cut off by the shutdown grace")
			}
			if rec.count() != 0 {
				t.Fatal("an order was sent during the fault")
			}
			if got := e.Settled(100); got != f.Block-1 {
				t.Fatalf("Settled(100) = %d after abandoning the copy, want %d", got, f.Block-1)
			}
			if _, ok, _ := st.IntentFor(store.IntentIDOf(&f)); ok {
				t.Fatal("the abandoned copy left an intent")
			}
		})
	}
}

// A store error that is the caller's own (not a disk fault) fails the copy as before; it does
// not pause copying.
func TestANonFaultStoreErrorDoesNotPause(t *testing.T) {
	st := &faultyStore{Store: openStore(t, t.TempDir())}
	st.set(fmt.Errorf("begin intent: %w", store.ErrBadIntent))
	rec := &recorder{}
	e, err := New(Options{Broker: rec, Store: st, Strategy: policy("1", 0), Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, e, 5*time.Second)
	submitAll(t, e, fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 40))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := e.Stats(); s.Failed != 1 || rec.count() != 0 {
		t.Fatalf("stats %+v, %d orders; want the copy failed and nothing sent", s, rec.count())
	}
	if r, _ := e.Paused(); r != "" {
		t.Fatalf("paused: %s", r)
	}
}
