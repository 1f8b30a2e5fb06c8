package dedup

import (
	"encoding/binary"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
)

// seqKey returns a distinct key for every i.
func seqKey(i uint64) Key {
	var k Key
	binary.LittleEndian.PutUint64(k[:8], i)
	binary.BigEndian.PutUint64(k[8:], i*0x9e3779b97f4a7c15)
	return k
}

// fullCache returns a default cache on the system clock holding
// DefaultCapacity entries, keys seqKey(0..DefaultCapacity-1).
func fullCache(tb testing.TB) *Cache {
	tb.Helper()
	c, err := New(Options{})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range uint64(DefaultCapacity) {
		c.Seen(seqKey(i))
	}
	return c
}

// processCPU returns the CPU time the process has used, user and system,
// garbage collection included.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process CPU time per operation since start
// ("cpu-ns/op"). On a shared machine ns/op counts the time other processes
// hold the core; cpu-ns/op does not. Run with -cpu 1 for the cost on one
// core.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
}

func BenchmarkSeenNewAtCapacity(b *testing.B) {
	c := fullCache(b)
	next := uint64(DefaultCapacity)
	b.ReportAllocs()
	b.ResetTimer()
	start := processCPU(b)
	for b.Loop() {
		if c.Seen(seqKey(next)) {
			b.Fatal("new key reported as duplicate")
		}
		next++
	}
	reportCPU(b, start)
}

func BenchmarkSeenDuplicate(b *testing.B) {
	c := fullCache(b)
	i := uint64(0)
	b.ReportAllocs()
	b.ResetTimer()
	start := processCPU(b)
	for b.Loop() {
		if !c.Seen(seqKey(i)) {
			b.Fatal("cached key not reported as duplicate")
		}
		i = (i + 1) % DefaultCapacity
	}
	reportCPU(b, start)
}

// BenchmarkSeenNewPause times each Seen of a new key into a full cache
// separately and reports the slowest ("max-µs") and the 99.99th percentile
// ("p99.99-µs"): the cache never stops to rebuild or evict in bulk, so the
// slowest insert is a map table split or a new generation, tens of µs, not
// milliseconds. Scheduling noise on a shared machine shows up here too.
func BenchmarkSeenNewPause(b *testing.B) {
	c := fullCache(b)
	next := uint64(DefaultCapacity)
	lat := make([]time.Duration, 0, 1<<20)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		c.Seen(seqKey(next))
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(t0))
		}
		next++
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds())/1e3, "max-µs")
	b.ReportMetric(float64(lat[len(lat)*9999/10000].Nanoseconds())/1e3, "p99.99-µs")
}

// expirable's cache starts a goroutine that never exits, so the benchmark
// builds one per process and reuses it across b.N rounds.
var (
	expirableOnce sync.Once
	expirableLRU  *expirable.LRU[Key, struct{}]
	expirableNext uint64
)

// BenchmarkExpirableAddAtCapacity is the comparison: golang-lru's expirable
// cache with the same capacity, TTL and keys.
func BenchmarkExpirableAddAtCapacity(b *testing.B) {
	expirableOnce.Do(func() {
		expirableLRU = expirable.NewLRU[Key, struct{}](DefaultCapacity, nil, DefaultTTL)
		for ; expirableNext < DefaultCapacity; expirableNext++ {
			expirableLRU.Add(seqKey(expirableNext), struct{}{})
		}
	})
	b.ReportAllocs()
	b.ResetTimer()
	start := processCPU(b)
	for b.Loop() {
		expirableLRU.Add(seqKey(expirableNext), struct{}{})
		expirableNext++
	}
	reportCPU(b, start)
}

// BenchmarkExpirableBytesPerEntry is the memory comparison: the heap per
// entry of golang-lru's expirable cache holding DefaultCapacity entries
// after four capacities of churn. Its goroutine cannot be stopped, so a
// single cache is built per process.
func BenchmarkExpirableBytesPerEntry(b *testing.B) {
	var perEntry float64
	expirableMemOnce.Do(func() {
		before := heapAlloc()
		expirableMem = expirable.NewLRU[Key, struct{}](DefaultCapacity, nil, DefaultTTL)
		for i := range uint64(5 * DefaultCapacity) {
			expirableMem.Add(seqKey(i), struct{}{})
		}
		expirableMemPerEntry = float64(heapAlloc()-before) / DefaultCapacity
	})
	for b.Loop() {
		perEntry = expirableMemPerEntry
	}
	b.ReportMetric(perEntry, "B/entry-churned")
}

var (
	expirableMemOnce     sync.Once
	expirableMem         *expirable.LRU[Key, struct{}]
	expirableMemPerEntry float64
)

// heapAlloc returns the live heap after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// churnedCache returns a default-options cache with the given capacity,
// filled with capacity keys and then given churn × capacity more inserts,
// each evicting the oldest entry as polybot's steady state does.
func churnedCache(tb testing.TB, capacity, churn int) *Cache {
	tb.Helper()
	c, err := New(Options{Capacity: capacity})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range uint64((1 + churn) * capacity) {
		c.Seen(seqKey(i))
	}
	return c
}

// heapPerEntry returns the heap growth, per entry, of building a cache
// with churnedCache, and the cache.
func heapPerEntry(tb testing.TB, capacity, churn int) (float64, *Cache) {
	tb.Helper()
	before := heapAlloc()
	c := churnedCache(tb, capacity, churn)
	after := heapAlloc()
	return float64(int64(after)-int64(before)) / float64(capacity), c
}

// BenchmarkBytesPerEntry reports the heap per entry of a default cache just
// filled with 50,000 entries ("B/entry"), and after four capacities of
// further inserts, each evicting the oldest entry as in polybot's steady
// state: averaged over eight points spread across one generation
// ("B/entry-churned") and the largest of them ("B/entry-churned-max",
// just before a new generation starts, when the oldest generation's map is
// nearly empty but not yet dropped).
func BenchmarkBytesPerEntry(b *testing.B) {
	var fresh, churned, churnedMax float64
	rounds, points := 0, 0
	for b.Loop() {
		f, c := heapPerEntry(b, DefaultCapacity, 0)
		runtime.KeepAlive(c)
		fresh += f
		rounds++
		for j := range 8 {
			extra := (j+1)*(DefaultCapacity/generations)/8 - 1
			before := heapAlloc()
			c := churnedCache(b, DefaultCapacity, 4)
			for i := range uint64(extra) {
				c.Seen(seqKey(5*DefaultCapacity + i))
			}
			per := float64(int64(heapAlloc())-int64(before)) / DefaultCapacity
			runtime.KeepAlive(c)
			churned += per
			churnedMax = max(churnedMax, per)
			points++
		}
	}
	b.ReportMetric(fresh/float64(rounds), "B/entry")
	b.ReportMetric(churned/float64(points), "B/entry-churned")
	b.ReportMetric(churnedMax, "B/entry-churned-max")
}
