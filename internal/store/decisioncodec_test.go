package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"

	"github.com/polybot/polybot/internal/polymarket"
)

// everyField is a Decision with every field set to a value that is not zero, by reflection: a
// field added to Decision is set here too, and the round trip below fails until the record
// format stores it.
func everyField(t testing.TB, seed int) Decision {
	t.Helper()
	var d Decision
	v := reflect.ValueOf(&d).Elem()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		if v.Type().Field(i).Tag.Get("json") == "-" {
			continue // kept apart from the log (Record's fill block), not part of the record
		}
		switch {
		case f.Type() == reflect.TypeOf(time.Time{}):
			f.Set(reflect.ValueOf(t0.Add(time.Duration(seed) * time.Nanosecond)))
		case f.Kind() == reflect.String:
			f.SetString(fmt.Sprintf("%s-%d", name, seed))
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.CanUint():
			f.SetUint(uint64(1000*i + seed + 1))
		case f.CanInt():
			f.SetInt(int64(-1000*i - seed - 1))
		case f.Kind() == reflect.Array && f.Type().Elem().Kind() == reflect.Uint8:
			for j := range f.Len() {
				f.Index(j).SetUint(uint64(i + j + seed + 1))
			}
		case f.Type() == reflect.TypeOf(&OnChain{}):
			f.Set(reflect.ValueOf(&OnChain{Block: uint64(100 + seed), Tx: common.BigToHash(big.NewInt(int64(seed))), Fills: 2,
				Shares: 5, Collateral: 3, Fee: 1, CLOB: &Result{Status: StatusFilled, FilledShares: 4, FilledCollateral: 2}}))
		default:
			t.Fatalf("Decision.%s is a %s: give it a test value here and a field in the record format (decisioncodec.go)", name, f.Type())
		}
	}
	return d
}

func TestDecisionRecordKeepsEveryField(t *testing.T) {
	s, c := tempStore(t)
	defer s.Close()
	known := decision(c.t.Add(time.Millisecond), 7)
	known.Side, known.Action, known.Limit, known.LeaderShares = "SELL", "reduce", "risk.max_position_usdc", 3*usdc
	known.OrderHash, known.Nth = common.HexToHash("0xabc"), 2
	later := everyField(t, 2)
	later.Time = later.Time.Add(2 * time.Millisecond)
	want := []Decision{everyField(t, 1), known, later,
		{Time: c.t.Add(time.Second), Token: "not a number", Side: "sideways", Action: "ponder"}}
	for _, d := range want {
		if err := s.AppendDecision(d); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Decisions(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d decisions, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("decision %d read back as\n%+v\nwant\n%+v", i, got[i], want[i])
		}
	}
}

func TestDecisionRecordRefusesGarbage(t *testing.T) {
	key := timeKey(t0)
	for _, v := range [][]byte{{}, {0x7f}, {decisionFormatV1, 0x80}, {decisionFormatV1, fieldReason<<1 | wireBytes, 9, 'a'},
		{decisionFormatV1, fieldTx<<1 | wireBytes, 1, 'a'}, {decisionFormatV1, fieldLeader << 1, 5}, {'{', 'x'}} {
		if _, err := decodeDecision(key, v, &dictReader{cache: map[uint64]string{}}); err == nil {
			t.Errorf("record %x decoded without an error", v)
		}
	}
}

// legacyDecision is the Decision of schema version 1 as it was stored: its JSON form.
type legacyDecision struct {
	Time         time.Time
	Leader       common.Address
	Token        string
	Side         string
	Action       string
	Reason       string
	Limit        string
	Shares       uint64
	Collateral   uint64
	Tx           common.Hash
	LogIndex     uint
	LeaderShares uint64      `json:",omitempty"`
	OrderHash    common.Hash `json:",omitempty"`
	Nth          uint        `json:",omitempty"`
}

// legacyOf is d in the JSON decision record of schema version 1.
func legacyOf(d Decision) legacyDecision {
	return legacyDecision{Time: d.Time, Leader: d.Leader, Token: d.Token, Side: d.Side, Action: d.Action,
		Reason: d.Reason, Limit: d.Limit, Shares: d.Shares, Collateral: d.Collateral, Tx: d.Tx, LogIndex: d.LogIndex,
		LeaderShares: d.LeaderShares, OrderHash: d.OrderHash, Nth: d.Nth}
}

// realisticDecision is decision n as the executor logs them: 3 leaders, 128 markets with
// 77-digit token ids, random transaction and order hashes, the strategy's reasons.
func realisticDecision(r *rand.Rand, at time.Time, n int) Decision {
	leaders := []common.Address{alice, bob, common.HexToAddress("0x1000000000000000000000000000000000000003")}
	token := new(big.Int).Lsh(big.NewInt(int64(1+n%128)), 250).String()
	var tx, oh common.Hash
	for i := range tx {
		tx[i], oh[i] = byte(r.Uint32()), byte(r.Uint32())
	}
	d := Decision{Time: at, Leader: leaders[n%3], Token: token, Side: "BUY", Action: "copy", Reason: "proportional copy",
		Shares: r.Uint64N(1000 * usdc), Collateral: r.Uint64N(500 * usdc), Tx: tx, LogIndex: uint(r.IntN(400)),
		LeaderShares: r.Uint64N(5000 * usdc), OrderHash: oh, Nth: uint(r.IntN(2))}
	// The mix of a soak's decision log: mostly skips once the day's limits are reached.
	switch n % 8 {
	case 1:
		d.Side = "SELL"
		d.Reason = fmt.Sprintf("leader sold 25%%: selling %d.5 of %d.25 held", r.IntN(100), r.IntN(1000))
	case 2:
		d.Action, d.Shares, d.Collateral = "skip", 0, 0
		d.Limit, d.Reason = "risk.max_market_exposure_usdc", fmt.Sprintf("reduced from %d.25 to 0 shares (at most 0 USDC) to stay within risk.max_market_exposure_usdc", r.IntN(1000))
	case 3, 4, 5:
		d.Action, d.Shares, d.Collateral = "skip", 0, 0
		d.Limit, d.Reason = "risk.daily_loss_limit_usdc", "circuit breaker tripped for today"
	case 6:
		d.Side, d.Action, d.Shares, d.Collateral = "SELL", "skip", 0, 0
		d.Reason = "no position to sell"
	}
	return d
}

// writeVersion1Store writes, with schema version 1's encoder (JSON), a store holding ds, an
// intent and a leader mark, as polybot did before the binary decision record.
func writeVersion1Store(t testing.TB, dir string, ds []Decision) {
	t.Helper()
	db, err := bolt.Open(Path(dir), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range append(allBuckets[:len(allBuckets):len(allBuckets)], bucketLeaders, bucketLeaderFills) {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		meta, b := tx.Bucket(bucketMeta), tx.Bucket(bucketDecisions)
		if err := meta.Put(keyVersion, u64(1)); err != nil {
			return err
		}
		for _, d := range ds {
			seq, _ := b.NextSequence()
			data, err := json.Marshal(legacyOf(d))
			if err != nil {
				return err
			}
			if err := b.Put(append(timeKey(d.Time), u64(seq)...), data); err != nil {
				return err
			}
		}
		if err := meta.Put(keyDecisionsN, u64(uint64(len(ds)))); err != nil {
			return err
		}
		if err := meta.Put(keyCheckpoint, u64(4242)); err != nil {
			return err
		}
		in := intent(1, alice, "1", polymarket.Buy, 10*usdc, 5*usdc)
		in.CreatedAt, in.Status = t0, StatusPending
		if err := put(tx.Bucket(bucketIntents), in.ID.key(), in); err != nil {
			return err
		}
		if err := tx.Bucket(bucketPending).Put(in.ID.key(), nil); err != nil {
			return err
		}
		return tx.Bucket(bucketLeaderFills).Put(id(9).key(), leaderMark{at: t0, before: 77, known: true}.encodeV1())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenMigratesAVersion1Store(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	var want []Decision
	for n := range 3000 {
		want = append(want, realisticDecision(r, t0.Add(time.Duration(n)*time.Second), n))
	}
	want = append(want, everyField(t, 3)) // omitempty fields and all
	want[len(want)-1].Time = t0.Add(time.Hour)
	want[len(want)-1].Chain = nil // schema version 1 never held a chain record
	want[len(want)-1].Attempt = 0 // nor an exit retry's attempt
	writeVersion1Store(t, dir, want)
	before, _ := os.Stat(Path(dir))

	// Read-only (a CLI command against a file the daemon has not migrated yet) reads it as it is.
	ro, err := OpenReadOnly(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ro.Decisions(time.Time{}, 0)
	ro.Close()
	if err != nil || len(got) != len(want) {
		t.Fatalf("read-only open of a version 1 store: %d decisions, %v; want %d", len(got), err, len(want))
	}

	c := &clock{t0.Add(2 * time.Hour)}
	s := openAt(t, dir, c, nil)
	got, err = s.Decisions(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("after migration: %d decisions, want %d", len(got), len(want))
	}
	for i := range want {
		w := want[i]
		w.Time = w.Time.UTC()
		if !reflect.DeepEqual(got[i], w) {
			t.Fatalf("decision %d after migration:\n%+v\nwant\n%+v", i, got[i], w)
		}
	}
	if n, err := s.DecisionCount(); err != nil || n != len(want) {
		t.Errorf("DecisionCount() = %d, %v; want %d", n, err, len(want))
	}
	if cp, ok, err := s.Checkpoint(); err != nil || !ok || cp != 4242 {
		t.Errorf("checkpoint after migration: %d %v %v, want 4242", cp, ok, err)
	}
	if p, err := s.PendingIntents(); err != nil || len(p) != 1 || p[0].ID != id(1) {
		t.Errorf("pending intents after migration: %+v, %v; want intent 1", p, err)
	}
	if before, known, err := s.LeaderPosition(alice, "1", id(9)); err != nil || before != 77 || !known {
		t.Errorf("leader mark after migration: %d %v %v, want 77 known", before, known, err)
	}
	// The file holds no JSON decision any more, and is smaller.
	err = s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keyVersion); !bytes.Equal(v, u64(schemaVersion)) {
			t.Errorf("schema version %x after migration, want %d", v, schemaVersion)
		}
		if k, v := tx.Bucket(bucketLeaderFills).Cursor().First(); len(k) != markKeyLen || v[0]&^1 != markFormat {
			t.Errorf("leader mark %x = %x after migration, want a %d-byte key and a version 2 value", k, v, markKeyLen)
		}
		return tx.Bucket(bucketDecisions).ForEach(func(k, v []byte) error {
			if v[0] != decisionFormatV1 {
				t.Fatalf("decision %x still in the old format: %q", k, v)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(Path(dir))
	if after.Size() >= before.Size()/2 {
		t.Errorf("file of %d bytes after migration, %d before: want less than half", after.Size(), before.Size())
	}
	// New decisions follow the migrated ones, and a restart keeps all.
	if err := s.AppendDecision(realisticDecision(r, c.t, 5)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openAt(t, dir, c, nil)
	defer s.Close()
	if n, err := s.DecisionCount(); err != nil || n != len(want)+1 {
		t.Errorf("after a restart: %d decisions, %v; want %d", n, err, len(want)+1)
	}
	if _, err := os.Stat(Path(dir) + compactSuffix); !os.IsNotExist(err) {
		t.Errorf("the compaction's temporary file is left: %v", err)
	}
}

func TestOpenGivesBackTheSpaceOfPrunedRecords(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t0}
	s := openAt(t, dir, c, nil)
	r := rand.New(rand.NewPCG(3, 4))
	const n = 40_000
	err := s.update(func(tx *bolt.Tx) error {
		for i := range n {
			if err := s.appendDecision(tx, realisticDecision(r, c.t.Add(time.Duration(i)*time.Millisecond), i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// A lower bound in the config: pruning frees most pages, and the file keeps its size.
	s = openAt(t, dir, c, func(o *Options) { o.DecisionsMax = 1000 })
	if _, err := s.Compact(c.t); err != nil {
		t.Fatal(err)
	}
	full, err := s.FileStats()
	if err != nil {
		t.Fatal(err)
	}
	last, _ := s.Decisions(time.Time{}, 1)
	s.Close()
	if full.FileBytes < compactMinSize || full.FreeBytes*2 < full.FileBytes {
		t.Fatalf("after pruning: %+v; the test wants a file of %d bytes or more, mostly free", full, compactMinSize)
	}

	s = openAt(t, dir, c, func(o *Options) { o.DecisionsMax = 1000 })
	defer s.Close()
	small, err := s.FileStats()
	if err != nil {
		t.Fatal(err)
	}
	if small.FileBytes*4 > full.FileBytes {
		t.Errorf("reopened file is %d bytes, %d before: want a quarter or less", small.FileBytes, full.FileBytes)
	}
	got, err := s.Decisions(time.Time{}, 0)
	if err != nil || len(got) != 1000 || !reflect.DeepEqual(got[999], last[0]) {
		t.Errorf("after the copy: %d decisions (%v), the last %+v; want 1000 ending with %+v", len(got), err, got[len(got)-1], last[0])
	}
}

// BenchmarkDecisionBytes appends 100,000 decisions of a soak's mix to a log bounded at
// DefaultDecisionsMax (so that the oldest are deleted as new ones come, as in a running
// polybot) and reports the bytes each kept decision takes on disk: the decisions bucket's pages
// per record, and the whole file per record. The json-v1 case is the format before (JSON
// records on half-full pages).
func BenchmarkDecisionBytes(b *testing.B) {
	const n, keep = 100_000, DefaultDecisionsMax
	for _, format := range []string{"binary", "json-v1"} {
		b.Run(format, func(b *testing.B) {
			for b.Loop() {
				dir := b.TempDir()
				c := &clock{t0.Add(n * time.Millisecond)}
				s, err := Open(Options{Dir: dir, Now: c.now, DecisionsMax: keep})
				if err != nil {
					b.Fatal(err)
				}
				r := rand.New(rand.NewPCG(5, 6))
				for i := 0; i < n; i += 1000 { // group commits of 1000, as under load
					err := s.update(func(tx *bolt.Tx) error {
						for j := i; j < i+1000; j++ {
							d := realisticDecision(r, t0.Add(time.Duration(j)*time.Millisecond), j)
							if format == "binary" {
								if err := s.appendDecision(tx, d); err != nil {
									return err
								}
								continue
							}
							bk := tx.Bucket(bucketDecisions)
							seq, _ := bk.NextSequence()
							if err := put(bk, append(timeKey(d.Time), u64(seq)...), legacyOf(d)); err != nil {
								return err
							}
							if j >= keep {
								k, _ := bk.Cursor().First()
								if err := bk.Delete(k); err != nil {
									return err
								}
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				var st bolt.BucketStats
				_ = s.db.View(func(tx *bolt.Tx) error { st = tx.Bucket(bucketDecisions).Stats(); return nil })
				fs, _ := s.FileStats()
				s.Close()
				if st.KeyN != keep {
					b.Fatalf("%d decisions kept, want %d", st.KeyN, keep)
				}
				b.ReportMetric(float64(st.BranchAlloc+st.LeafAlloc)/keep, "bucket-B/decision")
				b.ReportMetric(float64(st.LeafInuse)/float64(st.LeafAlloc), "page-fill")
				b.ReportMetric(float64(fs.FileBytes)/keep, "file-B/decision")
			}
		})
	}
}

// A copy that cannot be written (here: its path is taken by a directory, as a full disk would
// fail it) leaves polybot running on the old file, every record readable, and is tried again at
// the next start.
func TestAFailedMigrationRunsOnTheOldFile(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(7, 8))
	var want []Decision
	for n := range 100 {
		want = append(want, realisticDecision(r, t0.Add(time.Duration(n)*time.Second), n))
	}
	writeVersion1Store(t, dir, want)
	if err := os.MkdirAll(filepath.Join(Path(dir)+compactSuffix, "taken"), 0o700); err != nil {
		t.Fatal(err)
	}
	c := &clock{t0.Add(time.Hour)}
	s := openAt(t, dir, c, nil)
	if oc := s.OpenCompaction(); oc.Err == nil || !oc.Migrated {
		t.Fatalf("OpenCompaction() = %+v, want the failed migration's error", oc)
	}
	next := realisticDecision(r, c.t, 200)
	if err := s.AppendDecision(next); err != nil {
		t.Fatal(err)
	}
	got, err := s.Decisions(time.Time{}, 0)
	if err != nil || len(got) != len(want)+1 || !reflect.DeepEqual(got[len(want)], next) {
		t.Fatalf("on the old file: %d decisions (%v), want %d with the new one last", len(got), err, len(want)+1)
	}
	if before, known, err := s.LeaderPosition(alice, "1", id(9)); err != nil || before != 77 || !known {
		t.Errorf("version 1 leader mark on the old file: %d %v %v, want 77 known", before, known, err)
	}
	s.Close()

	if err := os.RemoveAll(Path(dir) + compactSuffix); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, dir, c, nil)
	defer s.Close()
	if oc := s.OpenCompaction(); oc.Err != nil || !oc.Migrated || oc.After >= oc.Before {
		t.Errorf("OpenCompaction() at the next start = %+v, want a migration that shrank the file", oc)
	}
	if got, err := s.Decisions(time.Time{}, 0); err != nil || len(got) != len(want)+1 {
		t.Errorf("after the migration: %d decisions (%v), want %d", len(got), err, len(want)+1)
	}
}

func TestFileStatsCountsTheDataNotTheFile(t *testing.T) {
	s, c := tempStore(t)
	defer s.Close()
	empty, err := s.FileStats()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 10))
	err = s.update(func(tx *bolt.Tx) error {
		for i := range 5000 {
			if err := s.appendDecision(tx, realisticDecision(r, c.t.Add(time.Duration(i)*time.Millisecond), i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	full, err := s.FileStats()
	if err != nil {
		t.Fatal(err)
	}
	// 5,000 decisions of about 150 B: about 0.75 MB more data, within a file bbolt grew ahead.
	if grew := full.LiveBytes - empty.LiveBytes; grew < 500_000 || grew > 1_500_000 {
		t.Errorf("live data grew by %d bytes for 5,000 decisions, want about 750,000 (%+v → %+v)", grew, empty, full)
	}
	if full.LiveBytes > full.FileBytes {
		t.Errorf("live %d > file %d", full.LiveBytes, full.FileBytes)
	}
}
