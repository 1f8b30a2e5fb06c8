package store

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// filledStore makes a store with a checkpoint and enough data to span many pages, and closes it.
func filledStore(t *testing.T, dir string) {
	t.Helper()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckpoint(4242); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if err := s.SetResolutionCursor(uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// damage overwrites the file's bytes [from, to) with a pattern no bbolt page has.
func damage(t *testing.T, path string, from, to int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	to = min(to, fi.Size())
	junk := []byte(strings.Repeat("\xde\xad\xbe\xef", int(to-from)/4+1))[:to-from]
	if _, err := f.WriteAt(junk, from); err != nil {
		t.Fatal(err)
	}
}

func TestADamagedStoreFileFailsWithTheFixNamedAndNoPanic(t *testing.T) {
	page := int64(os.Getpagesize())
	cases := []struct {
		name     string
		from, to int64
		want     string
	}{
		{"both meta pages", 0, 2 * page, "invalid database"},
		{"the data pages", 2 * page, 1 << 30, "page"},
		{"one data page", 3 * page, 4 * page, "page"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			filledStore(t, dir)
			damage(t, Path(dir), tc.from, tc.to)
			s, err := Open(Options{Dir: dir})
			if err == nil {
				_ = s.Close()
				t.Fatal("a damaged store opened without an error")
			}
			msg := err.Error()
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(msg, Path(dir)) || !strings.Contains(msg, tc.want) ||
				!strings.Contains(msg, "to recover") {
				t.Fatalf("error %q: want ErrCorrupt naming %s, what is wrong (%q) and how to recover", msg, Path(dir), tc.want)
			}
			t.Logf("damaged store: %v", err)
		})
	}
}

func TestABackupRestoresADamagedStore(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckpoint(777); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backup(); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCheckpoint(778); err != nil { // after the backup: lost by a restore
		t.Fatal(err)
	}
	// A second backup replaces the first (one rolling copy) and leaves no temporary file.
	if _, err := s.Backup(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("state dir holds %d files, want the store and one backup: %v", len(entries), entries)
	}
	damage(t, Path(dir), 0, 1<<30)
	_, err = Open(Options{Dir: dir})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), BackupPath(dir)) {
		t.Fatalf("error %v: want ErrCorrupt naming the backup %s to restore", err, BackupPath(dir))
	}
	// The recovery docs/operations.md gives: move the damaged file aside, copy the backup.
	if err := os.Rename(Path(dir), Path(dir)+".damaged"); err != nil {
		t.Fatal(err)
	}
	copyFile(t, BackupPath(dir), Path(dir))
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("restored store: %v", err)
	}
	defer s.Close()
	if cp, ok, err := s.Checkpoint(); err != nil || !ok || cp != 778 {
		t.Fatalf("restored checkpoint %d %v %v, want 778", cp, ok, err)
	}
	if at, ok := BackupTime(dir); !ok || time.Since(at) > time.Hour {
		t.Fatalf("backup time %v %v", at, ok)
	}
}

func TestABackupIsNotTakenOfADamagedStore(t *testing.T) {
	dir := t.TempDir()
	filledStore(t, dir)
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backup(); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(BackupPath(dir))
	damage(t, Path(dir), 2*int64(os.Getpagesize()), 1<<30)
	_, err = s.Backup()
	_ = s.Close()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("backup of a damaged store: %v, want ErrCorrupt", err)
	}
	if now, _ := os.ReadFile(BackupPath(dir)); string(now) != string(good) {
		t.Fatal("the good backup was replaced by a copy of the damaged store")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// The CLI's read-only open of a damaged store fails with the same message, without a panic.
func TestAReadOnlyOpenOfADamagedStoreFailsWithoutPanic(t *testing.T) {
	dir := t.TempDir()
	filledStore(t, dir)
	damage(t, Path(dir), 0, 1<<30)
	s, err := OpenReadOnly(Options{Dir: dir})
	if err == nil {
		_ = s.Close()
		t.Fatal("a damaged store opened read-only without an error")
	}
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), Path(dir)) {
		t.Fatalf("error %v: want ErrCorrupt naming %s", err, Path(dir))
	}
}
