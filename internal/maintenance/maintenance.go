// Package maintenance is polybot's housekeeping loop: each interval it sweeps expired state and logs
// one line of sizes and memory use (the dedup cache, the state store's file, the heap, and the
// resident memory a user sees, anonymous and file-backed), and it feeds the systemd watchdog only while the pipeline is
// healthy, so a stuck pipeline stops the keep-alives and the service manager restarts polybot.
//
// The keep-alives have their own goroutine: a sweep that takes long (a large store compaction)
// delays the next report, never a keep-alive. A sweep still running after StuckAfter counts as
// a stuck pipeline and stops the keep-alives.
package maintenance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
	"go.uber.org/zap"
)

// DefaultInterval is the report interval polybot uses unless configured otherwise.
const DefaultInterval = 30 * time.Second

// DefaultStuckAfter is how long a sweep and report may run before the watchdog is starved.
const DefaultStuckAfter = 10 * time.Minute

// errorLogEvery bounds how often a repeating send error is logged.
const errorLogEvery = time.Minute

// Snapshot is the application state the report shows; the application fills it.
type Snapshot struct {
	DedupSize, DedupCapacity int
	DedupBytes               int64
	DedupHits, DedupMisses   uint64
	DedupEvictions           uint64
	DedupExpirations         uint64
	Locks                    int
	OpenPositions            int
	CopiesToday              uint64
	HeadBlock                uint64
	// StoreFileBytes is the state store file's size; StoreLiveBytes the part of it holding
	// data (the rest is free pages the store reuses before growing the file).
	StoreFileBytes, StoreLiveBytes int64
}

// Watchdog is the systemd watchdog, as the loop uses it.
type Watchdog interface {
	Watchdog() error
	// WatchdogInterval is 0 when the watchdog is disabled.
	WatchdogInterval() time.Duration
}

// StatusNotifier sets the service's one-line status.
type StatusNotifier interface {
	Status(line string) error
}

// Options configures a Loop. Only Interval is required.
type Options struct {
	// Interval between reports; must be positive (DefaultInterval is the usual choice).
	Interval time.Duration
	// Log defaults to a no-op logger.
	Log *zap.Logger
	// Snapshot returns the application state for the report; nil reports zeros.
	Snapshot func() Snapshot
	// Healthy returns nil while the pipeline makes progress, or an error saying why not.
	// nil means always healthy.
	Healthy func() error
	// Watchdog is fed at half its interval while Healthy returns nil; nil disables feeding.
	Watchdog Watchdog
	// Sweep, if set, is called each interval before the report (for example a dedup expiry sweep).
	// It runs apart from the watchdog keep-alives, which it does not delay.
	Sweep func()
	// StuckAfter: a sweep and report running longer than this stop the keep-alives, so that
	// systemd restarts a polybot stuck in its housekeeping. 0 means DefaultStuckAfter.
	StuckAfter time.Duration
	// Clock is the monotonic clock of the intervals; nil means mclock.System{}.
	Clock mclock.Clock
	// Status, if set, gives the line sent to Notifier each interval; it requires Notifier.
	Status   func() string
	Notifier StatusNotifier
}

// Loop is the maintenance loop. Run it once.
type Loop struct {
	opts    Options
	log     *zap.Logger
	clock   mclock.Clock
	samples []metrics.Sample

	mu        sync.Mutex
	busy      bool // a sweep and report are under way, since busySince
	busySince mclock.AbsTime
}

// Runtime metrics read for each report.
const (
	metricHeapObjects = "/memory/classes/heap/objects:bytes"
	metricHeapUnused  = "/memory/classes/heap/unused:bytes"
	metricGoroutines  = "/sched/goroutines:goroutines"
)

// New validates opts and fills defaults.
func New(opts Options) (*Loop, error) {
	if opts.Interval <= 0 {
		return nil, fmt.Errorf("maintenance interval %v: must be positive", opts.Interval)
	}
	if opts.Status != nil && opts.Notifier == nil {
		return nil, errors.New("maintenance status: a Status function needs a Notifier to send it to")
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Snapshot == nil {
		opts.Snapshot = func() Snapshot { return Snapshot{} }
	}
	if opts.Healthy == nil {
		opts.Healthy = func() error { return nil }
	}
	if opts.StuckAfter < 0 {
		return nil, fmt.Errorf("maintenance stuck-after %v: must not be negative", opts.StuckAfter)
	}
	if opts.StuckAfter == 0 {
		opts.StuckAfter = DefaultStuckAfter
	}
	if opts.Clock == nil {
		opts.Clock = mclock.System{}
	}
	return &Loop{
		opts:  opts,
		log:   opts.Log,
		clock: opts.Clock,
		samples: []metrics.Sample{
			{Name: metricHeapObjects}, {Name: metricHeapUnused}, {Name: metricGoroutines},
		},
	}, nil
}

// Run reports every Interval and feeds the watchdog until ctx is cancelled, then returns nil.
// The keep-alives run in their own goroutine, so a long sweep delays neither of them.
func (l *Loop) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if l.opts.Watchdog != nil {
		if interval := l.opts.Watchdog.WatchdogInterval(); interval > 0 {
			period := max(interval/2, time.Microsecond)
			l.log.Info("watchdog enabled", zap.Duration("interval", interval), zap.Duration("keepalive_every", period))
			wg.Add(1)
			go func() {
				defer wg.Done()
				l.feedLoop(ctx, period)
			}()
		}
	}

	status := errLimiter{clock: l.clock, log: l.log, failMsg: "status notification failed", okMsg: "status notification sent again"}
	report := l.clock.NewTimer(l.opts.Interval)
	defer report.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-report.C():
			l.setBusy(true)
			l.report(&status)
			l.setBusy(false)
			report.Reset(l.opts.Interval)
		}
	}
}

// feedLoop feeds the watchdog now and every period until ctx ends.
func (l *Loop) feedLoop(ctx context.Context, period time.Duration) {
	wd := &watchdogState{clock: l.clock, log: l.log, started: l.clock.Now(),
		sendErr: errLimiter{clock: l.clock, log: l.log, failMsg: "watchdog keep-alive failed", okMsg: "watchdog keep-alive sent again"}}
	wd.feed(l.opts.Watchdog, l.health())
	t := l.clock.NewTimer(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			wd.feed(l.opts.Watchdog, l.health())
			t.Reset(period)
		}
	}
}

// health is the pipeline's health, or a sweep running for StuckAfter or more.
func (l *Loop) health() error {
	if err := l.opts.Healthy(); err != nil {
		return err
	}
	l.mu.Lock()
	busy, since := l.busy, l.busySince
	l.mu.Unlock()
	if d := l.clock.Now().Sub(since); busy && d >= l.opts.StuckAfter {
		return fmt.Errorf("maintenance sweep running for %v", d.Round(time.Second))
	}
	return nil
}

func (l *Loop) setBusy(busy bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.busy, l.busySince = busy, l.clock.Now()
}

func (l *Loop) report(status *errLimiter) {
	if l.opts.Sweep != nil {
		l.opts.Sweep()
	}
	s := l.opts.Snapshot()
	metrics.Read(l.samples)
	heapObjects, heapUnused := metricUint(l.samples[0]), metricUint(l.samples[1])
	mem, _ := ReadMemory() // zeros where /proc is unavailable
	l.log.Info("maintenance",
		zap.Int("dedup_size", s.DedupSize),
		zap.Int("dedup_capacity", s.DedupCapacity),
		zap.Int64("dedup_bytes", s.DedupBytes),
		zap.Uint64("dedup_hits", s.DedupHits),
		zap.Uint64("dedup_misses", s.DedupMisses),
		zap.Uint64("dedup_evictions", s.DedupEvictions),
		zap.Uint64("dedup_expirations", s.DedupExpirations),
		zap.Int("locks", s.Locks),
		zap.Int("positions", s.OpenPositions),
		zap.Uint64("copies_today", s.CopiesToday),
		zap.Uint64("head_block", s.HeadBlock),
		zap.Uint64("heap_bytes", heapObjects+heapUnused),
		zap.Uint64("heap_alloc_bytes", heapObjects),
		zap.Int64("store_file_bytes", s.StoreFileBytes),
		zap.Int64("store_live_bytes", s.StoreLiveBytes),
		zap.Int64("rss_bytes", mem.RSS),
		zap.Int64("rss_anon_bytes", mem.Anon),
		zap.Int64("rss_file_bytes", mem.File),
		zap.Uint64("goroutines", metricUint(l.samples[2])),
	)
	if l.opts.Status != nil {
		status.observe(l.opts.Notifier.Status(l.opts.Status()))
	}
}

func metricUint(s metrics.Sample) uint64 {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s.Value.Uint64()
}

// watchdogStartGrace is how long a starting polybot may be unhealthy (not subscribed yet, no
// head seen) before "watchdog not fed" is logged: a normal start takes a second or two and is
// no cause for a warning; a start still unhealthy after this is, well before the unit's
// WatchdogSec=30 ends it.
const watchdogStartGrace = 15 * time.Second

// watchdogState feeds the watchdog and logs only when the pipeline's health changes.
type watchdogState struct {
	clock        mclock.Clock
	log          *zap.Logger
	started      mclock.AbsTime
	fed          bool // a keep-alive was sent since start
	unhealthy    bool
	unhealthySet mclock.AbsTime
	sendErr      errLimiter
}

// feed sends a keep-alive if health is nil.
func (w *watchdogState) feed(wd Watchdog, health error) {
	if err := health; err != nil {
		if !w.fed && w.clock.Now().Sub(w.started) < watchdogStartGrace {
			return // still starting: the first head has not come yet
		}
		if !w.unhealthy {
			w.unhealthy, w.unhealthySet = true, w.clock.Now()
			w.log.Warn("watchdog not fed", zap.String("reason", err.Error()))
		}
		return
	}
	if w.unhealthy {
		w.unhealthy = false
		w.log.Info("watchdog fed again", zap.Duration("unhealthy_for", w.clock.Now().Sub(w.unhealthySet)))
	}
	w.fed = true
	w.sendErr.observe(wd.Watchdog())
}

// errLimiter logs the first of a run of errors, then at most one per errorLogEvery with the count
// suppressed meanwhile, and one line when the errors stop.
type errLimiter struct {
	clock      mclock.Clock
	log        *zap.Logger
	failMsg    string
	okMsg      string
	failing    bool
	lastLog    mclock.AbsTime
	suppressed int
}

func (e *errLimiter) observe(err error) {
	now := e.clock.Now()
	switch {
	case err == nil && e.failing:
		e.failing = false
		e.log.Info(e.okMsg, zap.Int("suppressed", e.suppressed))
		e.suppressed = 0
	case err == nil:
	case !e.failing || now.Sub(e.lastLog) >= errorLogEvery:
		e.failing, e.lastLog = true, now
		e.log.Warn(e.failMsg, zap.Error(err), zap.Int("suppressed", e.suppressed))
		e.suppressed = 0
	default:
		e.suppressed++
	}
}

// ReadRSS returns this process's resident set size in bytes, from /proc/self/statm.
func ReadRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, fmt.Errorf("read rss: %w", err)
	}
	fields := bytes.Fields(b)
	if len(fields) < 2 {
		return 0, fmt.Errorf("read rss: /proc/self/statm has %d fields, want at least 2", len(fields))
	}
	pages, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read rss: resident pages %q: %w", fields[1], err)
	}
	return pages * int64(os.Getpagesize()), nil
}
