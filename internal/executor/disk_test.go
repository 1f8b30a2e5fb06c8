package executor

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
	bolt "go.etcd.io/bbolt"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/testfs"
)

// fillDisk writes a filler file in dir until the file system is full, then records tiny
// decisions until the store refuses one too (bbolt reuses pages it already holds): the
// executor's next write fails with ENOSPC.
func fillDisk(t *testing.T, dir string, st *store.Store) (filler string) {
	t.Helper()
	filler = testfs.Fill(t, dir)
	for i := 0; ; i++ {
		if i == 10_000 {
			t.Fatal("the store takes writes on a full disk")
		}
		err := st.AppendDecision(store.Decision{Token: "0", Side: "BUY", Action: "skip", Reason: "filling the disk"})
		if err != nil {
			if store.FaultOf(err) != store.FaultRecoverable {
				t.Fatalf("a write on a full disk failed with %v (fault %s), want a recoverable fault", err, store.FaultOf(err))
			}
			return filler
		}
	}
}

// TestAFullDiskPausesCopyingUntilSpaceReturns runs the executor on a real store on a real full
// file system (a small tmpfs): copying pauses with ENOSPC, nothing is sent, and once space is
// freed (with the same store still open) each fill is copied exactly once. The file then opens
// again and bbolt's own check over every page finds nothing wrong.
func TestAFullDiskPausesCopyingUntilSpaceReturns(t *testing.T) {
	dir := testfs.Tmpfs(t, 1<<20)
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	filler := fillDisk(t, dir, st)

	rec := &recorder{}
	clk := new(mclock.Simulated)
	e, err := New(Options{Broker: rec, Store: st, Strategy: policy("1", 0), Workers: 2, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, e, 10*time.Second)
	fills := []polymarket.Fill{
		fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 50),
		fill(alice, polymarket.Buy, 8, 10_000_000, 5_000_000, 51),
		fill(alice, polymarket.Sell, 7, 4_000_000, 2_400_000, 52),
	}
	submitAll(t, e, fills...)
	waitTimer(t, clk)
	reason, _ := e.Paused()
	if !strings.HasPrefix(reason, "state store not writable: ") || !strings.Contains(reason, "no space left on device") ||
		!strings.Contains(reason, dir) {
		t.Fatalf("Paused() = %q; want the store not writable, ENOSPC and the file's path", reason)
	}
	if err := e.Healthy(); err != nil {
		t.Fatalf("Healthy() = %v on a full disk", err)
	}
	if rec.count() != 0 {
		t.Fatalf("%d orders sent on a full disk", rec.count())
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	clk.Run(time.Minute)
	waitUntil(t, "the copies", func() bool { return e.Stats().Copied == 3 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 3 {
		t.Fatalf("%d orders for 3 fills", rec.count())
	}
	if r, _ := e.Paused(); r != "" {
		t.Fatalf("still paused: %s", r)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// bbolt's consistency check over every page, then the store's own view.
	db, err := bolt.Open(store.Path(dir), 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		t.Fatalf("the store is corrupted: %v", err)
	}
	db.Close()
	st2, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	for _, f := range fills {
		in, ok, err := st2.IntentFor(store.IntentIDOf(&f))
		if err != nil || !ok || in.Status != store.StatusFilled {
			t.Fatalf("fill %d after reopening: %+v %v %v, want filled", f.LogIndex, in, ok, err)
		}
	}
	if p, _ := st2.PendingIntents(); len(p) != 0 {
		t.Fatalf("%d intents pending", len(p))
	}
	p, ok, err := st2.Position(fills[0].Market())
	if err != nil || !ok || p.Shares != 6_000_000 {
		t.Fatalf("position %+v %v %v, want 6 shares left (bought 10, sold 4)", p, ok, err)
	}
}
