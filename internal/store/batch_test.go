package store

import (
	"errors"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/polybot/polybot/internal/polymarket"
)

// holdCommit starts an update whose transaction stays open until the returned release is
// called, so that the updates started meanwhile queue behind it; wait blocks until n of them
// are queued.
func holdCommit(t *testing.T, s *Store) (wait func(n int), release func() error) {
	t.Helper()
	entered, gate, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.update(func(tx *bolt.Tx) error {
			close(entered)
			<-gate
			return tx.Bucket(bucketMeta).Put([]byte("hold"), []byte{1})
		})
	}()
	<-entered
	wait = func(n int) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			s.batchMu.Lock()
			q := len(s.queue)
			s.batchMu.Unlock()
			if q >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d updates queued behind the held commit", q, n)
			}
			time.Sleep(time.Millisecond) // polling a condition, with a deadline
		}
	}
	return wait, func() error { close(gate); return <-done }
}

func TestConcurrentRecordsShareACommitAndSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t0}
	s := openAt(t, dir, c, nil)
	wait, release := holdCommit(t, s)
	const n = 20
	errs := make(chan error, n)
	for i := range n {
		go func() {
			in := intent(i, alice, "7", polymarket.Buy, 10*usdc, 5*usdc)
			errs <- s.Record(decision(t0, i), &in)
		}()
	}
	wait(n)
	before := s.commits.Load()
	if err := release(); err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := s.commits.Load() - before; got != 1 {
		t.Errorf("%d updates queued during a commit took %d commits, want 1", n, got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, dir, c, nil)
	defer s.Close()
	pending, err := s.PendingIntents()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != n {
		t.Errorf("after a restart %d intents are pending, want %d", len(pending), n)
	}
	if got, err := s.DecisionCount(); err != nil || got != n {
		t.Errorf("after a restart %d decisions are logged (%v), want %d", got, err, n)
	}
}

func TestAFailedUpdateInABatchFailsAloneAndLeavesNoTrace(t *testing.T) {
	s, _ := tempStore(t)
	wait, release := holdCommit(t, s)
	boom := errors.New("boom")
	errs := make(chan error, 3)
	var ran sync.Map
	for i, key := range []string{"a", "bad", "c"} {
		go func() {
			errs <- s.update(func(tx *bolt.Tx) error {
				n, _ := ran.LoadOrStore(key, new(int))
				*n.(*int)++
				if err := tx.Bucket(bucketMeta).Put([]byte(key), []byte{byte(i)}); err != nil {
					return err
				}
				if key == "bad" {
					return boom
				}
				return nil
			})
		}()
		wait(i + 1) // queue in this order
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	var failed int
	for range 3 {
		if err := <-errs; errors.Is(err, boom) {
			failed++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if failed != 1 {
		t.Errorf("%d callers got the failing update's error, want 1", failed)
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m.Get([]byte("a")) == nil || m.Get([]byte("c")) == nil {
			t.Error("an update batched with a failing one was not committed")
		}
		if m.Get([]byte("bad")) != nil {
			t.Error("the failing update's write was committed")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestABatchedDuplicateIntentIsRefusedOnce(t *testing.T) {
	s, _ := tempStore(t)
	wait, release := holdCommit(t, s)
	in := intent(1, alice, "7", polymarket.Buy, 10*usdc, 5*usdc)
	errs := make(chan error, 2)
	for i := range 2 {
		go func() { errs <- s.Record(decision(t0, i), &in) }()
	}
	wait(2)
	if err := release(); err != nil {
		t.Fatal(err)
	}
	var ok, exists int
	for range 2 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, ErrIntentExists):
			exists++
		default:
			t.Fatal(err)
		}
	}
	if ok != 1 || exists != 1 {
		t.Errorf("two Records of one intent in a batch: %d succeeded, %d refused; want 1 and 1", ok, exists)
	}
	if got, err := s.DecisionCount(); err != nil || got != 1 {
		t.Errorf("%d decisions logged (%v), want 1: the refused Record must log nothing", got, err)
	}
}

func TestAPanicInABatchReachesItsCallerOnly(t *testing.T) {
	s, _ := tempStore(t)
	wait, release := holdCommit(t, s)
	panics, errs := make(chan any, 1), make(chan error, 1)
	go func() {
		defer func() { panics <- recover() }()
		_ = s.update(func(tx *bolt.Tx) error { panic("kaboom") })
	}()
	wait(1)
	go func() {
		errs <- s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put([]byte("ok"), []byte{1}) })
	}()
	wait(2)
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if p := <-panics; p != "kaboom" {
		t.Errorf("the panicking caller recovered %v, want kaboom", p)
	}
	if err := <-errs; err != nil {
		t.Errorf("an update batched with a panicking one failed: %v", err)
	}
}
