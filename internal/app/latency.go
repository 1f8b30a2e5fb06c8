package app

import (
	"time"

	"github.com/polybot/polybot/internal/executor"
	"github.com/polybot/polybot/internal/latency"
)

// observeTiming records a filled copy's latency and slippage for status (the last hour's p50
// and p99) and, when served, the metrics.
func (a *App) observeTiming(t executor.Timing) {
	now := t.Filled
	if now.IsZero() {
		now = time.Now()
	}
	stage := func(name string, from, to time.Time) {
		if from.IsZero() || to.IsZero() {
			return
		}
		d := to.Sub(from)
		a.latency.Observe(now, name, d)
		if a.metrics != nil {
			a.metrics.ObserveLatency(name, d)
		}
	}
	stage(latency.BlockToSeen, t.Block, t.Seen)
	stage(latency.SeenToSent, t.Seen, t.Sent)
	stage(latency.SentToFill, t.Sent, t.Filled)
	stage(latency.BlockToFill, t.Block, t.Filled)
	a.latency.ObserveSlippage(now, t.SlippageBps)
	if a.metrics != nil {
		a.metrics.ObserveSlippage(t.SlippageBps.InexactFloat64()) // a histogram, not money
	}
}
