package dedup

import (
	"encoding/binary"
	"runtime"
	"sync"
	"testing"

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

func BenchmarkSeenNewAtCapacity(b *testing.B) {
	c := fullCache(b)
	next := uint64(DefaultCapacity)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if c.Seen(seqKey(next)) {
			b.Fatal("new key reported as duplicate")
		}
		next++
	}
}

func BenchmarkSeenDuplicate(b *testing.B) {
	c := fullCache(b)
	i := uint64(0)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if !c.Seen(seqKey(i)) {
			b.Fatal("cached key not reported as duplicate")
		}
		i = (i + 1) % DefaultCapacity
	}
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
	for b.Loop() {
		expirableLRU.Add(seqKey(expirableNext), struct{}{})
		expirableNext++
	}
}

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
// filled with 50,000 entries ("B/entry") and after 4 × 50,000 further
// inserts ("B/entry-churned"), the state a long-running polybot is in.
func BenchmarkBytesPerEntry(b *testing.B) {
	var fresh, churned float64
	rounds := 0
	for b.Loop() {
		f, c1 := heapPerEntry(b, DefaultCapacity, 0)
		runtime.KeepAlive(c1)
		c, c2 := heapPerEntry(b, DefaultCapacity, 4)
		runtime.KeepAlive(c2)
		fresh += f
		churned += c
		rounds++
	}
	b.ReportMetric(fresh/float64(rounds), "B/entry")
	b.ReportMetric(churned/float64(rounds), "B/entry-churned")
}
