// Package dedup is polybot's cache of chain logs it has already handled.
//
// The wallet monitor asks Cache.Seen about every OrderFilled log before
// passing it on. A log comes back when the websocket resubscribes or a
// backfill overlaps what was streamed; Seen reports it as a duplicate so it
// is dropped instead of copied twice. A log is identified by a 16-byte Key:
// 12 bytes of its transaction hash and its log index (KeyOf). Logs removed
// by a reorg are dropped from the cache with Cache.Forget.
//
// # Design
//
// The cache is built on golang-lru's plain simplelru.LRU, holding each
// entry's insertion time as an mclock.AbsTime, behind one mutex. Ages come
// from an injected monotonic clock (mclock.System by default), so a
// wall-clock step from NTP or a VM resume never expires an entry early, and
// tests drive time with mclock.Simulated instead of sleeping.
//
// The entries are split into generations, each its own simplelru.LRU:
// only the newest, active generation receives inserts, and after
// about capacity/16 inserts (a size whose Go map is well filled, see
// genCapFor) a new active generation starts. The older ones only
// lose entries, from the oldest end, and a generation is dropped once it
// is empty. A duplicate keeps its original insertion time and its place
// (Seen peeks), so the generations, oldest first, are ordered by insertion
// time: eviction at capacity removes the single oldest entry, one per
// insert, and expired entries are swept from the oldest end on each
// insert, stopping at the first fresh one (amortised O(1)). A generation
// is dropped only when it holds nothing, so nothing is ever evicted in
// bulk and no insert pays for a rebuild. The maintenance loop calls
// Cache.Sweep to empty the expired tail even when no logs arrive, and
// config reloads call Cache.Resize, which changes capacity and TTL in
// place.
//
// Why generations: a Go map never shrinks, and under polybot's steady
// churn (a delete per insert at capacity) the swiss-table map of a single
// LRU keeps leaving tombstones that make it split its tables again and
// again: measured at 50,000 entries, the heap grew from 115 B/entry just
// filled to 150 B/entry after one capacity of churn and 220 B/entry after
// 30, and a rebuild every 8 × capacity inserts (16 ms at 50,000 entries)
// held it only near 150. A map that only ever receives inserts and is then
// only deleted from, and finally dropped whole, has no such drift: its
// size is that of a freshly filled map. The cost is one map per
// generation to consult; each generation therefore keeps a small filter
// of the keys added to it (10 bits per insert, two bits set per key in one
// 64-bit word, keyed by a random seed), so a lookup touches only the maps
// that may hold the key: about 0.6 of a map lookup for a new key.
//
// golang-lru's expirable cache was not used: it starts a goroutine per
// cache that can never be stopped, renews an entry's age on every Add, and
// is slower and larger (BenchmarkExpirableAddAtCapacity,
// BenchmarkExpirableBytesPerEntry).
//
// # Costs
//
// Go 1.26.8, linux/amd64, 2 shared cores, 50,000 entries (DefaultCapacity),
// go test -run xxx -bench . -benchmem -cpu 1 -count 3 ./internal/dedup/
// (scripts/bench.sh), range of three runs; cpu-ns/op is the process CPU
// time per operation, which the other processes sharing the machine do not
// inflate the way they inflate ns/op:
//
//	                                   this design     before (one LRU,
//	                                   (generations)   rebuilt every 8×)
//	Seen, new key into a full cache    534–690 cpu-ns  530–560 cpu-ns
//	Seen, duplicate                    147–174 cpu-ns  129–135 cpu-ns
//	allocated per new key              151 B, 1 alloc  110 B, 1 alloc
//	slowest single new-key Seen        3–7 ms          15–37 ms
//	heap per entry, just filled        116.5 B         115.0 B
//	heap per entry, churned (mean)     117.9 B         149.9 B
//	heap per entry, churned (max)      118.7 B         149.9 B
//	golang-lru expirable, same load    810–1060 cpu-ns, 220 B per entry
//
// (The two columns were measured one after the other on a machine other
// builds were using; the same benchmarks earlier in the day gave 380 ns
// for the old design's new key.) That is 1.5 to 1.9 million new keys per
// second on one busy core. A new key costs a little more than with one
// LRU: each generation's map grows from empty (about 12% of the time, in
// runtime.(*table).rehash), and its 17 filters are checked (about 10%).
// The slowest Seen is a map table split or scheduling noise; the old
// design's rebuild of the whole LRU took 15 to 37 ms.
//
// An entry is simplelru's list element, 80 B whatever the layout (list
// links, Key, insertion time and simplelru's unused ExpiresAt field), plus
// its share of the generations' maps (about 35 B) and filters (about 1.4
// B). The heap per entry is lowest when a generation has just been
// dropped and highest just before, when the oldest generation is nearly
// empty but its map is still whole: at most 1/16 of the maps' size more.
// Other capacities measured (after four capacities of churn): 30,000
// entries 118 B, 70,000 118 B, 100,000 and 200,000 117 B; small caches
// (10,000 entries: 128 B) have less well filled tables.
// Stats.EstimatedBytes uses BytesPerEntry; TestEstimatedBytesMatchesHeap
// checks it against the measured heap, just filled and churned.
//
// A Forget leaves a hole in its generation, whose map is freed when the
// generation's last entry goes; reorgs forget a handful of logs, so this
// costs nothing in practice.
package dedup
