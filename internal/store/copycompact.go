package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// bbolt never gives a file's pages back to the file system: deleting keys frees pages for
// reuse, and the file stays at its high-water mark. Pruning (Compact) bounds what the store
// keeps, so a running polybot's file stops growing; copyCompact shrinks it, by copying every
// live record, in key order and into full pages, into a new file that replaces the old one
// (rename is atomic: after a crash the state directory holds the old file or the new one,
// whole). Open does this when the file is from an older schema (the copy migrates it) or when
// at least compactFreeFraction of a file of compactMinSize or more is free pages, as after a
// burst of decisions or a retention lowered in the config.
const (
	compactMinSize      = 4 << 20
	compactFreeFraction = 0.25
	// compactTxBytes bounds the data one transaction of the copy writes.
	compactTxBytes = 16 << 20
	// compactSuffix names the copy while it is written; Open removes one a crash left.
	compactSuffix = ".compact"
)

// FileStats is the store's footprint: the file's size, and the bytes of it holding data. The
// rest is free pages bbolt reuses before it grows the file (FreeBytes), and the file's tail
// beyond its last page, which bbolt allocates ahead in steps of up to 16 MiB.
type FileStats struct {
	FileBytes int64
	LiveBytes int64
	FreeBytes int64
}

// FileStats reads the file's size, its pages in use and its free pages.
func (s *Store) FileStats() (FileStats, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return FileStats{}, err
	}
	var used int64
	if err := s.db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil }); err != nil {
		return FileStats{}, err
	}
	st := s.db.Stats()
	free := int64(st.FreePageN+st.PendingPageN) * int64(s.pageSize)
	return FileStats{FileBytes: fi.Size(), FreeBytes: free, LiveBytes: max(0, used-free)}, nil
}

// needsCompaction says whether Open should copy-compact db's file of the given size. Only
// while no transaction runs: db.Info races with a remap.
func needsCompaction(db *bolt.DB, size int64) bool {
	st := db.Stats()
	free := int64(st.FreePageN+st.PendingPageN) * int64(db.Info().PageSize)
	return size >= compactMinSize && float64(free) >= compactFreeFraction*float64(size)
}

// OpenCompaction says what the copy at Open did: Before and After are the file's sizes (both 0
// when there was no copy), Err why a copy failed (the store then runs on the file as it was).
type OpenCompaction struct {
	Before, After int64
	Migrated      bool // the file was of schema version 1
	Err           error
}

// OpenCompaction is what the copy at Open did.
func (s *Store) OpenCompaction() OpenCompaction { return s.openCompaction }

// copyCompact copies src, open read-write at path, into a new file that replaces it, and
// returns the new file opened with opts. Decision records and leader marks of schema version
// 1 are rewritten in version 2's formats, and the copy has schemaVersion. src is closed. When the
// copy fails before it replaces the file (a full disk), the old file is opened again and
// returned with the error, and the store runs on it as it was.
func copyCompact(src *bolt.DB, path string, opts *bolt.Options) (*bolt.DB, error) {
	db, replaced, err := copyOver(src, path, opts)
	if err != nil && !replaced {
		db, rerr := bolt.Open(path, 0o600, opts)
		if rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		return db, err
	}
	return db, err
}

// copyOver is copyCompact; replaced says whether the copy took the old file's place.
func copyOver(src *bolt.DB, path string, opts *bolt.Options) (_ *bolt.DB, replaced bool, _ error) {
	tmp := path + compactSuffix
	err := func() error {
		_ = os.Remove(tmp)
		dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: opts.Timeout})
		if err != nil {
			return err
		}
		dst.NoSync = true // one sync at the end: the copy counts only once renamed
		err = copyAll(src, dst)
		if err == nil {
			err = dst.Sync()
		}
		return errors.Join(err, dst.Close())
	}()
	if err != nil {
		_ = os.Remove(tmp)
		_ = src.Close()
		return nil, false, fmt.Errorf("copy-compact: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		_ = src.Close()
		return nil, false, fmt.Errorf("copy-compact: replace the file: %w", err)
	}
	// The old file's lock goes with its descriptor; the new file is locked by the reopen.
	_ = src.Close()
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, true, fmt.Errorf("copy-compact: %w", err)
	}
	db, err := bolt.Open(path, 0o600, opts)
	return db, true, err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// copyAll copies every top-level bucket of src into dst in key order, with full pages,
// rewriting JSON decision records and version 1 leader marks, in transactions of about
// compactTxBytes.
func copyAll(src, dst *bolt.DB) error {
	return src.View(func(stx *bolt.Tx) error {
		w := &copier{dst: dst}
		defer w.rollback()
		// The dict first: a decision rewritten from JSON numbers its leader and token in it.
		names := [][]byte{bucketDict}
		if err := stx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			if string(name) != string(bucketDict) {
				names = append(names, name)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, name := range names {
			sb := stx.Bucket(name)
			if err := w.bucket(name, sb); err != nil {
				return fmt.Errorf("bucket %s: %w", name, err)
			}
			if sb == nil {
				continue
			}
			dict := newDictReader(stx)
			c := sb.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if v == nil {
					return fmt.Errorf("bucket %s: nested bucket %x: not a polybot store", name, k)
				}
				if string(name) == string(bucketDecisions) && len(v) > 0 && v[0] == '{' {
					if err := w.begin(); err != nil {
						return err
					}
					d, err := decodeDecision(k, v, dict)
					if err != nil {
						return err
					}
					if v, err = encodeDecision(k, &d, w.tx.Bucket(bucketDict)); err != nil {
						return err
					}
				}
				if string(name) == string(bucketLeaderFills) {
					var err error
					if k, v, err = migrateMark(k, v); err != nil {
						return err
					}
				}
				if err := w.put(name, k, v); err != nil {
					return fmt.Errorf("bucket %s: %w", name, err)
				}
			}
		}
		if err := w.put(bucketMeta, keyVersion, u64(schemaVersion)); err != nil {
			return err
		}
		return w.commit()
	})
}

// copier writes into dst in transactions of about compactTxBytes.
type copier struct {
	dst   *bolt.DB
	tx    *bolt.Tx
	bytes int
}

func (w *copier) begin() error {
	if w.tx != nil {
		return nil
	}
	tx, err := w.dst.Begin(true)
	w.tx, w.bytes = tx, 0
	return err
}

// bucket creates name in dst with src's sequence (src nil: empty).
func (w *copier) bucket(name []byte, src *bolt.Bucket) error {
	if err := w.begin(); err != nil {
		return err
	}
	b, err := w.tx.CreateBucketIfNotExists(name)
	if err != nil || src == nil {
		return err
	}
	return b.SetSequence(src.Sequence())
}

func (w *copier) put(name, k, v []byte) error {
	if err := w.begin(); err != nil {
		return err
	}
	b := w.tx.Bucket(name)
	b.FillPercent = 1.0 // keys arrive in order: fill each page
	if err := b.Put(k, v); err != nil {
		return err
	}
	if w.bytes += len(k) + len(v); w.bytes >= compactTxBytes {
		return w.commit()
	}
	return nil
}

func (w *copier) commit() error {
	if w.tx == nil {
		return nil
	}
	err := w.tx.Commit()
	w.tx = nil
	return err
}

func (w *copier) rollback() {
	if w.tx != nil {
		_ = w.tx.Rollback()
		w.tx = nil
	}
}
