package dedup

import (
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
)

// steppedWall is a wall clock read as mclock time: it follows the monotonic clock and can be
// stepped like an NTP correction or an operator's `date -s`.
type steppedWall struct {
	mono *mclock.Simulated
	step time.Duration
}

func (w *steppedWall) Now() mclock.AbsTime                         { return w.mono.Now().Add(w.step) }
func (w *steppedWall) Sleep(d time.Duration)                       { w.mono.Sleep(d) }
func (w *steppedWall) NewTimer(d time.Duration) mclock.ChanTimer   { return w.mono.NewTimer(d) }
func (w *steppedWall) After(d time.Duration) <-chan mclock.AbsTime { return w.mono.After(d) }
func (w *steppedWall) AfterFunc(d time.Duration, f func()) mclock.Timer {
	return w.mono.AfterFunc(d, f)
}

// TestWallClockStepsExpireNothingAtOnce inserts 100 keys one minute apart under a 2 h TTL, then
// steps the wall clock a day forward and two days back. With the monotonic clock polybot uses,
// every key is still a duplicate after both steps, and they later expire one by one in
// insertion order. The wall-clock rows show the test would catch a cache that read wall time.
func TestWallClockStepsExpireNothingAtOnce(t *testing.T) {
	const (
		ttl  = 2 * time.Hour
		keys = 100
		gap  = time.Minute
	)
	tests := []struct {
		name      string
		monotonic bool
		step      time.Duration
		wantDups  int // duplicates right after the step
	}{
		{"monotonic clock, wall clock a day forward", true, 24 * time.Hour, keys},
		{"monotonic clock, wall clock two days back", true, -48 * time.Hour, keys},
		{"a wall clock a day forward would expire every key at once", false, 24 * time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mono := new(mclock.Simulated)
			wall := &steppedWall{mono: mono}
			var clock mclock.Clock = mono
			if !tt.monotonic {
				clock = wall
			}
			c, err := New(Options{TTL: ttl, Clock: clock, Capacity: 10 * keys})
			if err != nil {
				t.Fatal(err)
			}
			key := func(i int) Key { return KeyOf(common.BigToHash(big.NewInt(int64(i+1))), 0) }
			for i := range keys {
				if c.Seen(key(i)) {
					t.Fatalf("key %d seen before it was inserted", i)
				}
				mono.Run(gap)
			}
			wall.step = tt.step
			dups := 0
			for i := range keys {
				if c.Seen(key(i)) {
					dups++
				}
			}
			if dups != tt.wantDups {
				t.Fatalf("after a %v wall-clock step: %d of %d keys still duplicates, want %d", tt.step, dups, keys, tt.wantDups)
			}
			if !tt.monotonic {
				return
			}
			// Real time passes: the TTL reaches the first half of the keys only (the duplicates
			// above did not extend them).
			mono.Run(ttl - keys*gap + keys/2*gap)
			expired := 0
			for i := range keys {
				if !c.Seen(key(i)) {
					expired++
					if i >= keys/2+1 {
						t.Errorf("key %d, inserted %v before the TTL's end, expired", i, time.Duration(i-keys/2)*gap)
					}
				}
			}
			if expired < keys/2-1 || expired > keys/2+1 {
				t.Errorf("%d keys expired, want about half (%d)", expired, keys/2)
			}
		})
	}
}
