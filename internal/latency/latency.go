// Package latency keeps what each copy took, stage by stage, and the price it got against the
// leader's, over a sliding window (an hour by default), for `polybot status` to show as p50
// and p99. Memory is bounded: each series keeps at most Max samples, the oldest dropped first.
package latency

import (
	"slices"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// Stages of a copy, each from the moment before it.
const (
	BlockToSeen = "block_to_seen" // the leader's block timestamp → polybot read the log
	SeenToSent  = "seen_to_sent"  // log read → order sent (dedup, queue, lock, sizing, journal)
	SentToFill  = "sent_to_fill"  // order sent → the broker's answer with the fill
	BlockToFill = "block_to_fill" // the whole: the leader's block → polybot's fill
)

// Stages lists the stages in the order they happen.
var Stages = []string{BlockToSeen, SeenToSent, SentToFill, BlockToFill}

// Defaults of New.
const (
	DefaultWindow = time.Hour
	DefaultMax    = 10_000
)

// Recorder keeps the samples. Its methods are safe for concurrent use.
type Recorder struct {
	window time.Duration
	mu     sync.Mutex
	series map[string]*ring
}

// New returns a Recorder over window keeping at most max samples a series (0: the defaults).
func New(window time.Duration, max int) *Recorder {
	if window <= 0 {
		window = DefaultWindow
	}
	if max <= 0 {
		max = DefaultMax
	}
	r := &Recorder{window: window, series: map[string]*ring{}}
	for _, s := range append(slices.Clone(Stages), slippage) {
		r.series[s] = &ring{at: make([]int64, max), v: make([]int64, max)}
	}
	return r
}

// slippage is the series of slippage samples, in hundredths of a basis point.
const slippage = "slippage"

// Observe records one copy's stage duration at now. Negative durations (a block timestamp a
// second ahead of polybot's clock) are recorded as 0.
func (r *Recorder) Observe(now time.Time, stage string, d time.Duration) {
	r.add(stage, now, int64(max(d, 0)))
}

// ObserveSlippage records one copy's slippage in basis points: how much worse than the
// leader's price polybot's average price was (positive: a BUY paid more, a SELL got less).
func (r *Recorder) ObserveSlippage(now time.Time, bps decimal.Decimal) {
	r.add(slippage, now, bps.Shift(2).Round(0).IntPart())
}

func (r *Recorder) add(series string, now time.Time, v int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.series[series]; ok {
		s.add(now.UnixNano(), v)
	}
}

// Stage is one stage's figures over the window.
type Stage struct {
	Stage string        `json:"stage"`
	Count int           `json:"count"`
	P50   time.Duration `json:"p50_ns"`
	P99   time.Duration `json:"p99_ns"`
}

// Summary is every stage's figures and the slippage's, over the window ending now.
type Summary struct {
	WindowSeconds float64 `json:"window_seconds"`
	Stages        []Stage `json:"stages"`
	// Slippage in basis points, exact decimal strings; "" with no sample.
	SlippageCount int    `json:"slippage_count"`
	SlippageP50   string `json:"slippage_p50_bps,omitempty"`
	SlippageP99   string `json:"slippage_p99_bps,omitempty"`
}

// Summary computes the p50 and p99 of each series over the window ending at now.
func (r *Recorder) Summary(now time.Time) Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	since := now.Add(-r.window).UnixNano()
	out := Summary{WindowSeconds: r.window.Seconds()}
	for _, st := range Stages {
		v := r.series[st].since(since)
		s := Stage{Stage: st, Count: len(v)}
		if len(v) > 0 {
			s.P50, s.P99 = time.Duration(quantile(v, 50)), time.Duration(quantile(v, 99))
		}
		out.Stages = append(out.Stages, s)
	}
	if v := r.series[slippage].since(since); len(v) > 0 {
		out.SlippageCount = len(v)
		out.SlippageP50 = decimal.New(quantile(v, 50), -2).String()
		out.SlippageP99 = decimal.New(quantile(v, 99), -2).String()
	}
	return out
}

// quantile is the p-th percentile of v by nearest rank; v is sorted in place.
func quantile(v []int64, p int) int64 {
	slices.Sort(v)
	i := (p*len(v) + 99) / 100 // ceil(p/100 × n), 1-based
	return v[max(i, 1)-1]
}

// ring is a fixed-capacity series of (time, value) samples, the oldest overwritten first.
type ring struct {
	at, v []int64
	next  int
	full  bool
}

func (g *ring) add(at, v int64) {
	g.at[g.next], g.v[g.next] = at, v
	g.next++
	if g.next == len(g.at) {
		g.next, g.full = 0, true
	}
}

// since copies the values of the samples taken at or after t.
func (g *ring) since(t int64) []int64 {
	n := g.next
	if g.full {
		n = len(g.at)
	}
	out := make([]int64, 0, n)
	for i := range n {
		if g.at[i] >= t {
			out = append(out, g.v[i])
		}
	}
	return out
}
