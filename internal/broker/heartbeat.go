package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
)

// HeartbeatSender is the CLOB call a Heartbeat makes; *clob.Client is one.
type HeartbeatSender interface {
	PostHeartbeat(ctx context.Context, id string) (string, error)
}

// Heartbeat keeps polybot's resting orders alive on the CLOB: it sends POST /heartbeats every
// interval. Once heartbeats have started, the CLOB cancels every open order of the API key
// when none arrives within its timeout (about 10 s), so a daemon that crashes, hangs or loses
// its network leaves no order resting on the book.
type Heartbeat struct {
	client   HeartbeatSender
	interval time.Duration
	log      *zap.Logger
	id       string // the id the next heartbeat carries; "" starts a session
}

// NewHeartbeat returns the heartbeat loop of client; interval must be positive (the config
// allows 1s to 8s).
func NewHeartbeat(client HeartbeatSender, interval time.Duration, log *zap.Logger) (*Heartbeat, error) {
	if client == nil {
		return nil, errors.New("heartbeat: no CLOB client")
	}
	if interval <= 0 {
		return nil, fmt.Errorf("heartbeat: interval %v must be positive", interval)
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Heartbeat{client: client, interval: interval, log: log.Named("heartbeat")}, nil
}

// NeedsHeartbeat reports whether copies of order type ot can rest on the book, so that the
// daemon must keep them alive with heartbeats: GTC and GTD can, FAK and FOK never rest.
func NeedsHeartbeat(ot order.OrderType) bool { return ot == order.GTC || ot == order.GTD }

// Beat sends one heartbeat. A heartbeat id the CLOB no longer knows (its session ended, as
// after missed heartbeats) starts a new session with the next beat.
func (h *Heartbeat) Beat(ctx context.Context) error {
	id, err := h.client.PostHeartbeat(ctx, h.id)
	if err != nil {
		if clob.KindOf(err) == clob.KindValidation {
			h.id = ""
		}
		return fmt.Errorf("heartbeat: %w", err)
	}
	h.id = id
	return nil
}

// Run sends a heartbeat at once and then every interval until ctx ends. A failed heartbeat is
// logged (once per run of failures) and the next is sent on time. Cancellation is not an error.
func (h *Heartbeat) Run(ctx context.Context) error {
	t := time.NewTicker(h.interval)
	defer t.Stop()
	failing := false
	for {
		if err := h.Beat(ctx); err != nil && ctx.Err() == nil {
			if !failing {
				h.log.Warn("CLOB heartbeat failed; resting orders are canceled by the CLOB if heartbeats stay missing", zap.Error(err))
			}
			failing = true
		} else if err == nil && failing {
			h.log.Info("CLOB heartbeats answered again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Heartbeat returns the heartbeat loop of the live broker's client, or nil when its copies
// never rest on the book (FAK, FOK).
func (b *CLOB) Heartbeat(interval time.Duration) (*Heartbeat, error) {
	if !NeedsHeartbeat(b.orderType) {
		return nil, nil
	}
	return NewHeartbeat(b.client, interval, b.log)
}
