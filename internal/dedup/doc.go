// Package dedup is polybot's cache of chain logs it has already handled.
//
// The wallet monitor asks Cache.Seen about every OrderFilled log before
// passing it on. A log comes back when the websocket resubscribes or a
// backfill overlaps what was streamed; Seen reports it as a duplicate so it
// is dropped instead of copied twice. A log is identified by a 16-byte Key:
// 12 bytes of its transaction hash and its log index (KeyOf). Logs removed
// by a reorg are dropped from the cache with Cache.Forget. Cache.Contains asks
// whether a log was handled without recording it, so probing a full cache
// evicts nothing.
//
// # Design
//
// The cache holds each entry's insertion time as an mclock.AbsTime,
// behind one mutex. Ages come
// from an injected monotonic clock (mclock.System by default), so a
// wall-clock step from NTP or a VM resume never expires an entry early, and
// tests drive time with mclock.Simulated instead of sleeping.
//
// The entries are split into generations, each a slice of slots (key and
// insertion time) in insertion order and a map from key to slot: only the
// newest, active generation receives inserts, and after
// about capacity/16 inserts (a size whose Go map is well filled, see
// genCapFor) a new active generation starts. The older ones only
// lose entries, from the oldest end, and a generation is dropped once it
// is empty. Entries are never moved, so a generation's oldest entry is its
// first slot not yet removed: no list links, and since the slots and the
// map are allocated for the generation's inserts when it starts, no
// allocation per insert. A duplicate keeps its original insertion time and its place
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
//	                                   slots + map     simplelru per       golang-lru
//	                                   (this design)   generation (before) expirable
//	Seen, new key into a full cache    413–459 cpu-ns  772–884 cpu-ns      810–1060 cpu-ns
//	Seen, duplicate                    203–209 cpu-ns  208–212 cpu-ns
//	allocated per new key              55 B, 0 allocs  151 B, 1 alloc
//	heap per entry, just filled        58.9 B          116.5 B             220 B
//	heap per entry, churned (mean)     59.4 B          117.9 B
//	heap per entry, churned (max)      62.4 B          118.7 B
//
// The first two columns were measured one after the other, on 2 cores that
// other builds were using (load average 5 to 9): ns/op was 1.4 to 2.3 µs
// there, cpu-ns/op is the honest figure. On a quiet core the old design
// took 0.53 to 0.69 µs per new key; the profile of this one is map work
// (the probe and the insert into a presized swiss table, about half), the
// filters and the clock read. The allocation per new key is the next
// generation's slots and map, allocated whole when it starts.
//
// An entry is a 24-byte slot (Key and insertion time) plus its share of
// the generations' maps (a 16-byte key and a 4-byte index per map slot,
// presized for the generation's inserts: about 33 B) and filters (about
// 1.4 B). The heap per entry is highest just before a generation is
// dropped, when the oldest generation is nearly empty but still whole: at
// most 1/16 more.
// Stats.EstimatedBytes uses BytesPerEntry; TestEstimatedBytesMatchesHeap
// checks it against the measured heap, just filled and churned.
//
// A Forget leaves a hole in its generation, whose slots and map are freed
// when the generation's last entry goes; reorgs forget a handful of logs, so this
// costs nothing in practice.
package dedup
