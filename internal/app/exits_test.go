package app

import (
	"strings"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/executor"
)

// The status names the exits that did not sell and are tried again: how many, the oldest's
// market, its tries, when it is tried next and why its last try failed; nothing when none waits.
func TestTheStatusShowsExitsBeingRetried(t *testing.T) {
	now := time.Unix(1000, 0)
	if got := exitRetriesLine(nil, now); got != "" {
		t.Fatalf("status with no exit waiting: %q", got)
	}
	got := exitRetriesLine([]executor.ExitRetry{
		{Market: "1001", Shares: 10_000_000, Attempt: 2, Since: time.Unix(100, 0), Next: now.Add(20 * time.Second), Reason: "no bid\nat 0.48"},
		{Market: "1002", Shares: 1_000_000, Since: time.Unix(200, 0), Reason: "CLOB breaker open"},
	}, now)
	for _, want := range []string{"2 exits not sold yet", "market 1001", "3 tries", "next try in 20s", "no bid at 0.48"} {
		if !strings.Contains(got, want) {
			t.Fatalf("status %q does not say %q", got, want)
		}
	}
	if strings.Contains(got, "\n") {
		t.Fatalf("status %q is not one line", got)
	}
}
