package dedup

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Defaults used by New for zero-valued Options fields.
const (
	DefaultCapacity = 50_000
	DefaultTTL      = 30 * time.Minute
)

// BytesPerEntry is the heap cost of one cached log, used for
// Stats.EstimatedBytes. BenchmarkBytesPerEntry measures it (go test -run xxx
// -bench BytesPerEntry ./internal/dedup/; Go 1.26.8, linux/amd64) as the
// HeapAlloc difference, after runtime.GC, across building a default cache,
// divided by its 50,000 entries: 115 B just filled, 150 B once inserts at
// capacity have churned the map (see rebuild). BytesPerEntry is the
// midpoint, so the estimate is within ±15% in both states. An entry is
// simplelru's list element (80 B size class: list links, the 16-byte Key,
// the mclock.AbsTime value and simplelru's unused ExpiresAt and
// ExpireBucket) plus its share of the Go map. The fixed cost of an empty
// cache (a few hundred bytes) is left out.
const BytesPerEntry = 132

// Key identifies one chain log: 12 bytes of its transaction hash and its
// 4-byte log index. Build it with KeyOf.
type Key [16]byte

// KeyOf returns the key of the log at logIndex in the transaction txHash.
//
// The 32 bytes of the transaction hash are folded (XOR) into 12: a real hash is uniformly
// distributed, so 96 bits identify a transaction among the few hundred thousand logs polybot
// remembers with negligible collision odds, and folding keeps every byte significant even for
// hashes that are not uniform (a test chain's, a hostile node's). The log index is stored
// big-endian in the last 4 bytes; indexes are positions inside one block and never approach 2^32.
func KeyOf(txHash common.Hash, logIndex uint) Key {
	var k Key
	for i := range 12 {
		k[i] = txHash[i] ^ txHash[i+12]
	}
	for i := range 8 {
		k[i] ^= txHash[i+24]
	}
	binary.BigEndian.PutUint32(k[12:], uint32(logIndex))
	return k
}

// Options configures a Cache. Zero values select the defaults.
type Options struct {
	// Capacity is the most entries kept; at capacity each insert evicts the
	// oldest entry. Zero means DefaultCapacity; negative is an error.
	Capacity int
	// TTL is how long an entry counts as a duplicate after it was first
	// seen. Zero means DefaultTTL; negative is an error.
	TTL time.Duration
	// Clock is the monotonic clock ages are measured with. Nil means
	// mclock.System{}.
	Clock mclock.Clock
}

// Stats is a snapshot of a Cache's size and counters.
type Stats struct {
	// Size is the number of entries held, Capacity the most it may hold.
	Size, Capacity int
	// Hits counts Seen calls that found a fresh entry (duplicates dropped),
	// Misses those that recorded a new entry.
	Hits, Misses uint64
	// Evictions counts entries removed to make room, by Seen at capacity or
	// by a shrinking Resize. Expirations counts entries removed because
	// their TTL had passed.
	Evictions, Expirations uint64
	// EstimatedBytes is Size × BytesPerEntry.
	EstimatedBytes int64
}

// Cache remembers which logs polybot already handled. It is safe for
// concurrent use.
type Cache struct {
	clock mclock.Clock

	mu       sync.Mutex
	lru      *simplelru.LRU[Key, mclock.AbsTime] // value: insertion time
	capacity int
	ttl      time.Duration

	// inserts counts entries added to lru since it was built; at
	// rebuildAfter the entries move to a fresh LRU (see rebuild).
	inserts, rebuildAfter uint64

	hits, misses, evictions, expirations uint64
}

// rebuildFactor sets how often the LRU is rebuilt: after
// rebuildFactor × capacity inserts. See rebuild.
const rebuildFactor = 8

// New returns an empty cache configured by opts.
func New(opts Options) (*Cache, error) {
	if opts.Capacity < 0 {
		return nil, fmt.Errorf("dedup: Options.Capacity is %d; want a positive number of entries, or 0 for the default %d", opts.Capacity, DefaultCapacity)
	}
	if opts.TTL < 0 {
		return nil, fmt.Errorf("dedup: Options.TTL is %v; want a positive duration, or 0 for the default %v", opts.TTL, DefaultTTL)
	}
	if opts.Capacity == 0 {
		opts.Capacity = DefaultCapacity
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Clock == nil {
		opts.Clock = mclock.System{}
	}
	lru, err := simplelru.NewLRU[Key, mclock.AbsTime](opts.Capacity, nil)
	if err != nil {
		return nil, fmt.Errorf("dedup: create LRU: %w", err)
	}
	return &Cache{
		clock:        opts.Clock,
		lru:          lru,
		capacity:     opts.Capacity,
		ttl:          opts.TTL,
		rebuildAfter: rebuildFactor * uint64(opts.Capacity),
	}, nil
}

// Seen reports whether k was recorded less than TTL ago, and records it if
// not. A duplicate counts a hit and keeps its original insertion time, so a
// log replayed again and again still expires TTL after it was first seen.
// Otherwise Seen counts a miss, sweeps expired entries from the oldest end,
// records k with the current time and, at capacity, evicts the oldest entry.
// Every rebuildFactor × capacity inserts it also rebuilds the LRU to return
// map memory, which takes about 16 ms at 50,000 entries.
func (c *Cache) Seen(k Key) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	if at, ok := c.lru.Peek(k); ok {
		if now.Sub(at) < c.ttl {
			c.hits++
			return true
		}
		// Expired: replaced below by a fresh entry.
		c.lru.Remove(k)
		c.expirations++
	}
	c.misses++
	c.sweep(now)
	if c.lru.Add(k, now) {
		c.evictions++
	}
	if c.inserts++; c.inserts >= c.rebuildAfter {
		// NewLRU fails only for a size below 1, which New and Resize rule out.
		if fresh, err := simplelru.NewLRU[Key, mclock.AbsTime](c.capacity, nil); err == nil {
			c.rebuild(fresh)
		}
	}
	return false
}

// Forget removes k, so the log is handled again if it comes back (a log
// removed by a reorg and later re-included).
func (c *Cache) Forget(k Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Remove(k)
}

// Sweep removes every expired entry now and returns how many it removed.
func (c *Cache) Sweep() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sweep(c.clock.Now())
}

// Resize changes the capacity and TTL in place, for a config reload. It
// removes entries that are expired under the new TTL, then, if the cache
// holds more than capacity entries, evicts the oldest until it fits. Both
// arguments must be positive; on error nothing changes.
func (c *Cache) Resize(capacity int, ttl time.Duration) error {
	if capacity <= 0 {
		return fmt.Errorf("dedup: resize: capacity is %d; want a positive number of entries", capacity)
	}
	if ttl <= 0 {
		return fmt.Errorf("dedup: resize: ttl is %v; want a positive duration", ttl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var fresh *simplelru.LRU[Key, mclock.AbsTime]
	if capacity < c.capacity {
		// Go maps never give memory back, so shrinking in place would keep
		// the old map's size; the newest entries move to a new LRU instead.
		var err error
		if fresh, err = simplelru.NewLRU[Key, mclock.AbsTime](capacity, nil); err != nil {
			return fmt.Errorf("dedup: resize: %w", err)
		}
	}
	c.ttl = ttl
	c.sweep(c.clock.Now())
	if fresh == nil {
		c.lru.Resize(capacity)
	} else {
		for c.lru.Len() > capacity {
			c.lru.RemoveOldest()
			c.evictions++
		}
		c.rebuild(fresh)
	}
	c.capacity = capacity
	c.rebuildAfter = rebuildFactor * uint64(capacity)
	return nil
}

// rebuild moves every entry, oldest first, into fresh, an empty LRU, and
// makes it the cache's LRU.
//
// Go maps never shrink, and under polybot's steady churn (one delete per
// insert at capacity) the swiss-table map behind simplelru keeps leaving
// tombstones that it cannot always prune, so it splits its tables again
// and again: measured at 50,000 entries, the heap grows from 115 B/entry
// when just filled to 150 B/entry after one capacity of churn and 220
// B/entry after 30. Rebuilding every rebuildFactor × capacity inserts holds
// it at about 150 B/entry, for one re-insert per rebuildFactor inserts.
func (c *Cache) rebuild(fresh *simplelru.LRU[Key, mclock.AbsTime]) {
	for c.lru.Len() > 0 {
		k, at, _ := c.lru.RemoveOldest()
		fresh.Add(k, at)
	}
	c.lru = fresh
	c.inserts = uint64(fresh.Len())
}

// sweep removes expired entries from the oldest end and returns how many.
// Entries are never moved after insertion and the clock is monotonic, so
// the list is ordered by insertion time and the first fresh entry ends the
// sweep. Each entry is swept at most once: O(1) amortised per insert.
func (c *Cache) sweep(now mclock.AbsTime) int {
	n := 0
	for {
		_, at, ok := c.lru.GetOldest()
		if !ok || now.Sub(at) < c.ttl {
			break
		}
		c.lru.RemoveOldest()
		n++
	}
	c.expirations += uint64(n)
	return n
}

// Stats returns the current size and counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	size := c.lru.Len()
	return Stats{
		Size:           size,
		Capacity:       c.capacity,
		Hits:           c.hits,
		Misses:         c.misses,
		Evictions:      c.evictions,
		Expirations:    c.expirations,
		EstimatedBytes: int64(size) * BytesPerEntry,
	}
}
