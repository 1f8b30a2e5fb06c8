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
// The cache is golang-lru's plain simplelru.LRU, holding each entry's
// insertion time as an mclock.AbsTime, behind one mutex. Ages come from an
// injected monotonic clock (mclock.System by default), so a wall-clock step
// from NTP or a VM resume never expires an entry early, and tests drive time
// with mclock.Simulated instead of sleeping.
//
// A duplicate keeps its original insertion time and its place in the list
// (Seen uses Peek), so the list stays ordered by insertion time: eviction
// at capacity removes the oldest entry, one per insert, and expired entries
// are swept from the oldest end on each insert, stopping at the first fresh
// one (amortised O(1)). The maintenance loop calls Cache.Sweep to empty the
// expired tail even when no logs arrive, and config reloads call
// Cache.Resize, which changes capacity and TTL in place.
//
// golang-lru's expirable cache was not used: it starts a goroutine per
// cache that can never be stopped, renews an entry's age on every Add, and
// is slower (BenchmarkExpirableAddAtCapacity).
//
// # Costs
//
// Go 1.26.8, linux/amd64, 2 shared cores, 50,000 entries (DefaultCapacity),
// go test -run xxx -bench . -benchmem -count 5 ./internal/dedup/, median
// (range) of five runs:
//
//	Seen, new key into a full cache    403 ns (376–553), 1 alloc, 110 B
//	Seen, duplicate                    112 ns (110–118), 0 allocs
//	expirable Add, full cache          646 ns (561–764), 1 alloc
//	heap per entry, just filled        115 B
//	heap per entry, after churn        150 B
//
// That is about 2.5 million new keys per second on one core. The 110 B
// allocated per new key are the 80 B list element plus, amortised, the map
// growth of the periodic rebuild described below.
//
// An entry is simplelru's list element, 80 B whatever the layout (list
// links, Key, insertion time and simplelru's unused ExpiresAt field), plus
// its share of the Go map. The map costs 35 B per entry when just filled,
// but under steady churn (a delete per insert at capacity) its tombstones
// make it split its tables: 150 B per entry after one capacity of inserts,
// and without countermeasure 220 B after about 30, 250 B at a capacity of
// 5,000. The cache therefore rebuilds its LRU every 8 × capacity inserts
// (about 16 ms at 50,000 entries), which holds the heap near 150 B per
// entry. Stats.EstimatedBytes uses BytesPerEntry, the midpoint of the two
// measured figures.
package dedup
