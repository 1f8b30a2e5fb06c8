package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrCorrupt says the state file is damaged: bbolt refused its meta pages, its consistency
// check (tx.Check) found broken pages, or reading it panicked. Restarting cannot fix it; the
// error says how to recover from the backup copy (BackupPath).
var ErrCorrupt = errors.New("state file is damaged")

// BackupName is the rolling copy of the store, next to it: one file, replaced by each Backup.
const BackupName = FileName + ".bak"

// BackupPath is the backup copy of the store in dir.
func BackupPath(dir string) string { return filepath.Join(dir, BackupName) }

// maxCheckErrors bounds the consistency errors a damaged file's message quotes.
const maxCheckErrors = 3

// Open opens (creating when missing) the store in opts.Dir for reading and writing. The
// directory is created 0700 and the file 0600. It fails with ErrLocked when another process
// holds the file for longer than opts.LockTimeout.
//
// An existing file is checked first (bbolt's tx.Check over every page): a damaged one fails
// with an error wrapping ErrCorrupt that names the file, what is wrong and how to recover,
// and never panics, even where bbolt would on a broken page.
func Open(opts Options) (s *Store, err error) {
	defer func() {
		if r := recover(); r != nil {
			if s != nil {
				_ = s.db.Close()
				s = nil
			}
			err = corrupt(opts.Dir, fmt.Sprintf("reading it failed: %v", r))
		}
	}()
	if problems := checkFile(opts); len(problems) > 0 {
		return nil, corrupt(opts.Dir, problems...)
	}
	s, err = openFile(opts)
	if err != nil && isCorrupt(err) {
		return nil, corrupt(opts.Dir, err.Error())
	}
	return s, err
}

func isCorrupt(err error) bool {
	return errors.Is(err, berrors.ErrInvalid) || errors.Is(err, berrors.ErrChecksum) ||
		errors.Is(err, berrors.ErrVersionMismatch) || errors.Is(err, berrors.ErrInvalidMapping)
}

// checkFile runs bbolt's consistency check over the existing store file of opts.Dir (checkPath).
func checkFile(opts Options) []string {
	timeout := opts.LockTimeout
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	return checkPath(Path(opts.Dir), timeout)
}

// checkPath runs bbolt's consistency check over the store file at file, opened read-only so
// that nothing is written to a damaged file, and returns up to maxCheckErrors of its findings
// and how many more there were. A missing file, or one another process holds, is left to
// openFile to report.
func checkPath(file string, timeout time.Duration) []string {
	if _, err := os.Stat(file); err != nil {
		return nil
	}
	db, err := bolt.Open(file, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: true})
	if err != nil {
		if isCorrupt(err) {
			return []string{err.Error()}
		}
		return nil
	}
	defer db.Close()
	var out []string
	n := 0
	_ = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() { // drained to the end: the check runs in its own goroutine
			n++
			if len(out) < maxCheckErrors {
				out = append(out, err.Error())
			}
		}
		return nil
	})
	if n > len(out) {
		out = append(out, fmt.Sprintf("and %d more", n-len(out)))
	}
	return out
}

// corrupt is the error for a damaged store in dir: the file, what is wrong, and the recovery.
func corrupt(dir string, what ...string) error {
	path, bak := Path(dir), BackupPath(dir)
	how := fmt.Sprintf("no backup copy %s exists: move the damaged file aside and start polybot with a new, empty store "+
		"(positions and decisions are lost; in live trading compare with the CLOB's trade history)", bak)
	if fi, err := os.Stat(bak); err == nil {
		how = fmt.Sprintf("stop polybot, move %s aside, copy the backup %s (taken %s) in its place and start polybot "+
			"(docs/operations.md, \"A damaged state file\")", path, bak, fi.ModTime().UTC().Format(time.RFC3339))
	}
	return fmt.Errorf("%w: %s: %s; to recover, %s", ErrCorrupt, path, joinProblems(what), how)
}

func joinProblems(what []string) string {
	s := ""
	for i, w := range what {
		if i > 0 {
			s += "; "
		}
		s += w
	}
	return s
}

// Backup writes a consistent copy of the store to BackupPath, replacing the last one only
// once the new copy is complete and on disk. The copy is taken in one read transaction, which
// first checks the store (tx.Check): a store with broken pages is not copied, so the backup
// stays the last good copy. It returns the copy's size.
func (s *Store) Backup() (int64, error) {
	if s.readOnly {
		return 0, errors.New("backup: the store is open read-only")
	}
	dir := filepath.Dir(s.path)
	bak := filepath.Join(dir, BackupName)
	tmp := bak + ".tmp"
	var size int64
	err := s.db.View(func(tx *bolt.Tx) error {
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		n, err := tx.WriteTo(f)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		size = n
		return err
	})
	if err != nil {
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("backup %s: %w", s.path, err)
	}
	// The copy is checked, not the live store: bbolt's Tx.Check reads the shared freelist,
	// which a writer changes meanwhile (a data race), while the copy has no writer. The copy is
	// the transaction's snapshot, so a damaged snapshot fails here and the old backup stays.
	if bad := checkPath(tmp, DefaultLockTimeout); len(bad) > 0 {
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("backup %s: %w: %s: %s; the backup %s is kept as it is", s.path, ErrCorrupt, s.path, strings.Join(bad, "; "), bak)
	}
	if err := os.Rename(tmp, bak); err != nil {
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("backup %s: %w", s.path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return size, nil
}

// BackupTime is when the backup copy in dir was written; ok is false when there is none.
func BackupTime(dir string) (t time.Time, ok bool) {
	fi, err := os.Stat(BackupPath(dir))
	if errors.Is(err, fs.ErrNotExist) || err != nil {
		return time.Time{}, false
	}
	return fi.ModTime(), true
}

// OpenReadOnly opens an existing store for reading, as CLI commands do. While the daemon
// holds the store it fails within opts.LockTimeout with an error wrapping ErrLocked that
// says to ask the daemon over its admin socket. A damaged file fails with ErrCorrupt, as in
// Open, and never panics.
func OpenReadOnly(opts Options) (s *Store, err error) {
	defer func() {
		if r := recover(); r != nil {
			if s != nil {
				_ = s.db.Close()
				s = nil
			}
			err = corrupt(opts.Dir, fmt.Sprintf("reading it failed: %v", r))
		}
	}()
	s, err = openReadOnlyFile(opts)
	if err != nil && isCorrupt(err) {
		return nil, corrupt(opts.Dir, err.Error())
	}
	return s, err
}
