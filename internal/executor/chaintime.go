package executor

import "time"

// ageNow is the time a fill's age is measured against (strategy.Input.Now): the chain's, when
// Options.ChainNow is set, else now. A fill's time is its block's timestamp, chain time; a system
// clock an hour ahead would otherwise skip every leader BUY as an hour old, and one behind would
// copy stale BUYs.
func (e *Executor) ageNow(now time.Time) time.Time {
	if e.chainNow != nil {
		return e.chainNow()
	}
	return now
}
