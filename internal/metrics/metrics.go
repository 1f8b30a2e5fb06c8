// Package metrics exposes polybot's Prometheus metrics with /healthz and /readyz over HTTP.
//
// Counters and gauges are read from the components' own Stats at scrape time, so the copy path
// pays nothing for them. Two histograms need a hook on the path: ObserveCopy (the executor's
// Observer) times each copy, and Broker wraps the broker to time each order.
//
// The registry is polybot's own, not the process-wide default, so nothing a library registers
// globally leaks into /metrics.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/broker"
)

// Snapshot is the application state one scrape reports; the application fills it.
type Snapshot struct {
	// Wallet monitor.
	Logs, Fills, Duplicates, Malformed, Ignored, Removed, Reconnects uint64
	HeadBlock                                                        uint64
	// Orphaned counts decided leader fills a reorg removed for good (internal/reorgcheck).
	Orphaned uint64
	// HeadAge is how long ago the head last advanced; reported only when HeadAgeKnown.
	HeadAge      time.Duration
	HeadAgeKnown bool
	// ClockSkew is the system clock's lead over the chain head's time in seconds (negative:
	// behind); reported only when ClockSkewKnown.
	ClockSkew      float64
	ClockSkewKnown bool
	Subscribed     bool
	// Healthy is the monitor's Healthy() == nil: subscribed and the head advancing.
	Healthy bool

	// Executor.
	Copied, Skipped, Failed uint64
	Locks                   int
	// CopyingPaused is true while the executor waits for the state store to take writes.
	CopyingPaused bool
	// CLOBBreaker is the CLOB circuit breaker's state: "closed", "open" or "half-open".
	CLOBBreaker string
	// CLOBBreakerTrips counts the times it opened since start.
	CLOBBreakerTrips uint64
	// RedemptionsPaid and RedemptionsFailed count redemption attempts since start whose receipt
	// showed the payout, and those that failed.
	RedemptionsPaid, RedemptionsFailed uint64

	// Dedup cache.
	DedupSize, DedupCapacity         int
	DedupBytes                       int64
	DedupHits, DedupMisses           uint64
	DedupEvictions, DedupExpirations uint64

	// Position book.
	OpenPositions int
	// RealisedUSDC is the realised P&L of the trading day ("realised today"),
	// RealisedAllTimeUSDC the all-time one, UnrealisedUSDC the open positions' marked P&L.
	RealisedUSDC, RealisedAllTimeUSDC, UnrealisedUSDC float64
	// Leaders are the configured leaders' P&L figures, one label value each.
	Leaders []LeaderPnL

	// ReloadFailed is true while the last config reload was refused.
	ReloadFailed bool
	// DailyLossTripped is true while the daily-loss breaker stops BUYs for the trading day;
	// DailyLossPnLUSDC is the day's P&L that tripped it (a gauge, not money).
	DailyLossTripped bool
	DailyLossPnLUSDC float64

	// Footprint: resident memory by kind (/proc/self/status RssAnon and RssFile; the state
	// store's mapped file counts in the file-backed part), and the store file's size and the
	// part of it holding data. Not reported while RSSKnown is false (no /proc).
	RSSKnown                       bool
	RSSAnonBytes, RSSFileBytes     int64
	StoreFileBytes, StoreLiveBytes int64
}

// Copy outcomes, as the executor names them.
const (
	OutcomeCopied  = "copied"
	OutcomeSkipped = "skipped"
	OutcomeFailed  = "failed"
)

// BreakerStates are the CLOB circuit breaker's states, each a label of polybot_clob_breaker_state.
var BreakerStates = []string{"closed", "open", "half-open"}

// Options configures New.
type Options struct {
	// Version is reported in polybot_build_info.
	Version string
	// Snapshot is called once per scrape; required.
	Snapshot func() Snapshot
	// Ready returns nil when polybot is ready to copy, or why not (answered by /readyz). nil
	// means always ready. The reason is shown to whoever asks: it must hold no secret.
	Ready func() error
	// Log defaults to a no-op logger.
	Log *zap.Logger
}

// Metrics is polybot's registry and its HTTP handler. Safe for concurrent use.
type Metrics struct {
	reg       *prometheus.Registry
	ready     func() error
	log       *zap.Logger
	copies    map[string]prometheus.Observer
	orderOK   prometheus.Observer
	orderKO   prometheus.Observer
	detection prometheus.Observer
	latency   *prometheus.HistogramVec
	slippage  prometheus.Histogram
	skips     *prometheus.CounterVec
	handler   http.Handler
}

// Histogram buckets, in seconds: from a paper fill (microseconds) to a slow CLOB (tens of seconds).
var durationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// New builds the registry: polybot's collector, the copy and order histograms, and the Go runtime
// and process collectors (heap, goroutines, RSS, open files, CPU).
func New(opts Options) (*Metrics, error) {
	if opts.Snapshot == nil {
		return nil, errors.New("metrics: Snapshot is required")
	}
	if opts.Ready == nil {
		opts.Ready = func() error { return nil }
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	m := &Metrics{reg: prometheus.NewRegistry(), ready: opts.Ready, log: opts.Log}

	copyDur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "polybot_copy_duration_seconds",
		Help:    "Time from an executor worker taking a leader fill to the copy's outcome (market lock wait, sizing, order), by outcome.",
		Buckets: durationBuckets,
	}, []string{"outcome"})
	orderDur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "polybot_order_duration_seconds",
		Help:    "Time the broker took to place one copy order, by result (ok or error).",
		Buckets: durationBuckets,
	}, []string{"result"})
	m.copies = map[string]prometheus.Observer{}
	for _, o := range []string{OutcomeCopied, OutcomeSkipped, OutcomeFailed} {
		m.copies[o] = copyDur.WithLabelValues(o)
	}
	m.orderOK, m.orderKO = orderDur.WithLabelValues("ok"), orderDur.WithLabelValues("error")
	detection := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "polybot_detection_delay_seconds",
		Help:    "Time from a leader fill's block timestamp (whole seconds) to an executor worker taking the fill.",
		Buckets: []float64{0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300},
	})
	m.detection = detection
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "polybot_copy_latency_seconds",
		Help: "Each filled copy's path, by stage: block_to_seen (leader's block timestamp, whole seconds, to polybot reading the log), " +
			"seen_to_sent (to the order going out), sent_to_fill (to the broker's fill), block_to_fill (the whole).",
		Buckets: []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60},
	}, []string{"stage"})
	m.slippage = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "polybot_copy_slippage_bps",
		Help:    "Each filled copy's average price against the leader's, in basis points; positive when worse (a BUY paid more, a SELL got less).",
		Buckets: []float64{-200, -100, -50, -20, -10, -1, 0, 1, 10, 20, 50, 100, 200, 500},
	})

	m.skips = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "polybot_copies_skipped_by_limit_total",
		Help: "Leader fills skipped, by the config key that decided it (limit; \"none\" when no setting did), as polybot decisions lists it.",
	}, []string{"limit"})

	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "polybot_build_info",
		Help:        "Always 1; the labels say which polybot runs.",
		ConstLabels: prometheus.Labels{"version": opts.Version, "goversion": runtime.Version()},
	})
	build.Set(1)

	for _, c := range []prometheus.Collector{
		&collector{snapshot: opts.Snapshot},
		copyDur, orderDur, detection, m.latency, m.slippage, m.skips, build,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := m.reg.Register(c); err != nil {
			return nil, err
		}
	}

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            zap.NewStdLog(opts.Log),
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", m.readyz)
	m.handler = limit(mux)
	return m, nil
}

// Handler serves /metrics, /healthz and /readyz. Other paths are 404, other methods than GET
// and HEAD 405.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Registry is the registry /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// ObserveLatency records one filled copy's stage duration (internal/latency's stages).
func (m *Metrics) ObserveLatency(stage string, d time.Duration) {
	m.latency.WithLabelValues(stage).Observe(max(d, 0).Seconds())
}

// ObserveSlippage records one filled copy's slippage against the leader's price, in basis
// points (positive: worse than the leader).
func (m *Metrics) ObserveSlippage(bps float64) { m.slippage.Observe(bps) }

// ObserveDetection records one fill's detection delay; it implements executor.DetectionObserver.
func (m *Metrics) ObserveDetection(d time.Duration) { m.detection.Observe(d.Seconds()) }

// ObserveCopy records one copy's outcome and duration; it implements executor.Observer.
func (m *Metrics) ObserveCopy(outcome string, d time.Duration) {
	if o, ok := m.copies[outcome]; ok {
		o.Observe(d.Seconds())
	}
}

// ObserveSkip counts one skipped copy under the config key that decided it; it implements
// executor.SkipObserver. Keys are a fixed set (strategy.Limit*), so the label stays bounded.
func (m *Metrics) ObserveSkip(limit string) {
	if limit == "" {
		limit = "none"
	}
	m.skips.WithLabelValues(limit).Inc()
}

// OrderPlacer is the broker as the executor uses it.
type OrderPlacer interface {
	PlaceOrder(ctx context.Context, o broker.Order) (broker.Execution, error)
}

// Broker wraps next so that each PlaceOrder is timed in polybot_order_duration_seconds.
func (m *Metrics) Broker(next OrderPlacer) OrderPlacer { return &timedBroker{next: next, m: m} }

type timedBroker struct {
	next OrderPlacer
	m    *Metrics
}

func (b *timedBroker) PlaceOrder(ctx context.Context, o broker.Order) (broker.Execution, error) {
	start := time.Now()
	e, err := b.next.PlaceOrder(ctx, o)
	d := time.Since(start).Seconds()
	if err != nil {
		b.m.orderKO.Observe(d)
	} else {
		b.m.orderOK.Observe(d)
	}
	return e, err
}

func (m *Metrics) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := m.ready(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: " + err.Error() + "\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// maxBody bounds what a request may send: every endpoint is a GET.
const maxBody = 1 << 10

// limit refuses methods other than GET and HEAD and bounds the request body.
func limit(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h.ServeHTTP(w, r)
	})
}

// LeaderPnL is one configured leader's P&L, in USDC (gauges, not money: exact figures are in
// the store).
type LeaderPnL struct {
	Leader                                               string
	RealisedUSDC, UnrealisedUSDC, FeesUSDC, RedeemedUSDC float64
	Copies                                               uint64
}
