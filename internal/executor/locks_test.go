package executor

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
)

func TestLockTable(t *testing.T) {
	t.Run("a market's entry is deleted as soon as its position closes", func(t *testing.T) {
		tab := NewLockTable(30*time.Minute, new(mclock.Simulated))
		unlock := tab.Lock("m1")
		tab.Release("m1") // closed while held: goes on unlock
		if tab.Len() != 1 {
			t.Fatalf("entry gone while held: len %d", tab.Len())
		}
		unlock()
		if tab.Len() != 0 {
			t.Fatalf("entry kept after close: len %d", tab.Len())
		}
		tab.Lock("m2")()
		tab.Release("m2")
		if tab.Len() != 0 {
			t.Fatalf("idle entry kept after close: len %d", tab.Len())
		}
	})

	t.Run("idle entries expire after the TTL and not before", func(t *testing.T) {
		clk := new(mclock.Simulated)
		tab := NewLockTable(30*time.Minute, clk)
		tab.Lock("a")()
		clk.Run(29 * time.Minute)
		tab.Lock("b")()
		if n := tab.Sweep(); n != 0 {
			t.Fatalf("swept %d entries before their TTL", n)
		}
		clk.Run(time.Minute)
		if n := tab.Sweep(); n != 1 || tab.Len() != 1 {
			t.Fatalf("swept %d, len %d; want 1 and 1 (only a expired)", n, tab.Len())
		}
		clk.Run(30 * time.Minute)
		if n := tab.Sweep(); n != 1 || tab.Len() != 0 {
			t.Fatalf("swept %d, len %d; want 1 and 0", n, tab.Len())
		}
	})

	t.Run("a held lock never expires", func(t *testing.T) {
		clk := new(mclock.Simulated)
		tab := NewLockTable(time.Minute, clk)
		unlock := tab.Lock("held")
		clk.Run(time.Hour)
		if n := tab.Sweep(); n != 0 {
			t.Fatalf("swept a held lock")
		}
		unlock()
	})

	t.Run("1000 markets opened and closed leave zero entries", func(t *testing.T) {
		tab := NewLockTable(30*time.Minute, new(mclock.Simulated))
		var wg sync.WaitGroup
		for i := range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := strconv.Itoa(i)
				unlock := tab.Lock(m)
				tab.Release(m)
				unlock()
			}()
		}
		wg.Wait()
		if tab.Len() != 0 {
			t.Fatalf("len %d after all positions closed", tab.Len())
		}
	})

	t.Run("copies on one market serialize", func(t *testing.T) {
		tab := NewLockTable(time.Minute, nil)
		var inside, maxInside atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				unlock := tab.Lock("same")
				n := inside.Add(1)
				for {
					m := maxInside.Load()
					if n <= m || maxInside.CompareAndSwap(m, n) {
						break
					}
				}
				inside.Add(-1)
				unlock()
			}()
		}
		wg.Wait()
		if maxInside.Load() != 1 {
			t.Fatalf("%d copies held one market's lock at once", maxInside.Load())
		}
	})

	t.Run("copies on different markets do not wait for each other", func(t *testing.T) {
		tab := NewLockTable(time.Minute, nil)
		unlockA := tab.Lock("a")
		defer unlockA()
		got := make(chan struct{})
		go func() { tab.Lock("b")(); close(got) }()
		<-got // would block forever (and the test time out) if b waited for a
	})
}
