package dedup

import (
	"fmt"
	"math/big"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// BenchmarkExpirableAddAtCapacity starts golang-lru's expirable cache,
	// whose cleanup goroutine can never be stopped; it is the one goroutine
	// allowed to outlive the run.
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/hashicorp/golang-lru/v2/expirable.NewLRU[...].func1"))
}

// newTestCache returns a cache on a simulated clock.
func newTestCache(t *testing.T, capacity int, ttl time.Duration) (*Cache, *mclock.Simulated) {
	t.Helper()
	clock := new(mclock.Simulated)
	c, err := New(Options{Capacity: capacity, TTL: ttl, Clock: clock})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, clock
}

// seenAll calls Seen for each key and returns the results.
func seenAll(c *Cache, keys ...Key) []bool {
	got := make([]bool, len(keys))
	for i, k := range keys {
		got[i] = c.Seen(k)
	}
	return got
}

func TestNewValidatesOptions(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		wantErr   string
		wantCap   int
		wantTTL   time.Duration
		wantClock bool // the given simulated clock is used
	}{
		{name: "zero options select the defaults", opts: Options{}, wantCap: DefaultCapacity, wantTTL: DefaultTTL},
		{name: "explicit values are kept", opts: Options{Capacity: 7, TTL: time.Minute}, wantCap: 7, wantTTL: time.Minute},
		{name: "negative capacity is rejected", opts: Options{Capacity: -1}, wantErr: "Options.Capacity is -1"},
		{name: "negative TTL is rejected", opts: Options{TTL: -time.Second}, wantErr: "Options.TTL is -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := new(mclock.Simulated)
			tt.opts.Clock = clock
			c, err := New(tt.opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New(%+v) error = %v, want one containing %q", tt.opts, err, tt.wantErr)
				}
				if c != nil {
					t.Fatalf("New returned a cache along with an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if got := c.Stats().Capacity; got != tt.wantCap {
				t.Errorf("Capacity = %d, want %d", got, tt.wantCap)
			}
			k := KeyOf(common.Hash{1}, 0)
			c.Seen(k)
			clock.Run(tt.wantTTL - 1)
			if !c.Seen(k) {
				t.Errorf("entry expired before the TTL %v", tt.wantTTL)
			}
			clock.Run(1)
			if c.Seen(k) {
				t.Errorf("entry still a duplicate at the TTL %v", tt.wantTTL)
			}
		})
	}
}

func TestKeyOf(t *testing.T) {
	tx1 := common.HexToHash("0x8f1c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8")
	tx2 := common.HexToHash("0x1111111111111111111111111111111111111111111111111111111111111111")
	tests := []struct {
		name      string
		a, b      Key
		wantEqual bool
	}{
		{"the same log gives the same key", KeyOf(tx1, 3), KeyOf(tx1, 3), true},
		{"two logs of one transaction differ", KeyOf(tx1, 3), KeyOf(tx1, 4), false},
		{"log indexes above 255 stay distinct", KeyOf(tx1, 1), KeyOf(tx1, 257), false},
		{"the same index in two transactions differs", KeyOf(tx1, 0), KeyOf(tx2, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a == tt.b; got != tt.wantEqual {
				t.Errorf("%x == %x is %v, want %v", tt.a, tt.b, got, tt.wantEqual)
			}
		})
	}
}

func TestEvictsOldestOneAtATimeAtCapacity(t *testing.T) {
	c, _ := newTestCache(t, 3, time.Hour)
	a, b, d, e := seqKey(1), seqKey(2), seqKey(3), seqKey(4)

	if got := seenAll(c, a, b, d); got[0] || got[1] || got[2] {
		t.Fatalf("first sightings reported as duplicates: %v", got)
	}
	if s := c.Stats(); s.Size != 3 || s.Evictions != 0 {
		t.Fatalf("after filling: Size %d Evictions %d, want 3 and 0", s.Size, s.Evictions)
	}

	c.Seen(e) // full: evicts a, the oldest, and nothing else
	if s := c.Stats(); s.Size != 3 || s.Evictions != 1 {
		t.Fatalf("after one insert at capacity: Size %d Evictions %d, want 3 and 1", s.Size, s.Evictions)
	}
	// b is the oldest now; a hit on it must not make it younger.
	if got := seenAll(c, e, d, b); !got[0] || !got[1] || !got[2] {
		t.Fatalf("the three newest keys should be duplicates, got %v", got)
	}
	if c.Seen(a) {
		t.Fatal("evicted key a reported as a duplicate")
	}
	// Re-adding a evicted b (the oldest despite its hit), not d or e.
	if got := seenAll(c, e, d); !got[0] || !got[1] {
		t.Fatalf("d and e should still be duplicates, got %v", got)
	}
	if c.Seen(b) {
		t.Fatal("b should have been evicted as the oldest entry")
	}
	if s := c.Stats(); s.Size != 3 || s.Evictions != 3 {
		t.Errorf("Size %d Evictions %d, want 3 and 3", s.Size, s.Evictions)
	}
}

func TestTTLExpiry(t *testing.T) {
	const ttl = 30 * time.Minute
	tests := []struct {
		name            string
		after           time.Duration
		wantDuplicate   bool
		wantExpirations uint64
	}{
		{"at once it is a duplicate", 0, true, 0},
		{"one nanosecond before the TTL it is a duplicate", ttl - time.Nanosecond, true, 0},
		{"at the TTL it is new again", ttl, false, 1},
		{"a day later it is new again", 24 * time.Hour, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, clock := newTestCache(t, 10, ttl)
			k := KeyOf(common.Hash{0xab}, 7)
			c.Seen(k)
			clock.Run(tt.after)
			if got := c.Seen(k); got != tt.wantDuplicate {
				t.Fatalf("Seen after %v = %v, want %v", tt.after, got, tt.wantDuplicate)
			}
			s := c.Stats()
			if s.Expirations != tt.wantExpirations || s.Size != 1 {
				t.Errorf("Expirations %d Size %d, want %d and 1", s.Expirations, s.Size, tt.wantExpirations)
			}
		})
	}
}

func TestDuplicateDoesNotExtendTTL(t *testing.T) {
	c, clock := newTestCache(t, 10, time.Minute)
	k := seqKey(1)
	c.Seen(k)
	clock.Run(50 * time.Second)
	if !c.Seen(k) {
		t.Fatal("not a duplicate within the TTL")
	}
	clock.Run(10 * time.Second) // 60 s after the first sighting, 10 s after the hit
	if c.Seen(k) {
		t.Fatal("a hit renewed the entry: it should expire one TTL after it was first seen")
	}
}

func TestStatsCounts(t *testing.T) {
	c, clock := newTestCache(t, 3, time.Minute)
	seenAll(c, seqKey(1), seqKey(2), seqKey(1)) // miss, miss, hit
	clock.Run(30 * time.Second)
	seenAll(c, seqKey(3), seqKey(4), seqKey(2)) // miss, miss (evicts 1), hit
	clock.Run(30 * time.Second)                 // 2 expires now; 3 and 4 are 30 s old
	seenAll(c, seqKey(5), seqKey(3))            // miss (sweeps 2), hit
	c.Forget(seqKey(4))

	want := Stats{
		Size: 2, Capacity: 3,
		Hits: 3, Misses: 5, Evictions: 1, Expirations: 1,
		EstimatedBytes: 2 * BytesPerEntry,
	}
	if got := c.Stats(); got != want {
		t.Errorf("Stats() = %+v\nwant      %+v", got, want)
	}
}

func TestSweep(t *testing.T) {
	c, clock := newTestCache(t, 10, time.Minute)
	seenAll(c, seqKey(1), seqKey(2), seqKey(3))
	clock.Run(20 * time.Second)
	seenAll(c, seqKey(4), seqKey(5))
	clock.Run(40 * time.Second) // the first three are exactly one TTL old

	if n := c.Sweep(); n != 3 {
		t.Fatalf("Sweep() = %d, want 3", n)
	}
	if n := c.Sweep(); n != 0 {
		t.Fatalf("second Sweep() = %d, want 0", n)
	}
	s := c.Stats()
	if s.Size != 2 || s.Expirations != 3 {
		t.Errorf("Size %d Expirations %d, want 2 and 3", s.Size, s.Expirations)
	}
	if got := seenAll(c, seqKey(4), seqKey(5)); !got[0] || !got[1] {
		t.Errorf("unexpired entries were swept: %v", got)
	}
}

func TestInsertSweepsExpiredEntries(t *testing.T) {
	c, clock := newTestCache(t, 100, time.Minute)
	for i := range uint64(50) {
		c.Seen(seqKey(i))
	}
	clock.Run(time.Minute)
	c.Seen(seqKey(1000))
	if s := c.Stats(); s.Size != 1 || s.Expirations != 50 {
		t.Errorf("after one insert past the TTL: Size %d Expirations %d, want 1 and 50", s.Size, s.Expirations)
	}
}

func TestForget(t *testing.T) {
	c, _ := newTestCache(t, 10, time.Hour)
	removed := KeyOf(common.Hash{0x42}, 1)
	kept := KeyOf(common.Hash{0x42}, 2)
	seenAll(c, removed, kept)
	c.Forget(removed)
	c.Forget(seqKey(99)) // absent: no effect
	if c.Seen(removed) {
		t.Error("a forgotten log is still a duplicate")
	}
	if !c.Seen(kept) {
		t.Error("Forget removed another log of the same transaction")
	}
}

func TestResize(t *testing.T) {
	keys := func(from, to uint64) []Key {
		var ks []Key
		for i := from; i <= to; i++ {
			ks = append(ks, seqKey(i))
		}
		return ks
	}
	tests := []struct {
		name          string
		capacity      int
		ttl           time.Duration
		wantSize      int
		wantEvictions uint64
		wantKept      []Key // still duplicates, newest entries
		wantGone      []Key
	}{
		{"shrinking keeps the newest entries", 2, time.Hour, 2, 3, keys(4, 5), keys(1, 3)},
		{"growing keeps every entry", 8, time.Hour, 5, 0, keys(1, 5), nil},
		{"the same size keeps every entry", 5, time.Hour, 5, 0, keys(1, 5), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestCache(t, 5, time.Hour)
			seenAll(c, keys(1, 5)...)
			if err := c.Resize(tt.capacity, tt.ttl); err != nil {
				t.Fatalf("Resize: %v", err)
			}
			s := c.Stats()
			if s.Size != tt.wantSize || s.Capacity != tt.capacity || s.Evictions != tt.wantEvictions {
				t.Fatalf("Size %d Capacity %d Evictions %d, want %d %d %d",
					s.Size, s.Capacity, s.Evictions, tt.wantSize, tt.capacity, tt.wantEvictions)
			}
			for i, k := range tt.wantKept {
				if !c.Seen(k) {
					t.Errorf("kept key %d is not a duplicate", i)
				}
			}
			// Fill to the new capacity; nothing kept may be evicted first.
			for i := range uint64(tt.capacity - s.Size) {
				c.Seen(seqKey(100 + i))
			}
			if got := c.Stats().Size; got != tt.capacity {
				t.Errorf("cache holds %d after filling, want the new capacity %d", got, tt.capacity)
			}
			for i, k := range tt.wantGone {
				if c.Seen(k) {
					t.Errorf("dropped key %d is still a duplicate", i)
				}
			}
		})
	}
}

func TestResizeShrinkKeepsEvictionOrder(t *testing.T) {
	c, _ := newTestCache(t, 5, time.Hour)
	seenAll(c, seqKey(1), seqKey(2), seqKey(3), seqKey(4), seqKey(5))
	if err := c.Resize(3, time.Hour); err != nil {
		t.Fatal(err)
	}
	c.Seen(seqKey(6)) // must evict 3, the oldest survivor
	if got := seenAll(c, seqKey(6), seqKey(5), seqKey(4)); !got[0] || !got[1] || !got[2] {
		t.Fatalf("newest entries lost after shrink and insert: %v", got)
	}
	if c.Seen(seqKey(3)) {
		t.Error("after a shrink the oldest survivor was not the first evicted")
	}
}

func TestResizeTTL(t *testing.T) {
	c, clock := newTestCache(t, 10, time.Hour)
	c.Seen(seqKey(1))
	clock.Run(20 * time.Minute)
	c.Seen(seqKey(2))
	clock.Run(5 * time.Minute)
	if err := c.Resize(10, 10*time.Minute); err != nil { // 1 is 25 min old, 2 is 5 min old
		t.Fatal(err)
	}
	if s := c.Stats(); s.Size != 1 || s.Expirations != 1 {
		t.Fatalf("Size %d Expirations %d, want 1 and 1", s.Size, s.Expirations)
	}
	clock.Run(5 * time.Minute)
	if c.Seen(seqKey(2)) {
		t.Error("the shorter TTL was not applied to an existing entry")
	}
}

func TestResizeRejectsInvalidArguments(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		ttl      time.Duration
		wantErr  string
	}{
		{"zero capacity", 0, time.Minute, "capacity is 0"},
		{"negative capacity", -5, time.Minute, "capacity is -5"},
		{"zero TTL", 10, 0, "ttl is 0s"},
		{"negative TTL", 10, -time.Minute, "ttl is -1m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestCache(t, 3, time.Hour)
			seenAll(c, seqKey(1), seqKey(2), seqKey(3))
			err := c.Resize(tt.capacity, tt.ttl)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Resize(%d, %v) error = %v, want one containing %q", tt.capacity, tt.ttl, err, tt.wantErr)
			}
			if s := c.Stats(); s.Size != 3 || s.Capacity != 3 {
				t.Errorf("a failed Resize changed the cache: Size %d Capacity %d", s.Size, s.Capacity)
			}
			if !c.Seen(seqKey(1)) {
				t.Error("a failed Resize dropped an entry")
			}
		})
	}
}

func TestConcurrentSeen(t *testing.T) {
	const (
		workers = 8
		keys    = 2000
	)
	c, _ := newTestCache(t, keys, time.Hour)
	var firsts [keys]atomic.Int32 // how often Seen reported each key as new
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range keys {
				k := (i + w*keys/workers) % keys // workers start at different keys
				if !c.Seen(seqKey(uint64(k))) {
					firsts[k].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for k := range firsts {
		if n := firsts[k].Load(); n != 1 {
			t.Fatalf("key %d reported new %d times, want exactly once", k, n)
		}
	}
	want := Stats{Size: keys, Capacity: keys, Hits: (workers - 1) * keys, Misses: keys, EstimatedBytes: keys * BytesPerEntry}
	if got := c.Stats(); got != want {
		t.Errorf("Stats() = %+v\nwant      %+v", got, want)
	}
}

// wallClock derives its readings from a wall-clock time that can be stepped,
// like time.Now().UnixNano() when NTP corrects the system clock. It shows
// what the cache would do if it measured age on the wall clock.
type wallClock struct {
	*mclock.Simulated
	wall time.Time
}

func (w *wallClock) Now() mclock.AbsTime { return mclock.AbsTime(w.wall.UnixNano()) }

func TestWallClockJumpDoesNotExpireEntriesEarly(t *testing.T) {
	const (
		ttl     = 30 * time.Minute
		elapsed = time.Minute // real time between the two sightings
		jump    = time.Hour   // the wall clock is stepped forward meanwhile
	)
	tests := []struct {
		name          string
		monotonic     bool
		wantDuplicate bool
	}{
		{"with the monotonic clock the entry is still a duplicate", true, true},
		{"a wall clock would expire the entry after one minute", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mono := new(mclock.Simulated)
			wall := &wallClock{Simulated: mono, wall: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
			var clock mclock.Clock = wall
			if tt.monotonic {
				clock = mono
			}
			c, err := New(Options{TTL: ttl, Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			k := KeyOf(common.Hash{9}, 0)
			c.Seen(k)
			mono.Run(elapsed)
			wall.wall = wall.wall.Add(elapsed + jump)
			if got := c.Seen(k); got != tt.wantDuplicate {
				t.Errorf("Seen after %v of real time and a %v wall-clock jump = %v, want %v", elapsed, jump, got, tt.wantDuplicate)
			}
		})
	}
}

func TestMemoryStaysBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("inserts a million keys")
	}
	tests := []struct {
		name     string
		capacity int
		inserts  int
	}{
		{"1,000,000 inserts into the default 50,000", DefaultCapacity, 1_000_000},
		{"128 capacities of churn through 5,000", 5_000, 128 * 5_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			full, c := heapPerEntry(t, tt.capacity, 0)
			runtime.KeepAlive(c)
			churned, c := heapPerEntry(t, tt.capacity, tt.inserts/tt.capacity-1)
			runtime.KeepAlive(c)
			if s := c.Stats(); s.Size != tt.capacity || s.Evictions != uint64(tt.inserts-tt.capacity) {
				t.Fatalf("Size %d Evictions %d, want %d and %d", s.Size, s.Evictions, tt.capacity, tt.inserts-tt.capacity)
			}
			t.Logf("heap per entry: %.1f B just filled, %.1f B after %d inserts", full, churned, tt.inserts)
			if churned > 1.5*full {
				t.Errorf("heap per entry grew from %.1f B when filled to %.1f B after %d inserts; want < 1.5×",
					full, churned, tt.inserts)
			}
		})
	}
}

func TestEstimatedBytesMatchesHeap(t *testing.T) {
	tests := []struct {
		name    string
		inserts int // in total, from empty
	}{
		{"just filled", DefaultCapacity},
		{"after four capacities of churn", 5 * DefaultCapacity},
		// Mid-way through a generation: the oldest generation is partly
		// drained but keeps its whole map, the active one is half full.
		{"after churn, mid-generation", 5*DefaultCapacity + DefaultCapacity/generations/2 + 7},
		{"after churn, just before a new generation", 5*DefaultCapacity + DefaultCapacity/generations - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := heapAlloc()
			c, err := New(Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range uint64(tt.inserts) {
				c.Seen(seqKey(i))
			}
			measured := float64(int64(heapAlloc()) - int64(before))
			s := c.Stats()
			t.Logf("EstimatedBytes %d, measured %.0f (%.1f B/entry)", s.EstimatedBytes, measured, measured/float64(s.Size))
			if est := float64(s.EstimatedBytes); est < 0.8*measured || est > 1.2*measured {
				t.Errorf("EstimatedBytes %d is not within ±20%% of the measured heap %.0f", s.EstimatedBytes, measured)
			}
		})
	}
}

func TestEvictsOneAtATimeAcrossGenerations(t *testing.T) {
	const capacity = 2 * generations // two inserts per generation
	c, _ := newTestCache(t, capacity, time.Hour)
	for i := range uint64(10 * capacity) {
		c.Seen(seqKey(i))
		s := c.Stats()
		if want := min(int(i)+1, capacity); s.Size != want {
			t.Fatalf("after insert %d: Size %d, want %d", i, s.Size, want)
		}
		if want := uint64(max(int(i)+1-capacity, 0)); s.Evictions != want {
			t.Fatalf("after insert %d: Evictions %d, want %d: eviction is not one entry per insert", i, s.Evictions, want)
		}
	}
	// Exactly the newest capacity keys remain. Check the oldest survivor
	// last: each miss inserts a key and evicts the then-oldest entry.
	for i := uint64(10*capacity - 1); i >= 9*capacity; i-- {
		if !c.Seen(seqKey(i)) {
			t.Fatalf("key %d, among the %d newest, is not a duplicate", i, capacity)
		}
	}
	if c.Seen(seqKey(9*capacity - 1)) {
		t.Error("the newest evicted key is still a duplicate")
	}
	if got := len(c.gens); got > generations+1 {
		t.Errorf("%d generations for a full cache, want at most %d", got, generations+1)
	}
}

func TestEmptyGenerationsAreDropped(t *testing.T) {
	const capacity = 2 * generations // keys 2i and 2i+1 make generation i
	c, clock := newTestCache(t, capacity, time.Minute)
	for i := range uint64(capacity) {
		c.Seen(seqKey(i))
	}
	// Forget every entry of a middle generation: it must go, its map with it.
	before := len(c.gens)
	c.Forget(seqKey(4))
	c.Forget(seqKey(5))
	if got := len(c.gens); got != before-1 {
		t.Errorf("emptying a generation with Forget left %d generations, want %d", got, before-1)
	}
	if !c.Seen(seqKey(3)) || !c.Seen(seqKey(6)) {
		t.Error("Forget of one generation's keys dropped a neighbour's")
	}
	clock.Run(time.Minute)
	if n := c.Sweep(); n != capacity-2 {
		t.Errorf("Sweep removed %d, want %d", n, capacity-2)
	}
	if got := len(c.gens); got != 1 {
		t.Errorf("%d generations after everything expired, want only the active one", got)
	}
	if c.Seen(seqKey(0)) {
		t.Error("an expired key is a duplicate")
	}
}

func TestResizeAcrossGenerations(t *testing.T) {
	c, _ := newTestCache(t, 16, time.Hour)
	for i := range uint64(16) {
		c.Seen(seqKey(i))
	}
	if err := c.Resize(160, time.Hour); err != nil {
		t.Fatal(err)
	}
	for i := uint64(16); i < 160; i++ {
		c.Seen(seqKey(i))
	}
	if s := c.Stats(); s.Size != 160 || s.Evictions != 0 {
		t.Fatalf("after growing to 160 and filling: Size %d Evictions %d, want 160 and 0", s.Size, s.Evictions)
	}
	for i := range uint64(160) {
		if !c.Seen(seqKey(i)) {
			t.Fatalf("key %d lost after growing the cache", i)
		}
	}
	if err := c.Resize(10, time.Hour); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Size != 10 || s.Evictions != 150 {
		t.Fatalf("after shrinking to 10: Size %d Evictions %d, want 10 and 150", s.Size, s.Evictions)
	}
	for i := uint64(150); i < 160; i++ {
		if !c.Seen(seqKey(i)) {
			t.Fatalf("key %d, among the 10 newest, lost when shrinking", i)
		}
	}
}

func ExampleCache() {
	cache, err := New(Options{Capacity: 50_000, TTL: 30 * time.Minute})
	if err != nil {
		fmt.Println(err)
		return
	}
	tx := common.HexToHash("0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060")

	// The monitor handles a log only the first time it sees it.
	for _, logIndex := range []uint{0, 1, 0} {
		if cache.Seen(KeyOf(tx, logIndex)) {
			fmt.Println("log", logIndex, "dropped: already handled")
			continue
		}
		fmt.Println("log", logIndex, "handled")
	}

	// A reorg removed log 1: forget it so its re-inclusion is handled.
	cache.Forget(KeyOf(tx, 1))
	fmt.Println("log 1 duplicate after reorg:", cache.Seen(KeyOf(tx, 1)))

	s := cache.Stats()
	fmt.Printf("size %d, hits %d, misses %d\n", s.Size, s.Hits, s.Misses)
	// Output:
	// log 0 handled
	// log 1 handled
	// log 0 dropped: already handled
	// log 1 duplicate after reorg: false
	// size 2, hits 1, misses 3
}

func TestKeyOfUsesTheWholeHash(t *testing.T) {
	// Hashes that differ only in their last bytes (a test chain's small numbers) are distinct logs.
	a := KeyOf(common.BigToHash(big.NewInt(1)), 0)
	b := KeyOf(common.BigToHash(big.NewInt(2)), 0)
	c := KeyOf(common.BigToHash(big.NewInt(1)), 1)
	if a == b || a == c {
		t.Fatalf("distinct logs share a key: %x %x %x", a, b, c)
	}
}

// TestContainsProbesAFullCacheWithoutEvicting fills a cache to capacity and probes it with
// Contains for every entry and for as many absent keys: all entries survive (each is still a
// duplicate afterwards), nothing is counted, and an entry older than the TTL is reported absent.
// A probe through Seen and Forget would have evicted one real entry per absent key.
func TestContainsProbesAFullCacheWithoutEvicting(t *testing.T) {
	const capacity = 64
	clock := new(mclock.Simulated)
	c, err := New(Options{Capacity: capacity, TTL: time.Hour, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	key := func(i int) Key { return KeyOf(common.BigToHash(big.NewInt(int64(i+1))), 7) }
	for i := range capacity {
		if c.Seen(key(i)) {
			t.Fatalf("key %d seen before it was added", i)
		}
	}
	before := c.Stats()
	for i := range capacity {
		if !c.Contains(key(i)) {
			t.Errorf("Contains(key %d) = false for an entry of the full cache", i)
		}
		if c.Contains(key(capacity + i)) {
			t.Errorf("Contains(absent key %d) = true", capacity+i)
		}
	}
	if after := c.Stats(); after != before {
		t.Fatalf("Contains changed the cache: stats %+v -> %+v", before, after)
	}
	for i := range capacity {
		if !c.Seen(key(i)) {
			t.Errorf("entry %d was lost by the probes of a full cache", i)
		}
	}

	clock.Run(time.Hour)
	if c.Contains(key(0)) {
		t.Error("Contains reports an entry that is a TTL old")
	}
	if got := c.Stats().Size; got != capacity {
		t.Errorf("size after probing an expired entry = %d, want %d: Contains must not remove", got, capacity)
	}
	if c.Seen(key(0)) {
		t.Error("an expired entry is still a duplicate for Seen")
	}
}
