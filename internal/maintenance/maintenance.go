// Package maintenance is polybot's housekeeping loop: each interval it sweeps expired state and logs
// one line of sizes and memory use, and it feeds the systemd watchdog only while the pipeline is
// healthy, so a stuck pipeline stops the keep-alives and the service manager restarts polybot.
package maintenance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/metrics"
	"strconv"
	"time"

	"go.uber.org/zap"
)

// DefaultInterval is the report interval polybot uses unless configured otherwise.
const DefaultInterval = 30 * time.Second

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
	Sweep func()
	// Status, if set, gives the line sent to Notifier each interval; it requires Notifier.
	Status   func() string
	Notifier StatusNotifier
}

// Loop is the maintenance loop. Run it once.
type Loop struct {
	opts    Options
	log     *zap.Logger
	samples []metrics.Sample
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
	return &Loop{
		opts: opts,
		log:  opts.Log,
		samples: []metrics.Sample{
			{Name: metricHeapObjects}, {Name: metricHeapUnused}, {Name: metricGoroutines},
		},
	}, nil
}

// Run reports every Interval and feeds the watchdog until ctx is cancelled, then returns nil.
func (l *Loop) Run(ctx context.Context) error {
	report := time.NewTicker(l.opts.Interval)
	defer report.Stop()

	wd := &watchdogState{log: l.log, sendErr: errLimiter{log: l.log, failMsg: "watchdog keep-alive failed", okMsg: "watchdog keep-alive sent again"}}
	var feed <-chan time.Time
	if l.opts.Watchdog != nil {
		if interval := l.opts.Watchdog.WatchdogInterval(); interval > 0 {
			period := max(interval/2, time.Microsecond)
			l.log.Info("watchdog enabled", zap.Duration("interval", interval), zap.Duration("keepalive_every", period))
			wd.feed(l.opts.Watchdog, l.opts.Healthy)
			t := time.NewTicker(period)
			defer t.Stop()
			feed = t.C
		}
	}
	status := errLimiter{log: l.log, failMsg: "status notification failed", okMsg: "status notification sent again"}

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-feed:
			wd.feed(l.opts.Watchdog, l.opts.Healthy)
		case <-report.C:
			l.report(&status)
		}
	}
}

func (l *Loop) report(status *errLimiter) {
	if l.opts.Sweep != nil {
		l.opts.Sweep()
	}
	s := l.opts.Snapshot()
	metrics.Read(l.samples)
	heapObjects, heapUnused := metricUint(l.samples[0]), metricUint(l.samples[1])
	rss, _ := ReadRSS() // 0 where /proc is unavailable
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
		zap.Int64("rss_bytes", rss),
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

// watchdogState feeds the watchdog and logs only when the pipeline's health changes.
type watchdogState struct {
	log          *zap.Logger
	unhealthy    bool
	unhealthySet time.Time
	sendErr      errLimiter
}

func (w *watchdogState) feed(wd Watchdog, healthy func() error) {
	if err := healthy(); err != nil {
		if !w.unhealthy {
			w.unhealthy, w.unhealthySet = true, time.Now()
			w.log.Warn("watchdog not fed", zap.String("reason", err.Error()))
		}
		return
	}
	if w.unhealthy {
		w.unhealthy = false
		w.log.Info("watchdog fed again", zap.Duration("unhealthy_for", time.Since(w.unhealthySet)))
	}
	w.sendErr.observe(wd.Watchdog())
}

// errLimiter logs the first of a run of errors, then at most one per errorLogEvery with the count
// suppressed meanwhile, and one line when the errors stop.
type errLimiter struct {
	log        *zap.Logger
	failMsg    string
	okMsg      string
	failing    bool
	lastLog    time.Time
	suppressed int
}

func (e *errLimiter) observe(err error) {
	now := time.Now()
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
