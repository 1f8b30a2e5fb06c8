package app

import (
	"context"
	"fmt"
	"time"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/chainclock"
)

// newChainClock builds the watcher that measures the system clock against the chain head's
// time, in every mode; the executor measures fill ages with its Now.
func newChainClock(opts Options, dial func(context.Context) (chain.Client, error)) (*chainclock.Watcher, error) {
	cfg := opts.Config
	return chainclock.New(chainclock.Options{
		Dial:       func(ctx context.Context) (chainclock.Chain, error) { return dial(ctx) },
		Interval:   cfg.Maintenance.Interval,
		RPCTimeout: cfg.Chain.RPCTimeout,
		Now:        opts.Now,
		Log:        opts.Log.Named("clock"),
	})
}

// chainNow is the chain's time for the executor's fill ages (the system clock until the first
// sample, or while it agrees with the chain).
func (a *App) chainNow() time.Time {
	if a.chainClock == nil {
		return a.now()
	}
	return a.chainClock.Now()
}

// compactNow is the time the store's compaction ages are measured against: the earlier of the
// host clock and the chain's. Records are stamped with the host clock, so a host clock that runs
// ahead (or jumped ahead) is held back to the chain's time, and one that is behind keeps its own
// (the stamps are behind too): a wrong clock never drops intents, decisions or closed positions
// early, in either direction.
func (a *App) compactNow() time.Time {
	host := a.now()
	if chainNow := a.chainNow(); chainNow.Before(host) {
		return chainNow
	}
	return host
}

// clockSkew is the measured skew when it is large enough to matter (beyond the chain clock's
// warning threshold), for the status line; "" otherwise.
func (a *App) clockSkew() string {
	if a.chainClock == nil {
		return ""
	}
	skew, ok := a.chainClock.Skew()
	if !ok || (skew <= chainclock.DefaultWarnAbove && skew >= -chainclock.DefaultWarnAbove) {
		return ""
	}
	if skew > 0 {
		return fmt.Sprintf("system clock %s ahead of the chain", skew.Round(time.Second))
	}
	return fmt.Sprintf("system clock %s behind the chain", (-skew).Round(time.Second))
}

// skewSeconds is the skew for the metric and `polybot status`; ok is false before the first
// sample.
func (a *App) skewSeconds() (float64, bool) {
	if a.chainClock == nil {
		return 0, false
	}
	skew, ok := a.chainClock.Skew()
	return skew.Round(time.Second).Seconds(), ok
}
