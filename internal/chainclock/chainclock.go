// Package chainclock measures the system clock against the chain: the timestamp of the newest
// block is the time every node agrees on. A wrong system clock would make polybot skip every
// leader BUY as too old (copy.max_fill_age), or copy stale ones; the Watcher reports the skew
// (log, metric, status) and gives the chain's time (Now) to whoever measures a fill's age.
//
// Each round reads the head header. now − head.Time is the clock's lead over the chain plus
// the head's age (a Polygon block is about 2 s apart, and a node sees it a second or so after
// it is stamped); the smallest of the last Window samples drops most of that age, so the
// estimate errs by a few seconds at most, never by a head that happened to be late.
package chainclock

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"go.uber.org/zap"
)

// Defaults of Options.
const (
	DefaultInterval = 30 * time.Second
	DefaultWindow   = 10
	// DefaultWarnAbove is the skew above which the Watcher warns: a quarter of the default
	// copy.max_fill_age (2 minutes) would already change decisions.
	DefaultWarnAbove = 10 * time.Second
)

// Chain is what the watcher reads from a node (chain.Client is one).
type Chain interface {
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
}

// Options configure a Watcher.
type Options struct {
	Dial       func(ctx context.Context) (Chain, error) // required
	Interval   time.Duration                            // between samples; default DefaultInterval
	Window     int                                      // samples the estimate is the minimum of; default DefaultWindow
	WarnAbove  time.Duration                            // |skew| that is logged as a warning; default DefaultWarnAbove
	RPCTimeout time.Duration                            // default 10 s
	Now        func() time.Time                         // the system clock; default time.Now
	Log        *zap.Logger
}

// Watcher samples the chain head's time. Run it once; Skew and Now are safe for concurrent use.
type Watcher struct {
	opts   Options
	log    *zap.Logger
	client Chain

	mu      sync.Mutex
	samples []time.Duration // now − head.Time, newest last
	warned  bool
}

// New validates opts and returns a Watcher.
func New(opts Options) (*Watcher, error) {
	if opts.Dial == nil {
		return nil, errors.New("chain clock: no chain dialer")
	}
	if opts.Interval < 0 || opts.Window < 0 || opts.WarnAbove < 0 || opts.RPCTimeout < 0 {
		return nil, errors.New("chain clock: negative interval, window, threshold or timeout")
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Window == 0 {
		opts.Window = DefaultWindow
	}
	if opts.WarnAbove == 0 {
		opts.WarnAbove = DefaultWarnAbove
	}
	if opts.RPCTimeout == 0 {
		opts.RPCTimeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	return &Watcher{opts: opts, log: opts.Log}, nil
}

// Run samples at once and then every Interval until ctx ends; it returns nil then. A failed
// sample is logged at debug level (the monitor reports the node's troubles) and retried.
func (w *Watcher) Run(ctx context.Context) error {
	t := time.NewTicker(w.opts.Interval)
	defer t.Stop()
	defer w.drop()
	for {
		if err := w.Sample(ctx); err != nil && ctx.Err() == nil {
			w.log.Debug("chain clock sample failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sample reads the head once and updates the estimate.
func (w *Watcher) Sample(ctx context.Context) error {
	if w.client == nil {
		cctx, cancel := context.WithTimeout(ctx, w.opts.RPCTimeout)
		c, err := w.opts.Dial(cctx)
		cancel()
		if err != nil {
			return fmt.Errorf("dial: %w", err)
		}
		w.client = c
	}
	cctx, cancel := context.WithTimeout(ctx, w.opts.RPCTimeout)
	h, err := w.client.HeaderByNumber(cctx, nil)
	cancel()
	if err != nil || h == nil {
		w.drop()
		return errors.Join(errors.New("read the head"), err)
	}
	if h.Number == nil || h.Number.Sign() == 0 {
		return nil // a genesis block's time is the chain's configuration, not a clock (dev chains: 0)
	}
	w.add(w.opts.Now().Sub(time.Unix(int64(h.Time), 0)), h)
	return nil
}

func (w *Watcher) drop() {
	if c, ok := w.client.(interface{ Close() }); ok && c != nil {
		c.Close()
	}
	w.client = nil
}

func (w *Watcher) add(d time.Duration, h *types.Header) {
	w.mu.Lock()
	w.samples = append(w.samples, d)
	if len(w.samples) > w.opts.Window {
		w.samples = w.samples[len(w.samples)-w.opts.Window:]
	}
	skew := minOf(w.samples)
	bad := skew > w.opts.WarnAbove || skew < -w.opts.WarnAbove
	was := w.warned
	w.warned = bad
	w.mu.Unlock()
	switch {
	case bad && !was:
		w.log.Warn("system clock is off against the chain head's time; polybot measures fill ages in chain time",
			zap.Duration("skew", skew.Round(time.Second)), zap.Uint64("head", h.Number.Uint64()),
			zap.Time("head_time", time.Unix(int64(h.Time), 0).UTC()), zap.Time("system_time", w.opts.Now().UTC()))
	case !bad && was:
		w.log.Info("system clock agrees with the chain head's time again", zap.Duration("skew", skew.Round(time.Second)))
	}
}

func minOf(s []time.Duration) time.Duration {
	m := s[0]
	for _, d := range s[1:] {
		m = min(m, d)
	}
	return m
}

// Skew is the system clock's lead over the chain (negative: behind); ok is false before the
// first sample.
func (w *Watcher) Skew() (skew time.Duration, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.samples) == 0 {
		return 0, false
	}
	return minOf(w.samples), true
}

// Now is the chain's time: the system clock corrected by the measured skew when it is larger
// than WarnAbove (a skew of a few seconds is the head's age, not the clock's fault), and the
// system clock before the first sample.
func (w *Watcher) Now() time.Time {
	now := w.opts.Now()
	if skew, ok := w.Skew(); ok && (skew > w.opts.WarnAbove || skew < -w.opts.WarnAbove) {
		return now.Add(-skew)
	}
	return now
}
