package store

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/polybot/polybot/internal/testing/testfs"
)

func remount(t *testing.T, dir string, flags uintptr, data string) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|flags, data); err != nil {
		t.Fatalf("remount %s %s: %v", dir, data, err)
	}
}

// TestReadOnlyStateDirIsAClearErrorAtOpen: a state directory on a read-only file system (root
// ignores permission bits, so chmod cannot stand in for it) fails Open with an error naming the
// store's path and the cause.
func TestReadOnlyStateDirIsAClearErrorAtOpen(t *testing.T) {
	dir := testfs.Tmpfs(t, 1<<20)
	remount(t, dir, syscall.MS_RDONLY, "size=1048576")
	_, err := Open(Options{Dir: dir, LockTimeout: 50e6})
	if err == nil {
		t.Fatal("Open succeeded on a read-only file system")
	}
	if !errors.Is(err, syscall.EROFS) || !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q: want EROFS and the store's path", err)
	}
}

// TestFullDiskFailsWritesCleanlyAndTheStoreSurvives fills a small tmpfs with decisions until a
// write fails, checks the failure is an error (no panic, no crash), that every write reported
// committed is there after a reopen, that a copy's intent cannot be recorded while the disk is
// full (so the executor, which records before it trades, cannot trade), and that writes resume
// once space returns.
func TestFullDiskFailsWritesCleanlyAndTheStoreSurvives(t *testing.T) {
	const size = 512 << 10
	dir := testfs.Tmpfs(t, size)
	c := &clock{t0}
	s := openAt(t, dir, c, func(o *Options) { o.DecisionsMax = 1 << 20 })
	copyFill(t, s, intent(1, alice, "1", 0, 10*usdc, 5*usdc))

	var full error
	committed := 0
	reason := strings.Repeat("r", 2000) // large values fill the file fast
	for i := 0; i < 100_000; i++ {
		c.advance(1e9)
		err := s.AppendDecision(Decision{Leader: alice, Token: "1", Side: "BUY", Action: "skip", Reason: reason})
		if err != nil {
			full = err
			break
		}
		committed++
	}
	if full == nil {
		t.Fatalf("%d decisions fit in a %d-byte file system", committed, size)
	}
	t.Logf("%d decisions committed, then: %v", committed, full)
	if !errors.Is(full, syscall.ENOSPC) && !strings.Contains(full.Error(), "no space") {
		t.Errorf("write on a full disk failed with %q, want ENOSPC", full)
	}
	// Small writes may still fit in free pages; keep recording intents (the record a copy
	// needs before its order is sent) until one is refused too.
	recorded, refused := 0, -1
	for n := 2; n < 10_000; n++ {
		if err := s.BeginIntent(intent(n, alice, "2", 0, 10*usdc, 5*usdc)); err != nil {
			refused = n
			t.Logf("%d intents recorded after the first failure, then: %v", recorded, err)
			break
		}
		recorded++
	}
	if refused < 0 {
		t.Fatal("10,000 intents recorded on a full disk")
	}
	// Reads still work.
	if n, err := s.DecisionCount(); err != nil || n != committed {
		t.Errorf("DecisionCount on a full disk = %d, %v; want %d", n, err, committed)
	}
	if err := s.Close(); err != nil {
		t.Logf("close on a full disk: %v", err)
	}

	// Space returns; the file opens, holds every committed write, and takes new ones.
	remount(t, dir, 0, fmt.Sprintf("size=%d", 8*size))
	s2 := openAt(t, dir, c, func(o *Options) { o.DecisionsMax = 1 << 20 })
	defer s2.Close()
	if n, err := s2.DecisionCount(); err != nil || n != committed {
		t.Errorf("after reopening: %d decisions, %v; want the %d committed", n, err, committed)
	}
	if in, ok, err := s2.IntentFor(id(1)); err != nil || !ok || in.Leader != alice {
		t.Errorf("the completed intent written before the disk filled: %+v %v %v", in, ok, err)
	}
	for n := 2; n < 2+recorded; n++ {
		if _, ok, err := s2.IntentFor(id(n)); err != nil || !ok {
			t.Errorf("intent %d, recorded before the disk filled up, is lost: %v", n, err)
		}
	}
	if _, ok, err := s2.IntentFor(id(refused)); err != nil || ok {
		t.Errorf("the refused intent %d: found %v, %v; want it absent", refused, ok, err)
	}
	if err := s2.BeginIntent(intent(refused, alice, "3", 0, 10*usdc, 5*usdc)); err != nil {
		t.Errorf("BeginIntent once space returned: %v", err)
	}
	// bbolt's own consistency check over every page.
	if err := s2.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		t.Errorf("the store is corrupted: %v", err)
	}
}
