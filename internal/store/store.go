// Package store keeps polybot's state in one bbolt file, <state_dir>/polybot.db: positions,
// the ingestion checkpoint, the order intent journal that makes copies exactly-once across
// crashes, the circuit breaker, daily counters and a bounded decision log.
//
// Every write is committed in a bbolt transaction, fsynced (NoSync stays false) before the
// write returns: after a crash the file holds every committed write and no part of an
// uncommitted one. Concurrent writes share a transaction and its fsync (group commit). The
// daemon opens the file read-write, which takes an exclusive lock; CLI commands open it
// read-only with OpenReadOnly, which fails fast with ErrLocked while the daemon runs.
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
	"slices"
	"sync"
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
	// laterBuckets were added after schema version 1: Open creates them, and a read-only open
	// of a file from before them reads them as empty.
	laterBuckets = [][]byte{bucketLeaders, bucketLeaderFills, bucketDict, bucketFillBlocks, bucketLeaderMoved, bucketExitRetries}

	keyVersion    = []byte("version")
	keyCheckpoint = []byte("checkpoint")
	keyBreaker    = []byte("breaker")
	keyDecisionsN = []byte("decisions_count")
)

// schemaVersion is written on creation. Version 1 stored decisions as JSON; version 2 stores
// them as binary records (decisioncodec.go). Open migrates a version-1 file (copyCompact);
// OpenReadOnly reads either; a file of any other version is refused.
const schemaVersion = 2

// readableVersions are the schema versions this polybot reads.
var readableVersions = []uint64{1, schemaVersion}

// Defaults of Options.
const (
	DefaultDecisionsMax          = 50_000
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
	version   uint64 // the file's schema version: schemaVersion, or 1 in a file opened read-only
	pageSize  int    // the file's page size (db.Info races with a remap: read it once, at open)

	openCompaction OpenCompaction

	// Group commit (batch): the calls waiting, and whether one of them is committing.
	batchMu    sync.Mutex
	queue      []*call
	committing bool
	commits    atomic.Uint64 // read-write transactions run by batch (tests)
}

// Path is the store's file.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// openFile opens (creating when missing) the store in opts.Dir for reading and writing. The
// directory is created 0700 and the file 0600. It fails with ErrLocked when another process
// holds the file for longer than opts.LockTimeout.
func openFile(opts Options) (*Store, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	path := Path(opts.Dir)
	_ = os.Remove(path + compactSuffix) // a copy a crash interrupted; the file itself is whole
	bopts := &bolt.Options{Timeout: opts.LockTimeout}
	db, err := bolt.Open(path, 0o600, bopts)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: another polybot process holds it (is the daemon running?): %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store %s: set mode 0600: %w", path, err)
	}
	var version uint64
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range append(allBuckets[:len(allBuckets):len(allBuckets)], laterBuckets...) {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		var err error
		version, err = checkVersion(tx.Bucket(bucketMeta), true)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	size := int64(0)
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	var oc OpenCompaction
	if version != schemaVersion || needsCompaction(db, size) {
		oc.Before, oc.Migrated = size, version != schemaVersion
		db, oc.Err = copyCompact(db, path, bopts)
		if db == nil {
			return nil, fmt.Errorf("open store %s: %w", path, oc.Err)
		}
		if oc.Err == nil {
			version = schemaVersion
		}
		if fi, err := os.Stat(path); err == nil {
			oc.After = fi.Size()
		}
	}
	db.NoSync = false // every commit is fsynced: the journal's guarantee depends on it
	s := newStore(db, path, opts, false, version)
	s.openCompaction = oc
	return s, nil
}

// openReadOnlyFile opens an existing store for reading, as CLI commands do. While the daemon
// holds the store it fails within opts.LockTimeout with an error wrapping ErrLocked that
// says to ask the daemon over its admin socket.
func openReadOnlyFile(opts Options) (*Store, error) {
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
	var version uint64
	err = db.View(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("bucket %s missing: not a polybot store", b)
			}
		}
		var err error
		version, err = checkVersion(tx.Bucket(bucketMeta), false)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return newStore(db, path, opts, true, version), nil
}

func newStore(db *bolt.DB, path string, opts Options, readOnly bool, version uint64) *Store {
	s := &Store{db: db, path: path, opts: opts, readOnly: readOnly, version: version, pageSize: db.Info().PageSize}
	s.resetHour.Store(int32(opts.ResetHourUTC))
	return s
}

// checkVersion returns the file's schema version, writing schemaVersion into a new file when
// create is set; a version this polybot cannot read is an error.
func checkVersion(meta *bolt.Bucket, create bool) (uint64, error) {
	v := meta.Get(keyVersion)
	if v == nil && create {
		return schemaVersion, meta.Put(keyVersion, u64(schemaVersion))
	}
	if len(v) == 8 && slices.Contains(readableVersions, binary.BigEndian.Uint64(v)) {
		return binary.BigEndian.Uint64(v), nil
	}
	return 0, fmt.Errorf("schema version %x, want one of %d (a newer polybot wrote it?)", v, readableVersions)
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

// update runs fn in a read-write transaction, committed (and fsynced) when fn returns nil,
// before update returns. Concurrent calls share one transaction and one fsync (group commit,
// see batch), so fn may run more than once: it must change nothing but tx, and only assign
// (never accumulate into) variables it shares with its caller.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	if s.readOnly {
		return ErrReadOnly
	}
	return s.batch(fn)
}

// maxBatch bounds the calls one group commit takes.
const maxBatch = 1000

// errLead, sent to a waiting call, makes its caller the next to commit.
var errLead = errors.New("store: lead the next commit")

// call is one update waiting for a group commit.
type call struct {
	fn  func(tx *bolt.Tx) error
	res chan error // errLead, then (or only) the call's result
}

// panicked carries a panic out of a group commit to the caller whose fn panicked.
type panicked struct{ v any }

func (p panicked) Error() string { return fmt.Sprintf("store: update panicked: %v", p.v) }

// batch is group commit without a timer. A call arriving while no commit runs commits at
// once, alone (one fsync of latency, as db.Update). Calls arriving while a commit runs
// queue; when it ends, the first of them commits the whole queue in one transaction and one
// fsync. Under load each commit carries every call that arrived during the previous one, so
// the commit rate stays what the disk allows while the calls per second grow with the
// number of callers. Unlike bbolt's db.Batch there is no MaxBatchDelay wait: an idle store
// adds no latency, and the few executor workers (4 by default, far below db.Batch's
// MaxBatchSize) do not each wait out its 10 ms timer. Every caller returns only after the
// transaction holding its fn is committed; if one fn fails, the transaction is rolled back,
// that fn runs again alone (its caller gets its error) and the others run again together.
func (s *Store) batch(fn func(tx *bolt.Tx) error) error {
	c := &call{fn: fn, res: make(chan error, 1)}
	s.batchMu.Lock()
	s.queue = append(s.queue, c)
	lead := !s.committing
	s.committing = true
	s.batchMu.Unlock()
	if !lead {
		if err := <-c.res; !errors.Is(err, errLead) {
			return unpanic(err)
		}
	}
	s.batchMu.Lock()
	n := min(len(s.queue), maxBatch)
	calls := s.queue[:n:n]
	s.queue = s.queue[n:]
	s.batchMu.Unlock()

	s.commit(calls)

	s.batchMu.Lock()
	if len(s.queue) > 0 {
		s.queue[0].res <- errLead // it is waiting, its buffer empty
	} else {
		s.committing = false
		s.queue = nil
	}
	s.batchMu.Unlock()
	return unpanic(<-c.res)
}

// commit runs calls in one transaction and sends each its result.
func (s *Store) commit(calls []*call) {
	failed := -1
	s.commits.Add(1)
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i, c := range calls {
			if err := safeCall(c.fn, tx); err != nil {
				failed = i
				return err
			}
		}
		return nil
	})
	if failed < 0 || len(calls) == 1 {
		for _, c := range calls {
			c.res <- err
		}
		return
	}
	// One fn failed and rolled back the others: it runs again alone, the rest again together.
	bad := calls[failed]
	s.commits.Add(1)
	bad.res <- s.db.Update(func(tx *bolt.Tx) error { return safeCall(bad.fn, tx) })
	rest := append(calls[:failed:failed], calls[failed+1:]...)
	if len(rest) > 0 {
		s.commit(rest)
	}
}

func safeCall(fn func(tx *bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = panicked{p}
		}
	}()
	return fn(tx)
}

// unpanic re-raises in its caller a panic of its fn inside a group commit.
func unpanic(err error) error {
	var p panicked
	if errors.As(err, &p) {
		panic(p.v)
	}
	return err
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
