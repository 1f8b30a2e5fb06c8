package executor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/broker"
)

// This file holds the CLOB circuit breaker: after Failures consecutive copies whose order met a
// CLOB outage (5xx, 429, timeouts, broken connections, unreadable answers) it opens for a
// cooldown, during which no order is prepared or sent and each copy is recorded as skipped with
// the reason. After the cooldown one copy is let through as a probe (half-open): if the CLOB
// answers it (filled, unfilled or rejected) the breaker closes; if it meets an outage again the
// breaker reopens for twice the last cooldown, up to MaxCooldown. A rejection (validation,
// balance, auth…) is an answer, not an outage: it never opens the breaker.
//
// It is not the daily-loss circuit breaker (store.Breaker), which stops BUYs for the rest of
// the trading day.

// Defaults of BreakerOptions.
const (
	DefaultBreakerFailures    = 5
	DefaultBreakerCooldown    = 30 * time.Second
	DefaultBreakerMaxCooldown = 10 * time.Minute
)

// BreakerOptions configures the CLOB circuit breaker; zero values take the defaults.
type BreakerOptions struct {
	// Failures is how many consecutive outage failures open the breaker.
	Failures int
	// Cooldown is how long the breaker stays open after it first opens.
	Cooldown time.Duration
	// MaxCooldown caps the cooldown, which doubles each time a probe fails.
	MaxCooldown time.Duration
}

func (o *BreakerOptions) validate() error {
	if o.Failures < 0 || o.Cooldown < 0 || o.MaxCooldown < 0 {
		return errors.New("executor: breaker failures and cooldowns must not be negative")
	}
	if o.Failures == 0 {
		o.Failures = DefaultBreakerFailures
	}
	if o.Cooldown == 0 {
		o.Cooldown = DefaultBreakerCooldown
	}
	if o.MaxCooldown == 0 {
		o.MaxCooldown = max(DefaultBreakerMaxCooldown, o.Cooldown)
	}
	if o.MaxCooldown < o.Cooldown {
		return fmt.Errorf("executor: breaker max cooldown %s is shorter than its cooldown %s", o.MaxCooldown, o.Cooldown)
	}
	return nil
}

// BreakerState is the CLOB circuit breaker's state.
type BreakerState uint8

// Breaker states.
const (
	BreakerClosed   BreakerState = iota // orders are sent
	BreakerOpen                         // no order is sent until the cooldown ends
	BreakerHalfOpen                     // one probe order is allowed
)

var breakerStateNames = [...]string{"closed", "open", "half-open"}

func (s BreakerState) String() string {
	if int(s) < len(breakerStateNames) {
		return breakerStateNames[s]
	}
	return fmt.Sprintf("BreakerState(%d)", uint8(s))
}

// BreakerStatus is the breaker as Executor.Breaker reports it.
type BreakerStatus struct {
	State BreakerState
	// Failures is the count of consecutive outage failures.
	Failures int
	// RetryAt is when an open breaker lets a probe through.
	RetryAt time.Time
	// Trips counts the times the breaker opened (reopenings included) since start.
	Trips uint64
	// LastError is the last outage's error.
	LastError string
}

// String is the breaker's state for a status line: "CLOB breaker open: 5 consecutive failures,
// retry at 12:00:00 UTC".
func (s BreakerStatus) String() string {
	switch s.State {
	case BreakerOpen:
		return fmt.Sprintf("CLOB breaker open: %d consecutive failures, retry at %s", s.Failures, clockTime(s.RetryAt))
	case BreakerHalfOpen:
		return fmt.Sprintf("CLOB breaker half-open: probing after %d consecutive failures", s.Failures)
	default:
		return "CLOB breaker closed"
	}
}

func clockTime(t time.Time) string { return t.UTC().Format("15:04:05") + " UTC" }

// verdict is what one copy's CLOB calls say about the CLOB.
type verdict uint8

const (
	verdictNone     verdict = iota // nothing was asked of the CLOB, or the copy was cut off at shutdown
	verdictAnswered                // the CLOB answered: placed, not filled, or rejected
	verdictOutage                  // 5xx, 429, timeout, broken connection, unreadable answer
)

// verdictOf classifies the error of a copy's Prepare or PlaceOrder; ctx is the copy's context.
func verdictOf(ctx context.Context, err error) verdict {
	switch {
	case err == nil:
		return verdictAnswered
	case ctx.Err() != nil:
		return verdictNone // shutdown cut the call off; it says nothing about the CLOB
	case errors.Is(err, broker.ErrRefused), errors.Is(err, broker.ErrPriceBound):
		return verdictNone // refused here, before sending
	case Outage(err):
		return verdictOutage
	case errors.Is(err, broker.ErrVersionMismatch), errors.Is(err, broker.ErrGeoblocked):
		// The CLOB refuses every order polybot signs (another order version, or this region):
		// it counts toward the breaker like an outage.
		return verdictOutage
	case Rejected(err):
		return verdictAnswered
	}
	return verdictNone
}

// Outage reports whether a broker error means the CLOB did not answer usefully
// (broker.ErrOutage): a 5xx or 429 after the client's retries, a timeout, a broken connection,
// an answer that cannot be read, or an order whose outcome is unknown. A rejection
// (validation, balance, auth…) is not an outage.
func Outage(err error) bool { return errors.Is(err, broker.ErrOutage) }

// CLOBBreaker is the CLOB circuit breaker. Safe for concurrent use.
type CLOBBreaker struct {
	opts     BreakerOptions
	log      *zap.Logger
	onChange func()

	mu       sync.Mutex
	state    BreakerState
	failures int
	cooldown time.Duration // of the current (or last) opening
	openedAt time.Time     // of the first opening of the current outage
	until    time.Time
	probing  bool // half-open, and the probe copy is under way
	trips    uint64
	lastErr  string
}

// NewCLOBBreaker validates opts and returns a closed breaker. onChange, if set, is called
// (outside the breaker's lock) after each change of state.
func NewCLOBBreaker(opts BreakerOptions, log *zap.Logger, onChange func()) (*CLOBBreaker, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &CLOBBreaker{opts: opts, log: log, onChange: onChange}, nil
}

// Status reports the breaker's state.
func (b *CLOBBreaker) Status() BreakerStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	return BreakerStatus{State: b.state, Failures: b.failures, RetryAt: b.until, Trips: b.trips, LastError: b.lastErr}
}

// allow is asked before a copy's order is prepared. ok false means no order may be sent and
// reason says why; probe true means this copy is the half-open breaker's probe, and its verdict
// decides whether the breaker closes.
func (b *CLOBBreaker) allow(now time.Time) (probe bool, reason string, ok bool) {
	b.mu.Lock()
	changed := false
	defer func() {
		b.mu.Unlock()
		if changed {
			b.changed()
		}
	}()
	switch b.state {
	case BreakerClosed:
		return false, "", true
	case BreakerOpen:
		if now.Before(b.until) {
			return false, fmt.Sprintf("CLOB circuit breaker open: %d consecutive failures, retry at %s", b.failures, clockTime(b.until)), false
		}
		b.state, changed = BreakerHalfOpen, true
		b.log.Info("CLOB circuit breaker half-open: sending one probe order", zap.Int("failures", b.failures),
			zap.Duration("open_for", now.Sub(b.openedAt).Round(time.Second)))
	}
	if b.probing {
		return false, fmt.Sprintf("CLOB circuit breaker half-open: a probe order is under way after %d consecutive failures", b.failures), false
	}
	b.probing = true
	return true, "", true
}

// record takes a copy's verdict on the CLOB; probe is what allow said.
func (b *CLOBBreaker) record(now time.Time, probe bool, v verdict, err error) {
	b.mu.Lock()
	changed := false
	defer func() {
		b.mu.Unlock()
		if changed {
			b.changed()
		}
	}()
	if probe {
		b.probing = false
	}
	switch v {
	case verdictAnswered:
		if b.state != BreakerClosed {
			b.log.Info("CLOB circuit breaker closed: the CLOB answers again",
				zap.Int("failures", b.failures), zap.Duration("open_for", now.Sub(b.openedAt).Round(time.Second)))
			changed = true
		}
		b.state, b.failures, b.cooldown, b.until = BreakerClosed, 0, 0, time.Time{}
	case verdictOutage:
		b.failures++
		b.lastErr = err.Error()
		switch {
		case b.state == BreakerHalfOpen && probe:
			b.cooldown = min(2*b.cooldown, b.opts.MaxCooldown)
			b.open(now)
			b.log.Warn("CLOB circuit breaker open again: the probe order failed; no order is sent until the cooldown ends",
				zap.Int("failures", b.failures), zap.Duration("cooldown", b.cooldown), zap.String("retry_at", clockTime(b.until)), zap.Error(err))
			changed = true
		case b.state == BreakerClosed && b.failures >= b.opts.Failures:
			b.cooldown = b.opts.Cooldown
			b.openedAt = now
			b.open(now)
			b.log.Warn("CLOB circuit breaker open: repeated CLOB failures; no order is sent until the cooldown ends",
				zap.Int("failures", b.failures), zap.Duration("cooldown", b.cooldown), zap.String("retry_at", clockTime(b.until)), zap.Error(err))
			changed = true
		}
	}
}

func (b *CLOBBreaker) open(now time.Time) {
	b.state, b.until = BreakerOpen, now.Add(b.cooldown)
	b.trips++
}

func (b *CLOBBreaker) changed() {
	if b.onChange != nil {
		b.onChange()
	}
}
