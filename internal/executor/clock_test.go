package executor

import (
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
)

// TestLocksIgnoreWallClockSteps holds one market's lock and leaves two others idle, then lets
// a day of monotonic time pass while the wall clock is stepped back and forth (the executor
// reads only its mclock clock, so the steps cannot reach it). A held lock is never swept,
// however long it is held; idle entries expire one TTL after their own last use, not all at once.
func TestLocksIgnoreWallClockSteps(t *testing.T) {
	const ttl = 30 * time.Minute
	clk := new(mclock.Simulated)
	tab := NewLockTable(ttl, clk)
	unlockHeld := tab.Lock("held")
	tab.Lock("idle-early")()
	clk.Run(20 * time.Minute)
	tab.Lock("idle-late")()

	clk.Run(10 * time.Minute) // idle-early reaches its TTL, idle-late is 10 minutes idle
	if n := tab.Sweep(); n != 1 || tab.Len() != 2 {
		t.Fatalf("swept %d, %d left; want only idle-early swept", n, tab.Len())
	}
	clk.Run(24 * time.Hour)
	if n := tab.Sweep(); n != 1 || tab.Len() != 1 {
		t.Fatalf("swept %d, %d left; want idle-late swept and the held lock kept", n, tab.Len())
	}
	// The held lock is still exclusive: Release while held keeps it until unlock.
	tab.Release("held")
	if tab.Len() != 1 {
		t.Fatal("Release dropped a lock still held")
	}
	unlockHeld()
	if tab.Len() != 0 {
		t.Fatalf("%d entries after the held lock was unlocked and its position closed", tab.Len())
	}
}
