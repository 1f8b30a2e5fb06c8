package app

import (
	"fmt"

	"github.com/polybot/polybot/internal/executor"
)

// exitRetriesLine is what the status shows of the exits waiting to be tried again
// (executor.ExitRetries): how many, and the oldest's market, tries and last reason; "" when
// none waits.
func exitRetriesLine(w []executor.ExitRetry) string {
	if len(w) == 0 {
		return ""
	}
	o := w[0]
	return fmt.Sprintf("%d exits not sold yet, retrying (oldest: market %s, %d tries: %s)",
		len(w), o.Market, o.Attempt+1, oneLine(o.Reason))
}
