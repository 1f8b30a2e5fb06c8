package dedup

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
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
// divided by its 50,000 entries: 58.9 B just filled, 59.4 B on average once
// inserts at capacity have churned it, 62.4 B at most (see doc.go). An
// entry is a 24-byte slot (the 16-byte Key and its mclock.AbsTime) plus its
// share of the generations' maps (Key -> slot index) and filters. The fixed
// cost of an empty cache (a few hundred bytes) is left out.
const BytesPerEntry = 59

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

// generations is about how many generations a full cache is split into;
// each takes about capacity/generations inserts (see genCapFor and doc.go). More make the
// maps' memory track the entries more closely but cost a filter check each
// per Seen.
const generations = 16

// filterBitsPerInsert sizes each generation's filter: 10 bits per insert,
// two of them set per key in one 64-bit word, give about 4% false
// positives (a map lookup that finds nothing).
const filterBitsPerInsert = 10

// generation is one slice of the cache: its entries in insertion order, a
// map from key to position, and a filter of the keys ever added to it. The
// filter only rules keys out: a key removed keeps its bits, and costs a map
// lookup when looked for again. Entries are only ever appended (to the
// active generation) and removed, never moved, so the oldest live entry is
// the first slot not yet removed: no list links, and no allocation per
// insert (the slots and the map are sized for the generation's inserts
// when it starts).
type generation struct {
	index  map[Key]uint32 // key -> its slot
	slots  []slot         // insertion order; removed slots hold removed
	head   int            // the first slot not removed
	live   int
	filter []uint64
}

// slot is one entry: its key and insertion time.
type slot struct {
	k  Key
	at mclock.AbsTime
}

// removed marks a removed slot; no clock reads it.
const removed = mclock.AbsTime(-1 << 63)

func newGeneration(inserts int) (*generation, error) {
	if inserts < 1 {
		return nil, fmt.Errorf("generation of %d inserts", inserts)
	}
	return &generation{index: make(map[Key]uint32, inserts), slots: make([]slot, 0, inserts),
		filter: make([]uint64, (inserts*filterBitsPerInsert+63)/64)}, nil
}

// filterSlot returns the filter word of hash h, and the bits it sets there.
func (g *generation) filterSlot(h uint64) (*uint64, uint64) {
	word := (h & 0xffffffff) * uint64(len(g.filter)) >> 32 // h's low 32 bits scaled to the length
	return &g.filter[word], 1<<(h>>32&63) | 1<<(h>>38&63)
}

func (g *generation) mayContain(h uint64) bool {
	w, b := g.filterSlot(h)
	return *w&b == b
}

// add appends k, which no generation holds, inserted at at.
func (g *generation) add(h uint64, k Key, at mclock.AbsTime) {
	w, b := g.filterSlot(h)
	*w |= b
	g.index[k] = uint32(len(g.slots))
	g.slots = append(g.slots, slot{k, at})
	g.live++
}

// peek returns k's insertion time.
func (g *generation) peek(k Key) (mclock.AbsTime, bool) {
	i, ok := g.index[k]
	if !ok {
		return 0, false
	}
	return g.slots[i].at, true
}

func (g *generation) contains(k Key) bool {
	_, ok := g.index[k]
	return ok
}

// remove removes k and reports whether it was there.
func (g *generation) remove(k Key) bool {
	i, ok := g.index[k]
	if !ok {
		return false
	}
	delete(g.index, k)
	g.slots[i].at = removed
	g.live--
	g.skipRemoved()
	return true
}

// oldest returns the oldest entry's insertion time; false when empty.
func (g *generation) oldest() (mclock.AbsTime, bool) {
	if g.live == 0 {
		return 0, false
	}
	return g.slots[g.head].at, true
}

// removeOldest removes the oldest entry; false when empty.
func (g *generation) removeOldest() bool {
	if g.live == 0 {
		return false
	}
	s := &g.slots[g.head]
	delete(g.index, s.k)
	s.at = removed
	g.live--
	g.skipRemoved()
	return true
}

func (g *generation) skipRemoved() {
	for g.head < len(g.slots) && g.slots[g.head].at == removed {
		g.head++
	}
}

// Cache remembers which logs polybot already handled. It is safe for
// concurrent use.
type Cache struct {
	clock mclock.Clock

	mu sync.Mutex
	// gens holds the entries, oldest generation first. Only the last
	// generation, the active one, receives inserts; the others only lose
	// entries, and a generation other than the active one is dropped as
	// soon as it is empty. So every entry is younger than every entry of
	// an earlier generation, and gens[0]'s oldest entry is the cache's
	// oldest.
	gens []*generation
	// seed keys the filters' hash, so that no one can choose keys that
	// defeat them.
	seed [2]uint64
	// activeInserts counts the inserts into the active generation; at
	// genCap a new active generation starts.
	activeInserts, genCap int
	size, capacity        int
	ttl                   time.Duration

	hits, misses, evictions, expirations uint64
}

// genCapFor returns the inserts one generation takes in a cache of the
// given capacity: about capacity/generations, rounded to a size whose Go
// map is well filled. A map's tables hold at most 896 entries in 1024
// slots and split in two when they would hold more, so a map of 780 × 2^k
// entries has 2^k tables about 76% full, while one of 1.2 × 896 × 2^k has
// twice as many tables, half full: at 50,000 entries, 12 generations
// (4,167 inserts each) cost 134 B per entry, 16 (3,125) cost 116 B.
func genCapFor(capacity int) int {
	const wellFilled = 780
	want := (capacity + generations - 1) / generations
	if want < 2*wellFilled {
		return want
	}
	n := wellFilled
	for n*3 < want*2 { // the nearest 780 × 2^k: double while want exceeds 1.5 n
		n *= 2
	}
	return n
}

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
	c := &Cache{
		clock:    opts.Clock,
		capacity: opts.Capacity,
		genCap:   genCapFor(opts.Capacity),
		ttl:      opts.TTL,
		seed:     [2]uint64{rand.Uint64(), rand.Uint64()},
	}
	if err := c.startGeneration(); err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	return c, nil
}

// startGeneration appends a new, empty active generation.
func (c *Cache) startGeneration() error {
	// The LRU never evicts by itself: it takes at most genCap inserts.
	g, err := newGeneration(c.genCap)
	if err != nil {
		return err
	}
	c.gens = append(c.gens, g)
	c.activeInserts = 0
	return nil
}

// Seen reports whether k was recorded less than TTL ago, and records it if
// not. A duplicate counts a hit and keeps its original insertion time, so a
// log replayed again and again still expires TTL after it was first seen.
// Otherwise Seen counts a miss, sweeps expired entries from the oldest end,
// evicts the oldest entry if the cache is full, and records k with the
// current time.
func (c *Cache) Seen(k Key) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	h := c.hash(k)
	// Newest generation first: a duplicate is most often a recent log.
	for i := len(c.gens) - 1; i >= 0; i-- {
		if !c.gens[i].mayContain(h) {
			continue
		}
		at, ok := c.gens[i].peek(k)
		if !ok {
			continue
		}
		if now.Sub(at) < c.ttl {
			c.hits++
			return true
		}
		// Expired: replaced below by a fresh entry.
		c.remove(i, k)
		c.expirations++
		break
	}
	c.misses++
	c.sweep(now)
	if c.size >= c.capacity {
		c.removeOldest()
		c.evictions++
	}
	if c.activeInserts >= c.genCap {
		// newGeneration fails only for a size below 1, which New and
		// Resize rule out; should it fail, the active generation grows
		// past genCap and the cache stays correct.
		_ = c.startGeneration()
	}
	c.gens[len(c.gens)-1].add(h, k, now)
	c.activeInserts++
	c.size++
	return false
}

// remove removes k from generation i, and the generation if that empties
// it and it is not the active one.
func (c *Cache) remove(i int, k Key) {
	if c.gens[i].remove(k) {
		c.size--
		c.dropIfEmpty(i)
	}
}

// removeOldest removes the cache's oldest entry. The cache must not be
// empty.
func (c *Cache) removeOldest() {
	for i := range c.gens {
		if c.gens[i].removeOldest() {
			c.size--
			c.dropIfEmpty(i)
			return
		}
	}
}

// dropIfEmpty drops generation i if it is empty and not the active one,
// returning its map to the garbage collector whole: it held no entries, so
// nothing is evicted with it.
func (c *Cache) dropIfEmpty(i int) {
	if i == len(c.gens)-1 || c.gens[i].live > 0 {
		return
	}
	copy(c.gens[i:], c.gens[i+1:])
	c.gens[len(c.gens)-1] = nil
	c.gens = c.gens[:len(c.gens)-1]
}

// Contains reports whether k was recorded less than TTL ago, like Seen, but
// only reads: it records nothing, evicts nothing, removes no expired entry
// and counts neither a hit nor a miss. It is the probe for "was this log
// handled?" that must not disturb a full cache.
func (c *Cache) Contains(k Key) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	h := c.hash(k)
	for i := len(c.gens) - 1; i >= 0; i-- {
		if !c.gens[i].mayContain(h) {
			continue
		}
		if at, ok := c.gens[i].peek(k); ok {
			return now.Sub(at) < c.ttl
		}
	}
	return false
}

// Forget removes k, so the log is handled again if it comes back (a log
// removed by a reorg and later re-included).
func (c *Cache) Forget(k Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.hash(k)
	for i := len(c.gens) - 1; i >= 0; i-- {
		if c.gens[i].mayContain(h) && c.gens[i].contains(k) {
			c.remove(i, k)
			return
		}
	}
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
	// Create the new active generation first, so a failure changes nothing.
	genCap := genCapFor(capacity)
	var fresh *generation
	if genCap != c.genCap {
		var err error
		if fresh, err = newGeneration(genCap); err != nil {
			return fmt.Errorf("dedup: resize: %w", err)
		}
	}
	c.ttl = ttl
	c.capacity = capacity
	c.sweep(c.clock.Now())
	for c.size > capacity {
		c.removeOldest()
		c.evictions++
	}
	if fresh != nil {
		// Later inserts go to a generation of the new size. Shrinking
		// keeps the survivors in their generations, whose larger maps are
		// dropped as those generations empty.
		c.genCap = genCap
		if c.gens[len(c.gens)-1].live == 0 {
			c.gens = c.gens[:len(c.gens)-1]
		}
		c.gens = append(c.gens, fresh)
		c.activeInserts = 0
	}
	return nil
}

// sweep removes expired entries from the oldest end and returns how many.
// Entries are never moved after insertion and the clock is monotonic, so
// the generations, oldest first, are ordered by insertion time and the
// first fresh entry ends the sweep. Each entry is swept at most once: O(1)
// amortised per insert.
func (c *Cache) sweep(now mclock.AbsTime) int {
	n := 0
	for c.size > 0 {
		oldest := c.gens[0]
		at, ok := oldest.oldest()
		if !ok { // only the active generation is ever empty
			break
		}
		if now.Sub(at) < c.ttl {
			break
		}
		oldest.removeOldest()
		c.size--
		c.dropIfEmpty(0)
		n++
	}
	c.expirations += uint64(n)
	return n
}

// hash mixes k with the cache's seed (wyhash's multiply-and-fold) for the
// filters.
func (c *Cache) hash(k Key) uint64 {
	hi, lo := bits.Mul64(binary.LittleEndian.Uint64(k[:8])^c.seed[0], binary.LittleEndian.Uint64(k[8:])^c.seed[1])
	hi, lo = bits.Mul64(hi^lo, 0x9e3779b97f4a7c15)
	return hi ^ lo
}

// Stats returns the current size and counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{
		Size:           c.size,
		Capacity:       c.capacity,
		Hits:           c.hits,
		Misses:         c.misses,
		Evictions:      c.evictions,
		Expirations:    c.expirations,
		EstimatedBytes: int64(c.size) * BytesPerEntry,
	}
}
