package app

import (
	"fmt"
	"time"

	"github.com/polybot/polybot/internal/executor"
)

// exitRetriesLine is what the status shows of the exits waiting to be tried again
// (executor.ExitRetries): how many, and the oldest's market, attempts, next try and last
// reason; "" when none waits.
func exitRetriesLine(w []executor.ExitRetry, now time.Time) string {
	if len(w) == 0 {
		return ""
	}
	o := w[0]
	why := oneLine(o.Reason)
	if why == "" {
		why = "its last order is not final yet"
	}
	next := "due now"
	if d := o.Next.Sub(now); d > 0 {
		next = "next try in " + d.Round(time.Second).String()
	}
	return fmt.Sprintf("%d exits not sold yet, retrying (oldest: market %s, %d tries, %s: %s)",
		len(w), o.Market, o.Attempt+1, next, why)
}
