package monitor

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
	"go.uber.org/zap"
)

// Progress is how far a catch-up has read: a scan of more blocks than one eth_getLogs call
// covers (chain.backfill_chunk), such as the backfill after a start or after a disconnect of
// hours. From..Target are the blocks it reads, Done the last block read so far.
type Progress struct {
	From, Done, Target uint64
	// Elapsed is the time since the catch-up's first eth_getLogs call was answered; ETA the
	// time left at the speed since then (0 = not known yet, on the first report).
	Elapsed, ETA time.Duration
	// CaughtUp is set on the last report of a catch-up, when Done reached Target.
	CaughtUp bool
}

// Percent is the share of From..Target read, in percent (for display only).
func (p Progress) Percent() float64 {
	if p.Target < p.From || p.Done >= p.Target {
		return 100
	}
	return 100 * float64(p.Done+1-p.From) / float64(p.Target+1-p.From)
}

// String is the progress as a status line says it.
func (p Progress) String() string {
	if p.CaughtUp {
		return fmt.Sprintf("caught up to block %d (%d blocks in %s)", p.Target, p.Target+1-p.From, p.Elapsed.Round(time.Second))
	}
	eta := "unknown"
	if p.ETA > 0 {
		eta = p.ETA.String()
	}
	return fmt.Sprintf("catching up: block %d of %d (%.1f%%), ETA %s", p.Done, p.Target, p.Percent(), eta)
}

// progressEvery spaces the OnProgress calls of a catch-up and progressLogEvery its log lines;
// the first and the last report are always made.
const (
	progressEvery    = time.Second
	progressLogEvery = 15 * time.Second
)

// catchUp is the catch-up under way; owned by the Run goroutine.
type catchUp struct {
	active       bool
	from, target uint64
	first        uint64         // the last block of the first call, when start was taken
	start        mclock.AbsTime // the end of the first call
	reported     bool
	reportedAt   mclock.AbsTime
	loggedAt     mclock.AbsTime
}

// progress is the monitor's catch-up state: the one under way, and the last report, which
// CatchUp reads from other goroutines.
type progress struct {
	cur  catchUp
	last atomic.Pointer[Progress]
}

// CatchUp returns the progress of the catch-up under way, or of the last one (CaughtUp set);
// ok is false before the first. Safe for concurrent use.
func (m *Monitor) CatchUp() (p Progress, ok bool) {
	if l := m.progress.last.Load(); l != nil {
		return *l, true
	}
	return Progress{}, false
}

// noteProgress is called by a scan after each eth_getLogs call, with the call's first block,
// its last (done) and the scan's last (to). A scan that one call covers is not a catch-up and
// reports nothing.
func (m *Monitor) noteProgress(from, done, to uint64) {
	c := &m.progress.cur
	now := m.clock.Now()
	if !c.active || c.target != to || done < c.from {
		if to-from+1 <= m.opts.BackfillChunk {
			c.active = false
			return
		}
		*c = catchUp{active: true, from: from, target: to, first: done, start: now, loggedAt: now}
		m.log.Info("catching up", zap.Uint64("from", from), zap.Uint64("target", to), zap.Uint64("blocks", to-from+1))
	}
	p := Progress{From: c.from, Done: min(done, c.target), Target: c.target, Elapsed: time.Duration(now - c.start), CaughtUp: done >= c.target}
	if !p.CaughtUp {
		if read := done - c.first; read > 0 { // the speed since the first call
			p.ETA = max(time.Duration(float64(p.Elapsed)*float64(c.target-done)/float64(read)).Round(time.Second), time.Second)
		}
		if c.reported && now-c.reportedAt < mclock.AbsTime(progressEvery) {
			return
		}
	}
	c.reported, c.reportedAt = true, now
	m.progress.last.Store(&p)
	switch {
	case p.CaughtUp:
		c.active = false
		m.log.Info("caught up", zap.Uint64("target", p.Target), zap.Uint64("blocks", p.Target+1-p.From),
			zap.Duration("took", p.Elapsed.Round(time.Millisecond)))
	case now-c.loggedAt >= mclock.AbsTime(progressLogEvery):
		c.loggedAt = now
		m.log.Info("catching up", zap.Uint64("block", p.Done), zap.Uint64("target", p.Target),
			zap.String("done", fmt.Sprintf("%.1f%%", p.Percent())), zap.Duration("eta", p.ETA))
	}
	if m.opts.OnProgress != nil {
		m.opts.OnProgress(p)
	}
}
