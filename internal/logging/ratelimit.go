package logging

import (
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/time/rate"
)

// SuppressedKey is the field that tells, on an emitted line, how many
// similar lines (same message) were suppressed since the previous one.
const SuppressedKey = "suppressed"

// maxKeys bounds the messages a RateLimiter tracks. Messages are fixed
// sentences, so this is never reached in practice; idle keys are dropped
// first when it is.
const maxKeys = 1024

// RateLimiter writes repeated log lines at a bounded rate, so that a dead
// RPC endpoint retrying in a loop does not write a line per retry. Lines are
// grouped by message text: each message may write burst lines at once and
// then one per every. The next line written for a message after some were
// dropped carries suppressed=N.
//
// A RateLimiter is safe for concurrent use and starts no goroutine.
type RateLimiter struct {
	log   *zap.Logger // reports the caller of Error, Warn, …
	base  *zap.Logger // reports the caller of Flush
	every time.Duration
	burst int
	now   func() time.Time

	mu   sync.Mutex
	keys map[string]*limitState
}

type limitState struct {
	lim        *rate.Limiter
	level      zapcore.Level
	suppressed int
}

// RateLimitOption changes a RateLimiter built by RateLimited.
type RateLimitOption func(*RateLimiter)

// WithClock makes the limiter read time from now instead of time.Now, for
// tests.
func WithClock(now func() time.Time) RateLimitOption {
	return func(r *RateLimiter) {
		if now != nil {
			r.now = now
		}
	}
}

// RateLimited returns a RateLimiter writing to log. every <= 0 is taken as
// one minute and burst < 1 as 1.
func RateLimited(log *zap.Logger, every time.Duration, burst int, opts ...RateLimitOption) *RateLimiter {
	if log == nil {
		log = zap.NewNop()
	}
	if every <= 0 {
		every = time.Minute
	}
	if burst < 1 {
		burst = 1
	}
	r := &RateLimiter{
		log:   log.WithOptions(zap.AddCallerSkip(2)),
		base:  log.WithOptions(zap.AddCallerSkip(1)),
		every: every,
		burst: burst,
		now:   time.Now,
		keys:  map[string]*limitState{},
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Debug logs at debug level, rate-limited by msg.
func (r *RateLimiter) Debug(msg string, fields ...zap.Field) {
	r.write(zapcore.DebugLevel, msg, fields)
}

// Info logs at info level, rate-limited by msg.
func (r *RateLimiter) Info(msg string, fields ...zap.Field) { r.write(zapcore.InfoLevel, msg, fields) }

// Warn logs at warn level, rate-limited by msg.
func (r *RateLimiter) Warn(msg string, fields ...zap.Field) { r.write(zapcore.WarnLevel, msg, fields) }

// Error logs at error level, rate-limited by msg.
func (r *RateLimiter) Error(msg string, fields ...zap.Field) {
	r.write(zapcore.ErrorLevel, msg, fields)
}

func (r *RateLimiter) write(level zapcore.Level, msg string, fields []zap.Field) {
	if !r.log.Core().Enabled(level) {
		return // a disabled level neither writes nor counts
	}
	now := r.now()
	r.mu.Lock()
	st, ok := r.keys[msg]
	if !ok {
		r.evictIdle(now)
		st = &limitState{lim: rate.NewLimiter(rate.Every(r.every), r.burst)}
		r.keys[msg] = st
	}
	st.level = level
	if !st.lim.AllowN(now, 1) {
		st.suppressed++
		r.mu.Unlock()
		return
	}
	n := st.suppressed
	st.suppressed = 0
	r.mu.Unlock()

	if n > 0 {
		fields = append(fields[:len(fields):len(fields)], zap.Int(SuppressedKey, n))
	}
	if ce := r.log.Check(level, msg); ce != nil {
		ce.Write(fields...)
	}
}

// Flush writes one line for every message that has suppressed lines not yet
// reported, with suppressed=N, for instance on shutdown. It is not rate
// limited.
func (r *RateLimiter) Flush() {
	type pending struct {
		msg   string
		level zapcore.Level
		n     int
	}
	var out []pending
	r.mu.Lock()
	for msg, st := range r.keys {
		if st.suppressed > 0 {
			out = append(out, pending{msg, st.level, st.suppressed})
			st.suppressed = 0
		}
	}
	r.mu.Unlock()
	for _, p := range out {
		if ce := r.base.Check(p.level, p.msg); ce != nil {
			ce.Write(zap.Int(SuppressedKey, p.n))
		}
	}
}

// evictIdle drops, when the map is full, the messages with nothing
// suppressed whose limiter has refilled: forgetting them changes nothing.
// Called with mu held.
func (r *RateLimiter) evictIdle(now time.Time) {
	if len(r.keys) < maxKeys {
		return
	}
	for msg, st := range r.keys {
		if st.suppressed == 0 && st.lim.TokensAt(now) >= float64(r.burst) {
			delete(r.keys, msg)
		}
	}
}
