// Package store keeps polybot's state in one bbolt file, <state_dir>/polybot.db: positions,
// the ingestion checkpoint, the order intent journal that makes copies exactly-once across
// crashes, the circuit breaker, daily counters and a bounded decision log.
//
// Every write is one bbolt transaction, fsynced on commit (NoSync stays false): after a
// crash the file holds every committed write and no part of an uncommitted one. The daemon
// opens the file read-write, which takes an exclusive lock; CLI commands open it read-only
// with OpenReadOnly, which fails fast with ErrLocked while the daemon runs.
//
// Amounts are 6-decimal base units: 1_000_000 is one share or one USDC.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the store's file in the state directory.
const FileName = "polybot.db"

// Errors. ErrLocked is returned by Open and OpenReadOnly when another process holds the file;
// the intent errors by BeginIntent and CompleteIntent.
var (
	ErrLocked          = errors.New("the store is locked by another polybot process")
	ErrReadOnly        = errors.New("the store is open read-only")
	ErrIntentExists    = errors.New("an intent for this fill already exists")
	ErrIntentNotFound  = errors.New("no intent for this fill")
	ErrIntentCompleted = errors.New("the intent is already completed")
	ErrBadIntent       = errors.New("malformed intent")
	ErrBadResult       = errors.New("malformed intent result")
)

var (
	bucketMeta      = []byte("meta")
	bucketPositions = []byte("positions") // token -> Position (open)
	bucketClosed    = []byte("closed")    // closedAt ‖ token -> Position
	bucketLots      = []byte("lots")      // token ‖ 0 ‖ leader -> Lot
	bucketIntents   = []byte("intents")   // IntentID key -> Intent
	bucketPending   = []byte("pending")   // IntentID key -> nothing
	bucketDone      = []byte("done")      // completedAt ‖ IntentID key -> nothing
	bucketDecisions = []byte("decisions") // time ‖ sequence -> Decision
	bucketDaily     = []byte("daily")     // day start (unix seconds) -> Daily
	allBuckets      = [][]byte{bucketMeta, bucketPositions, bucketClosed, bucketLots, bucketIntents,
		bucketPending, bucketDone, bucketDecisions, bucketDaily}

	keyVersion    = []byte("version")
	keyCheckpoint = []byte("checkpoint")
	keyBreaker    = []byte("breaker")
	keyDecisionsN = []byte("decisions_count")
)

// schemaVersion is written on creation; a file of another version is refused.
const schemaVersion = 1

// Defaults of Options.
const (
	DefaultDecisionsMax          = 100_000
	DefaultDecisionsMaxAge       = 7 * 24 * time.Hour
	DefaultIntentsMaxAge         = 24 * time.Hour
	DefaultClosedPositionsMaxAge = 30 * 24 * time.Hour
	DefaultLockTimeout           = time.Second
)

// Options configures a Store. Zero values take the defaults above.
type Options struct {
	// Dir is the state directory; the file is Dir/polybot.db. Required.
	Dir string
	// ResetHourUTC is the hour (0..23, UTC) a trading day starts, for daily counters and the
	// circuit breaker.
	ResetHourUTC int
	// DecisionsMax and DecisionsMaxAge bound the decision log.
	DecisionsMax    int
	DecisionsMaxAge time.Duration
	// IntentsMaxAge is how long Compact keeps completed intents. Keep it well beyond the
	// window in which a fill can be seen again (2x the dedup TTL at least): an intent
	// pruned too early lets a replayed fill be copied twice.
	IntentsMaxAge time.Duration
	// ClosedPositionsMaxAge is how long Compact keeps closed positions and daily counters.
	ClosedPositionsMaxAge time.Duration
	// LockTimeout is how long opening waits for another process's lock; default 1s.
	LockTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (o *Options) validate() error {
	switch {
	case o.Dir == "":
		return errors.New("store: Dir is required")
	case o.ResetHourUTC < 0 || o.ResetHourUTC > 23:
		return fmt.Errorf("store: ResetHourUTC %d is not an hour from 0 to 23", o.ResetHourUTC)
	case o.DecisionsMax < 0 || o.DecisionsMaxAge < 0 || o.IntentsMaxAge < 0 || o.ClosedPositionsMaxAge < 0 || o.LockTimeout < 0:
		return errors.New("store: limits and durations must not be negative")
	}
	if o.DecisionsMax == 0 {
		o.DecisionsMax = DefaultDecisionsMax
	}
	if o.DecisionsMaxAge == 0 {
		o.DecisionsMaxAge = DefaultDecisionsMaxAge
	}
	if o.IntentsMaxAge == 0 {
		o.IntentsMaxAge = DefaultIntentsMaxAge
	}
	if o.ClosedPositionsMaxAge == 0 {
		o.ClosedPositionsMaxAge = DefaultClosedPositionsMaxAge
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Store is polybot's state file. Safe for concurrent use.
type Store struct {
	db        *bolt.DB
	path      string
	opts      Options
	resetHour atomic.Int32
	readOnly  bool
}

// Path is the store's file.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// Open opens (creating when missing) the store in opts.Dir for reading and writing. The
// directory is created 0700 and the file 0600. It fails with ErrLocked when another process
// holds the file for longer than opts.LockTimeout.
func Open(opts Options) (*Store, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	path := Path(opts.Dir)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: another polybot process holds it (is the daemon running?): %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db.NoSync = false // every commit is fsynced: the journal's guarantee depends on it
	if err := os.Chmod(path, 0o600); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store %s: set mode 0600: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return checkVersion(tx.Bucket(bucketMeta), true)
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return newStore(db, path, opts, false), nil
}

// OpenReadOnly opens an existing store for reading, as CLI commands do. While the daemon
// holds the store it fails within opts.LockTimeout with an error wrapping ErrLocked that
// says to ask the daemon over its admin socket.
func OpenReadOnly(opts Options) (*Store, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	path := Path(opts.Dir)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, ReadOnly: true})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: the daemon holds the store; ask it over the admin socket: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("bucket %s missing: not a polybot store", b)
			}
		}
		return checkVersion(tx.Bucket(bucketMeta), false)
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return newStore(db, path, opts, true), nil
}

func newStore(db *bolt.DB, path string, opts Options, readOnly bool) *Store {
	s := &Store{db: db, path: path, opts: opts, readOnly: readOnly}
	s.resetHour.Store(int32(opts.ResetHourUTC))
	return s
}

func checkVersion(meta *bolt.Bucket, create bool) error {
	v := meta.Get(keyVersion)
	if v == nil && create {
		return meta.Put(keyVersion, u64(schemaVersion))
	}
	if len(v) != 8 || binary.BigEndian.Uint64(v) != schemaVersion {
		return fmt.Errorf("schema version %x, want %d", v, schemaVersion)
	}
	return nil
}

// Close closes the file, releasing its lock.
func (s *Store) Close() error { return s.db.Close() }

// File is the path of the store's file.
func (s *Store) File() string { return s.path }

// Size is the file's size in bytes.
func (s *Store) Size() (int64, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// SetResetHourUTC changes the hour the trading day starts (on reload).
func (s *Store) SetResetHourUTC(hour int) error {
	if hour < 0 || hour > 23 {
		return fmt.Errorf("store: reset hour %d is not an hour from 0 to 23", hour)
	}
	s.resetHour.Store(int32(hour))
	return nil
}

// DayStart is the start of the trading day holding t: the latest hour:00 UTC at or before t.
func DayStart(t time.Time, hour int) time.Time {
	t = t.UTC()
	start := time.Date(t.Year(), t.Month(), t.Day(), hour, 0, 0, 0, time.UTC)
	if t.Before(start) {
		start = start.AddDate(0, 0, -1)
	}
	return start
}

func (s *Store) dayStart(t time.Time) time.Time { return DayStart(t, int(s.resetHour.Load())) }

// update runs fn in one read-write transaction, committed (and fsynced) when fn returns nil.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	if s.readOnly {
		return ErrReadOnly
	}
	return s.db.Update(fn)
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// timeKey orders times before 1970 first (as 0) and is 8 bytes.
func timeKey(t time.Time) []byte {
	n := t.UnixNano()
	if n < 0 {
		n = 0
	}
	return u64(uint64(n))
}

func put(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// get decodes key's value into v; false when missing.
func get(b *bolt.Bucket, key []byte, v any) (bool, error) {
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	if err := jsonDecode(data, v); err != nil {
		return true, fmt.Errorf("key %x: %w", key, err)
	}
	return true, nil
}

func jsonDecode(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode record: %w", err)
	}
	return nil
}

func addSat(a, b uint64) uint64 {
	if c := a + b; c >= a {
		return c
	}
	return ^uint64(0)
}

func subSat(a, b uint64) uint64 {
	if b >= a {
		return 0
	}
	return a - b
}

// signedDiff is a-b as an int64, saturating.
func signedDiff(a, b uint64) int64 {
	if a >= b {
		if d := a - b; d <= 1<<63-1 {
			return int64(d)
		}
		return 1<<63 - 1
	}
	if d := b - a; d <= 1<<63 {
		return -int64(d-1) - 1
	}
	return -1 << 63
}

func addSigned(a, b int64) int64 {
	c := a + b
	switch {
	case a > 0 && b > 0 && c < 0:
		return 1<<63 - 1
	case a < 0 && b < 0 && c >= 0:
		return -1 << 63
	}
	return c
}
