// Package alerts tells an operator what needs their eyes, without their watching the journal:
// the daily-loss breaker tripping, copies that failed or did not fill (grouped), the feed going
// silent and coming back, winnings redeemed, and the trading day's digest. Notices go to a
// generic JSON webhook and to a Telegram chat.
//
// The notifier reads the daemon's figures from a Snapshot on a timer and sends what changed.
// It sits beside the data path, never on it: a slow or dead webhook delays only notices.
package alerts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
	"go.uber.org/zap"
)

// Kinds of notice.
const (
	KindBreaker    = "breaker_tripped"
	KindCopies     = "copies_failed"
	KindSilent     = "feed_silent"
	KindFeedBack   = "feed_back"
	KindRedemption = "redemption"
	KindDigest     = "daily_digest"
	// KindRedemptionFailed: a redemption reverted, paid nothing or was not mined; polybot tries
	// again later.
	KindRedemptionFailed = "redemption_failed"
)

// Notice is one message to the operator.
type Notice struct {
	Kind string    `json:"kind"`
	Time time.Time `json:"time"`
	// Text is the message as a person reads it, one or a few lines.
	Text string `json:"text"`
	// Fields are the same facts for machines; amounts are exact decimal strings.
	Fields map[string]string `json:"fields,omitempty"`
}

// Sink delivers notices (Webhook, Telegram).
type Sink interface {
	Name() string
	Send(ctx context.Context, n Notice) error
}

// Snapshot is what the notifier reads of the daemon each round. Counters run from the start.
type Snapshot struct {
	// Unhealthy says why the feed is not healthy (not subscribed, head stalled); "" when it is.
	Unhealthy string
	// DailyLoss is set while the daily-loss breaker stops BUYs: a line saying by how much and
	// until when.
	DailyLoss string
	// Failed and Unfilled count copies that failed and copy orders that did not fill.
	Failed, Unfilled uint64
	// Redemptions counts redeemed markets; LastRedemption describes the latest.
	Redemptions    uint64
	LastRedemption string
	// RedemptionFailures counts failed redemption attempts; LastRedemptionFailure describes the
	// latest.
	RedemptionFailures    uint64
	LastRedemptionFailure string
	// Day is the start of the trading day; Digest the day's figures as a line.
	Day    time.Time
	Digest string
}

// Options configure a Notifier.
type Options struct {
	Sinks    []Sink
	Snapshot func() Snapshot
	// Every is the time between reads of the snapshot (default 10 s).
	Every time.Duration
	// GroupFor gathers failed and unfilled copies into one notice per this long (default 1 min).
	GroupFor time.Duration
	// SilenceAfter is how long the feed may be unhealthy before a notice (default 2 min).
	SilenceAfter time.Duration
	// Digest sends the trading day's figures when the day changes.
	Digest bool
	Clock  mclock.Clock     // default mclock.System
	Now    func() time.Time // notice time; default time.Now
	Log    *zap.Logger
}

// Notifier sends notices; Run drives it.
type Notifier struct {
	opts Options
	log  *zap.Logger

	// What the last round saw.
	started      bool
	prev         Snapshot
	unhealthyAt  mclock.AbsTime
	silentSent   bool
	pendingFail  uint64 // failed copies not yet told
	pendingUnf   uint64 // unfilled copies not yet told
	groupStarted mclock.AbsTime
}

// New checks opts and fills its defaults. With no sink, Run returns at once.
func New(opts Options) (*Notifier, error) {
	if opts.Snapshot == nil {
		return nil, errors.New("alerts: Snapshot is required")
	}
	if opts.Every <= 0 {
		opts.Every = 10 * time.Second
	}
	if opts.GroupFor <= 0 {
		opts.GroupFor = time.Minute
	}
	if opts.SilenceAfter <= 0 {
		opts.SilenceAfter = 2 * time.Minute
	}
	if opts.Clock == nil {
		opts.Clock = mclock.System{}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	return &Notifier{opts: opts, log: opts.Log}, nil
}

// Run reads the snapshot every Every and sends what changed, until ctx ends.
func (n *Notifier) Run(ctx context.Context) error {
	if len(n.opts.Sinks) == 0 {
		return nil
	}
	t := n.opts.Clock.NewTimer(n.opts.Every)
	defer t.Stop()
	n.Round(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
			n.Round(ctx)
			t.Reset(n.opts.Every)
		}
	}
}

// Round reads the snapshot once and sends the notices it calls for. Run calls it on its timer;
// tests call it directly.
func (n *Notifier) Round(ctx context.Context) {
	s := n.opts.Snapshot()
	now := n.opts.Clock.Now()
	if !n.started {
		// The first round only sets the baseline: a restart does not repeat old news, but a
		// breaker already tripped at start is still worth a notice.
		n.started, n.prev, n.unhealthyAt = true, s, now
		n.prev.DailyLoss = ""
	}
	var out []Notice
	if s.DailyLoss != "" && n.prev.DailyLoss == "" {
		out = append(out, n.notice(KindBreaker, "daily-loss breaker tripped: "+s.DailyLoss, nil))
	}

	n.pendingFail += s.Failed - min(s.Failed, n.prev.Failed)
	n.pendingUnf += s.Unfilled - min(s.Unfilled, n.prev.Unfilled)
	if n.pendingFail+n.pendingUnf > 0 {
		if n.groupStarted == 0 {
			n.groupStarted = now
		}
		if now.Sub(n.groupStarted) >= n.opts.GroupFor {
			out = append(out, n.notice(KindCopies, fmt.Sprintf("%d copies failed and %d did not fill in the last %s: polybot decisions --since %s",
				n.pendingFail, n.pendingUnf, n.opts.GroupFor, roundUp(n.opts.GroupFor)),
				map[string]string{"failed": fmt.Sprint(n.pendingFail), "unfilled": fmt.Sprint(n.pendingUnf)}))
			n.pendingFail, n.pendingUnf, n.groupStarted = 0, 0, 0
		}
	}

	switch {
	case s.Unhealthy != "" && n.prev.Unhealthy == "":
		n.unhealthyAt = now
	case s.Unhealthy == "" && n.silentSent:
		out = append(out, n.notice(KindFeedBack, fmt.Sprintf("feed back: leader trades are read again after %s", now.Sub(n.unhealthyAt).Round(time.Second)), nil))
		n.silentSent = false
	}
	if s.Unhealthy != "" && !n.silentSent && now.Sub(n.unhealthyAt) >= n.opts.SilenceAfter {
		out = append(out, n.notice(KindSilent, fmt.Sprintf("feed silent for %s: %s; no leader trade is copied meanwhile",
			now.Sub(n.unhealthyAt).Round(time.Second), s.Unhealthy), map[string]string{"reason": s.Unhealthy}))
		n.silentSent = true
	}

	if s.Redemptions > n.prev.Redemptions {
		text := fmt.Sprintf("winnings redeemed: %d market(s)", s.Redemptions-n.prev.Redemptions)
		if s.LastRedemption != "" {
			text += "; latest: " + s.LastRedemption
		}
		out = append(out, n.notice(KindRedemption, text, nil))
	}
	if s.RedemptionFailures > n.prev.RedemptionFailures {
		text := fmt.Sprintf("redemption failed: %d attempt(s), tried again later", s.RedemptionFailures-n.prev.RedemptionFailures)
		if s.LastRedemptionFailure != "" {
			text += "; latest: " + s.LastRedemptionFailure
		}
		out = append(out, n.notice(KindRedemptionFailed, text, nil))
	}

	if n.opts.Digest && !n.prev.Day.IsZero() && s.Day.After(n.prev.Day) && n.prev.Digest != "" {
		out = append(out, n.notice(KindDigest, fmt.Sprintf("trading day from %s UTC: %s", n.prev.Day.UTC().Format("2006-01-02 15:04"), n.prev.Digest), nil))
	}

	if s.Unhealthy != "" && n.prev.Unhealthy != "" {
		s.Unhealthy = n.prev.Unhealthy // keep the first reason
	}
	n.prev = s
	for _, nt := range out {
		n.send(ctx, nt)
	}
}

func (n *Notifier) notice(kind, text string, fields map[string]string) Notice {
	return Notice{Kind: kind, Time: n.opts.Now().UTC(), Text: text, Fields: fields}
}

// send hands nt to every sink. A sink that fails is logged (without the notice's secrets:
// there are none in a notice, and a sink's error never holds its token) and skipped; the
// notice is not queued again, so a dead webhook cannot pile up memory.
func (n *Notifier) send(ctx context.Context, nt Notice) {
	for _, s := range n.opts.Sinks {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := s.Send(sctx, nt)
		cancel()
		if err != nil {
			n.log.Warn("alert not delivered", zap.String("sink", s.Name()), zap.String("kind", nt.Kind), zap.Error(err))
			continue
		}
		n.log.Info("alert sent", zap.String("sink", s.Name()), zap.String("kind", nt.Kind))
	}
}

// roundUp renders d for `--since`, at least a minute.
func roundUp(d time.Duration) string {
	m := (d + time.Minute - 1) / time.Minute
	return fmt.Sprintf("%dm", max(m, 1))
}
