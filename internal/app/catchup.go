package app

import (
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/monitor"
)

// catchUpExtension is the least start-up time each report of a catch-up's progress asks systemd
// for (EXTEND_TIMEOUT_USEC, relative to the report). A catch-up that reads nothing for this long
// (nor for two RPC timeouts and the longest reconnect backoff) is killed by TimeoutStartSec and
// restarted; it resumes from its checkpoint. docs/operations.md argues the choice.
const catchUpExtension = 3 * time.Minute

// timeoutExtender is a notifier that can extend the start timeout (systemd.Notifier is one).
type timeoutExtender interface {
	ExtendTimeout(d time.Duration) error
}

// catchUpState is the App's view of the monitor's catch-ups.
type catchUpState struct {
	reportedAt atomic.Int64 // mclock.AbsTime of the last progress report
}

// onProgress is the monitor's OnProgress: before READY=1 each report extends systemd's start
// timeout; the STATUS= line shows the target block, the share done and the ETA, then "caught
// up" once.
func (a *App) onProgress(p monitor.Progress) {
	a.catchUp.reportedAt.Store(int64(a.clock.Now()))
	if !a.isReady() && !p.CaughtUp {
		if ext, ok := a.notifier.(timeoutExtender); ok {
			cfg := a.cfg.Load()
			if err := ext.ExtendTimeout(max(catchUpExtension, 2*cfg.Chain.RPCTimeout+cfg.Chain.MaxBackoff)); err != nil {
				a.log.Warn("systemd notify failed", zap.Error(err))
			}
		}
	}
	if p.CaughtUp {
		a.status(p.String())
		return
	}
	a.status(a.statusLine())
}

func (a *App) isReady() bool {
	select {
	case <-a.ready:
		return true
	default:
		return false
	}
}

// catchingUp returns the catch-up under way, if any.
func (a *App) catchingUp() (monitor.Progress, bool) {
	if a.monitor == nil {
		return monitor.Progress{}, false
	}
	p, ok := a.monitor.CatchUp()
	return p, ok && !p.CaughtUp
}

// catchUpProgressing says a catch-up is under way and reported progress within the chain's
// head_stale_after: the monitor is busy reading, not stuck, so the watchdog is fed.
func (a *App) catchUpProgressing() bool {
	if _, ok := a.catchingUp(); !ok {
		return false
	}
	at := mclock.AbsTime(a.catchUp.reportedAt.Load())
	return a.clock.Now().Sub(at) <= a.cfg.Load().Chain.HeadStaleAfter
}

// adminCatchUp is the catch-up as `polybot status` shows it; nil before the first.
func (a *App) adminCatchUp() *admin.CatchUp {
	if a.monitor == nil {
		return nil
	}
	p, ok := a.monitor.CatchUp()
	if !ok {
		return nil
	}
	return &admin.CatchUp{From: p.From, Done: p.Done, Target: p.Target, Percent: p.Percent(),
		ETASeconds: p.ETA.Round(time.Second).Seconds(), ElapsedSeconds: p.Elapsed.Round(time.Second).Seconds(),
		CaughtUp: p.CaughtUp, Line: p.String()}
}
