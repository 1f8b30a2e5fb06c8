package executor

import (
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
)

// LockTable holds one lock per market. An entry lives while its market is in use: it is deleted as
// soon as the market's position closes (Release), and an idle entry expires TTL after its last
// use, so a table that has seen a million markets holds only the recent ones.
type LockTable struct {
	mu      sync.Mutex
	entries map[string]*lockEntry
	ttl     time.Duration
	clock   mclock.Clock
}

type lockEntry struct {
	mu       sync.Mutex
	refs     int // holders and waiters
	lastUsed mclock.AbsTime
	released bool // the position closed while the entry was in use
}

// NewLockTable returns an empty table whose idle entries expire after ttl (> 0).
func NewLockTable(ttl time.Duration, clock mclock.Clock) *LockTable {
	if clock == nil {
		clock = mclock.System{}
	}
	return &LockTable{entries: make(map[string]*lockEntry), ttl: ttl, clock: clock}
}

// Lock takes market's lock, waiting while another copy holds it, and returns its unlock function.
func (t *LockTable) Lock(market string) (unlock func()) {
	t.mu.Lock()
	e := t.entries[market]
	if e == nil {
		e = &lockEntry{}
		t.entries[market] = e
	}
	e.released = false // in use again: a new copy on the market outlives the old close
	e.refs++
	t.mu.Unlock()

	e.mu.Lock()
	return func() {
		t.mu.Lock()
		e.refs--
		e.lastUsed = t.clock.Now()
		if e.released && e.refs == 0 {
			delete(t.entries, market)
		}
		t.mu.Unlock()
		e.mu.Unlock()
	}
}

// Release deletes market's entry because its position closed. A holder keeps its lock until it
// unlocks; the entry then goes at once instead of waiting out its TTL.
func (t *LockTable) Release(market string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[market]
	if e == nil {
		return
	}
	if e.refs == 0 {
		delete(t.entries, market)
		return
	}
	e.released = true
}

// Sweep deletes the idle entries older than the TTL and returns how many went.
func (t *LockTable) Sweep() int {
	now := t.clock.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for k, e := range t.entries {
		if e.refs == 0 && now.Sub(e.lastUsed) >= t.ttl {
			delete(t.entries, k)
			n++
		}
	}
	return n
}

// SetTTL changes the idle expiry (on reload).
func (t *LockTable) SetTTL(ttl time.Duration) {
	t.mu.Lock()
	t.ttl = ttl
	t.mu.Unlock()
}

// Len is the number of entries.
func (t *LockTable) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}
