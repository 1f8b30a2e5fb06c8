package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
)

// This file keeps what the CLOB lets polybot do now, as its answers last said: the order
// version it takes (GET /version, re-read after order_version_mismatch), closed-only mode and
// the geographic block. BUYs stop while the CLOB wants an order version polybot cannot sign or
// the account is in closed-only mode; SELLs (exits) go on as long as they can be signed: not
// while the CLOB has announced no version polybot signs since start (exitSignable).

// recheckEvery bounds how often a refused BUY re-reads GET /version or the closed-only flag:
// at most once per interval, so a burst of leader BUYs is not a burst of requests.
const recheckEvery = 30 * time.Second

// Access is the CLOB's word on what this account may do, for status.
type Access struct {
	// Version is the order version GET /version announced last (0 before any).
	Version int
	// UnknownVersion: the CLOB wants an order version polybot cannot sign (it signs 2 and 3).
	UnknownVersion bool
	// NoneSigned: since polybot started the CLOB has announced no order version polybot signs
	// (it wanted an unknown one at start), so there is no last version to sign exits for:
	// exits are refused before they are sent too, and the exit retries try them again.
	NoneSigned bool
	// ClosedOnly: the account may close positions but not open them.
	ClosedOnly bool
	// Geoblocked: the CLOB refused an order with 403 for the region (and has taken none since).
	Geoblocked bool
}

// BuysStopped says why BUYs are refused before they are sent; "" while they go.
func (a Access) BuysStopped() string {
	switch {
	case a.UnknownVersion && a.NoneSigned:
		return fmt.Sprintf("BUYs stopped: the CLOB wants order version %d, which polybot cannot sign (it signs 2 and 3); "+
			"it has announced no version polybot signs since start, so exits wait too (refused and retried) until it does", a.Version)
	case a.UnknownVersion:
		return fmt.Sprintf("BUYs stopped: the CLOB wants order version %d, which polybot cannot sign (it signs 2 and 3); exits go on, signed for the last version it took", a.Version)
	case a.ClosedOnly:
		return "BUYs stopped: the account is in closed-only mode (the CLOB takes only orders that close positions); exits go on"
	}
	return ""
}

// String is the state for a status line; "" while trading is unrestricted.
func (a Access) String() string {
	s := a.BuysStopped()
	if a.Geoblocked {
		if s != "" {
			s += "; "
		}
		s += "ORDERS REFUSED: the CLOB answers 403 trading restricted in your region (geoblock)"
	}
	return s
}

// access is the live broker's copy of Access, with the times of the last re-reads.
type access struct {
	mu         sync.Mutex
	st         Access
	lastKnown  order.Protocol // the last version polybot could sign: exits are signed for it (0: none since start)
	versionAt  time.Time      // last GET /version re-read by a refused BUY or exit
	closedAt   time.Time      // last closed-only re-read by a refused BUY
	onChange   func(Access)
	lastString string
}

func (a *access) get() Access {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st
}

// update changes the state under the lock and tells onChange when its status line changed.
func (a *access) update(fn func(st *Access)) {
	a.mu.Lock()
	fn(&a.st)
	st, changed := a.st, a.st.String() != a.lastString
	a.lastString = a.st.String()
	cb := a.onChange
	a.mu.Unlock()
	if changed && cb != nil {
		cb(st)
	}
}

// Access is what the CLOB lets this account do now, as its last answers said.
func (b *CLOB) Access() Access { return b.access.get() }

// OnAccessChange sets fn to be told each change of Access (for the status line); set it before
// trading starts.
func (b *CLOB) OnAccessChange(fn func(Access)) {
	b.access.mu.Lock()
	b.access.onChange = fn
	b.access.mu.Unlock()
}

// protocolFor is the protocol the CLOB takes now (the version the client read last) and its
// exchange for a market: V2 on the CTF or neg-risk V2 exchange, V3 on ExchangeV3 whatever the
// market (clob-client-v2 createOrder.ts, version 3: contractConfig.exchangeV3). known is false
// when polybot cannot sign that version: the last version it could is returned, or 0 when the
// CLOB has announced none polybot signs since start.
func (b *CLOB) protocolFor(negRisk bool) (proto order.Protocol, exchange common.Address, known bool) {
	v := b.client.ProtocolVersion()
	b.access.mu.Lock()
	switch v {
	case 2:
		b.access.lastKnown = order.V2
	case 3:
		b.access.lastKnown = order.V3
	}
	proto = b.access.lastKnown
	b.access.mu.Unlock()
	known = v == 2 || v == 3
	b.access.update(func(st *Access) { st.Version, st.UnknownVersion, st.NoneSigned = v, !known, proto == 0 })
	return proto, b.exchangeOf(proto, negRisk), known
}

// exchangeOf is the exchange an order of proto on a neg-risk market or not is signed for.
func (b *CLOB) exchangeOf(proto order.Protocol, negRisk bool) common.Address {
	switch {
	case proto == order.V3:
		return b.v3
	case negRisk:
		return b.neg
	}
	return b.ctf
}

// buyAllowed refuses a BUY, before anything is signed, while the CLOB wants an order version
// polybot cannot sign or the account is in closed-only mode. Each refusal may re-read GET
// /version or the closed-only flag (at most once per recheckEvery), so BUYs resume once the
// CLOB says they may.
func (b *CLOB) buyAllowed(ctx context.Context) error {
	now := b.now()
	b.recheckVersion(ctx, now)
	if b.access.get().ClosedOnly && b.due(&b.access.closedAt, now) {
		b.refreshClosedOnly(ctx)
	}
	if why := b.access.get().BuysStopped(); why != "" {
		return fmt.Errorf("%w: %s", ErrRefused, why)
	}
	return nil
}

// recheckVersion re-reads GET /version while the CLOB wants an order version polybot cannot
// sign, at most once per recheckEvery (the first time at once, also right after start).
func (b *CLOB) recheckVersion(ctx context.Context, now time.Time) {
	if !b.access.get().UnknownVersion || !b.due(&b.access.versionAt, now) {
		return
	}
	if v, err := b.client.Version(ctx); err != nil {
		b.log.Warn("re-reading the CLOB's order version failed", zap.Error(err))
	} else if v == 2 || v == 3 {
		b.log.Info("the CLOB takes an order version polybot signs; BUYs resume", zap.Int("version", v))
	}
	b.protocolFor(false)
}

// exitSignable refuses an exit, before it is sent, while there is no order version to sign it
// for: the CLOB wants one polybot cannot sign and has announced none it signs since start.
// The refusal re-reads GET /version first (at most once per recheckEvery); the exit retries
// (internal/executor/exits.go) try the exit again.
func (b *CLOB) exitSignable(ctx context.Context) error {
	if !b.access.get().NoneSigned {
		return nil
	}
	b.recheckVersion(ctx, b.now())
	if st := b.access.get(); st.NoneSigned {
		return fmt.Errorf("%w: the CLOB wants order version %d, which polybot cannot sign (it signs 2 and 3), and has "+
			"announced no version polybot signs since start, so there is none to sign this exit for; it is tried again", ErrRefused, st.Version)
	}
	return nil
}

// due reports whether at least recheckEvery has passed since *last, and if so sets it to now.
func (b *CLOB) due(last *time.Time, now time.Time) bool {
	b.access.mu.Lock()
	defer b.access.mu.Unlock()
	if !last.IsZero() && now.Sub(*last) < recheckEvery {
		return false
	}
	*last = now
	return true
}

// refreshClosedOnly reads the closed-only flag (GET /auth/ban-status/closed-only) into Access.
func (b *CLOB) refreshClosedOnly(ctx context.Context) {
	on, err := b.client.ClosedOnly(ctx)
	if err != nil {
		b.log.Warn("reading the closed-only flag failed", zap.Error(err))
		return
	}
	was := b.access.get().ClosedOnly
	b.access.update(func(st *Access) { st.ClosedOnly = on })
	switch {
	case on && !was:
		b.log.Warn("the account is in closed-only mode: BUYs stop, exits go on")
	case !on && was:
		b.log.Info("the account is out of closed-only mode: BUYs resume")
	}
}

// noteAnswer updates Access from the CLOB's answer to an order: a closed-only refusal sets
// closed-only mode, a 403 the geographic block; an order taken clears the block.
func (b *CLOB) noteAnswer(err error) {
	switch {
	case err == nil:
		if b.access.get().Geoblocked {
			b.log.Info("the CLOB takes orders from this region again")
		}
		b.access.update(func(st *Access) { st.Geoblocked = false })
	case clob.IsClosedOnlyRefusal(err):
		if !b.access.get().ClosedOnly {
			b.log.Warn("the CLOB refused an order in closed-only mode: BUYs stop, exits go on", zap.Error(err))
		}
		b.access.update(func(st *Access) { st.ClosedOnly = true })
	case clob.KindOf(err) == clob.KindGeoblocked && !errors.Is(err, clob.ErrUnknownOutcome):
		if !b.access.get().Geoblocked {
			b.log.Error("the CLOB refuses orders from this region (HTTP 403, geoblock): no order can trade from this host; "+
				"see docs/operations.md", zap.Error(err))
		}
		b.access.update(func(st *Access) { st.Geoblocked = true })
	}
}
