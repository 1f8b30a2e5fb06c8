package app

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/maintenance"
	"github.com/polybot/polybot/internal/metrics"
	"github.com/polybot/polybot/internal/store"
)

// This file wires the operations endpoints: Prometheus metrics with /healthz and /readyz on
// metrics.listen, and the admin socket `polybot status` reads.

// listenOps binds the metrics address and the admin socket before anything runs, so that a port
// already taken fails the start, and returns what serves them. An admin socket that cannot be
// created at its default place is logged and skipped: copying does not depend on it. One that was
// configured (admin.socket) must work.
func (a *App) listenOps(cfg *config.Config) ([]func(context.Context) error, error) {
	var runs []func(context.Context) error
	var closers []func() error
	fail := func(err error) ([]func(context.Context) error, error) {
		for _, c := range closers {
			_ = c()
		}
		return nil, err
	}
	if a.metrics != nil {
		srv, err := a.metrics.Listen(cfg.Metrics.Listen, cfg.Metrics.AllowNonLoopback)
		if err != nil {
			return fail(fmt.Errorf("metrics.listen %s: %w", cfg.Metrics.Listen, err))
		}
		addr := srv.Addr().String()
		a.metricsAddr.Store(&addr)
		runs, closers = append(runs, srv.Run), append(closers, srv.Close)
	}
	if cfg.Admin.Enabled {
		path := admin.SocketPath(cfg)
		srv, err := admin.Listen(admin.Options{Socket: path, Status: a.adminStatus, Positions: a.adminPositions,
			Decisions: a.adminDecisions, PnL: a.adminPnL, Log: a.log.Named("admin")})
		switch {
		case err != nil && cfg.Admin.Socket != "":
			return fail(fmt.Errorf("admin.socket %s: %w", path, err))
		case err != nil:
			a.log.Warn("admin socket not created; polybot status cannot reach this process (set admin.socket)",
				zap.String("path", path), zap.Error(err))
		default:
			a.adminPath.Store(&path)
			runs, closers = append(runs, srv.Run), append(closers, srv.Close)
		}
	}
	if len(runs) > 0 {
		runs = append(runs, a.watchHead)
	}
	return runs, nil
}

// MetricsAddr is the address metrics are served on, "" when not serving.
func (a *App) MetricsAddr() string { return load(&a.metricsAddr) }

// AdminSocket is the admin socket's path, "" when there is none.
func (a *App) AdminSocket() string { return load(&a.adminPath) }

func load(p interface{ Load() *string }) string {
	if s := p.Load(); s != nil {
		return *s
	}
	return ""
}

// headWatch remembers when the chain head was last seen to advance. The monitor reports the head
// but not its time, so the head is sampled every second (of the App's monotonic clock) while an
// endpoint serves, and at each request.
type headWatch struct {
	mu       sync.Mutex
	observed bool
	head     uint64
	at       mclock.AbsTime
}

// observe records head as seen at now and returns how long ago it last advanced. seen says the
// monitor has a head (block 0 is a head on a fresh dev chain); known is false before the first.
func (h *headWatch) observe(head uint64, seen bool, now mclock.AbsTime) (age time.Duration, known bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !seen && head == 0 {
		return 0, false
	}
	if !h.observed || head != h.head {
		h.observed, h.head, h.at = true, head, now
	}
	return now.Sub(h.at), true
}

func (a *App) watchHead(ctx context.Context) error {
	t := a.clock.NewTimer(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C():
			m := a.monitor.Stats()
			a.heads.observe(m.Head, m.Subscribed, now)
			t.Reset(time.Second)
		}
	}
}

// readiness is /readyz: nil while the monitor is healthy, else why not, scrubbed of secrets.
func (a *App) readiness() error {
	if err := a.monitor.Healthy(); err != nil {
		return errors.New(a.scrub(err.Error()))
	}
	if reason, _ := a.executor.Paused(); reason != "" {
		return errors.New(a.scrub("copying paused: " + reason))
	}
	return nil
}

func (a *App) metricsSnapshot() metrics.Snapshot {
	m := a.monitor.Stats()
	d := a.dedup.Stats()
	e := a.executor.Stats()
	b := a.bookStats()
	age, known := a.heads.observe(m.Head, m.Subscribed, a.clock.Now())
	paused, _ := a.executor.Paused()
	br := a.executor.Breaker()
	snap := metrics.Snapshot{
		Logs: m.Logs, Fills: m.Fills, Duplicates: m.Duplicates, Malformed: m.Malformed,
		Ignored: m.Ignored, Removed: m.Removed, Orphaned: a.orphaned.Load(), Reconnects: m.Reconnects,
		HeadBlock: m.Head, HeadAge: age, HeadAgeKnown: known,
		Subscribed: m.Subscribed, Healthy: a.monitor.Healthy() == nil,
		Copied: e.Copied, Skipped: e.Skipped, Failed: e.Failed, Locks: e.Locks,
		CopyingPaused: paused != "", CLOBBreaker: br.State.String(), CLOBBreakerTrips: br.Trips,
		DedupSize: d.Size, DedupCapacity: d.Capacity, DedupBytes: d.EstimatedBytes,
		DedupHits: d.Hits, DedupMisses: d.Misses, DedupEvictions: d.Evictions, DedupExpirations: d.Expirations,
		OpenPositions:    b.open,
		RealisedUSDC:     float64(b.realisedToday) / 1e6, // a gauge, not money: exact figures are in the store
		Leaders:          leaderGauges(b.pnl, configuredLeaders(a.cfg.Load())),
		ReloadFailed:     a.reloadErr.Load() != nil,
		DailyLossTripped: b.loss.Tripped,
		DailyLossPnLUSDC: float64(b.loss.PnL) / 1e6, // a gauge, not money
	}
	snap.RealisedAllTimeUSDC, snap.UnrealisedUSDC = gaugeUSDC(b.pnl.RealisedAllTimeUSDC), gaugeUSDC(b.pnl.UnrealisedUSDC)
	snap.ClockSkew, snap.ClockSkewKnown = a.skewSeconds()
	if a.watcher != nil {
		snap.RedemptionsPaid, _ = a.watcher.Redemptions()
		snap.RedemptionsFailed, _ = a.watcher.RedemptionFailures()
	}
	if mem, err := maintenance.ReadMemory(); err == nil {
		snap.RSSKnown, snap.RSSAnonBytes, snap.RSSFileBytes = true, mem.Anon, mem.File
	}
	fs := a.storeFile()
	snap.StoreFileBytes, snap.StoreLiveBytes = fs.FileBytes, fs.LiveBytes
	return snap
}

func (a *App) adminStatus() admin.Status {
	cfg := a.cfg.Load()
	m := a.monitor.Stats()
	d := a.dedup.Stats()
	e := a.executor.Stats()
	b := a.bookStats()
	now := a.clock.Now()
	st := admin.Status{
		Version:       a.version,
		StartedAt:     a.started.UTC().Truncate(time.Second),
		UptimeSeconds: now.Sub(a.startedMono).Round(time.Second).Seconds(),
		Mode:          cfg.Mode,
		ConfigHash:    cfg.Hash(),
		Leaders:       make([]admin.Leader, 0, len(cfg.Leaders)),
		Chain: admin.Chain{
			HeadBlock: m.Head, Subscribed: m.Subscribed, Healthy: true, Reconnects: m.Reconnects,
			LastError: a.scrub(m.LastError),
			Logs:      m.Logs, Fills: m.Fills, Duplicates: m.Duplicates, Malformed: m.Malformed,
			Orphaned: a.orphanedEver(),
		},
		Executor: admin.Executor{Copied: e.Copied, Skipped: e.Skipped, Failed: e.Failed, Locks: e.Locks,
			CLOBBreaker: a.executor.Breaker().String(), ExitRetries: exitRetriesLine(a.executor.ExitRetries(), time.Now())},
		Positions: admin.Positions{
			Open: b.open, Copies: e.Copied, CopiesToday: b.copiesToday,
			RealisedTodayUSDC:   decimal.New(b.realisedToday, -6).String(),
			RealisedAllTimeUSDC: b.pnl.RealisedAllTimeUSDC, UnrealisedUSDC: b.pnl.UnrealisedUSDC,
			Marked: b.pnl.Marked, AtLastFill: b.pnl.AtLastFill,
		},
		DailyLoss: dailyLoss(cfg.Risk.DailyLossLimitUSDC, b.loss),
		Latency:   a.latency.Summary(time.Now()),
		Dedup: admin.Dedup{
			Size: d.Size, Capacity: d.Capacity, Bytes: d.EstimatedBytes, Hits: d.Hits, Misses: d.Misses,
			Evictions: d.Evictions, Expirations: d.Expirations,
		},
	}
	st.Memory = a.memoryStatus(d.EstimatedBytes)
	st.Redemptions = redemptionStatus(a.store, a.scrub)
	if r := a.reloadErr.Load(); r != nil {
		st.ReloadError = a.scrub(*r)
	}
	if reason, since := a.executor.Paused(); reason != "" {
		st.Executor.Paused = a.scrub(fmt.Sprintf("%s (since %s)", reason, since.UTC().Format(time.RFC3339)))
	}
	st.Executor.Trading = a.tradingLine()
	for _, l := range cfg.Leaders {
		st.Leaders = append(st.Leaders, admin.Leader{Address: l.Address.Hex(), Name: l.Name, Enabled: l.Enabled})
	}
	if age, ok := a.heads.observe(m.Head, m.Subscribed, now); ok {
		secs := age.Round(time.Second).Seconds()
		st.Chain.HeadAgeSeconds = &secs
	}
	if err := a.readiness(); err != nil {
		st.Chain.Healthy, st.Chain.HealthError = false, err.Error()
	}
	st.Chain.CatchUp = a.adminCatchUp()
	if s, ok := a.skewSeconds(); ok {
		st.Chain.ClockSkewSeconds = &s
	}
	return st
}

// scrub removes from s whatever of the configured RPC and CLOB URLs may be a credential: the
// whole URL, its userinfo, path, query and fragment. Errors from the node's client libraries can
// quote the URL they dialled; what the operations endpoints show must never carry an API key.
func (a *App) scrub(s string) string {
	if s == "" {
		return s
	}
	cfg := a.cfg.Load()
	for _, raw := range []string{cfg.Chain.RPCURL, cfg.Live.ClobURL} {
		u, err := url.Parse(raw)
		if err != nil || raw == "" {
			continue
		}
		s = strings.ReplaceAll(s, raw, u.Scheme+"://"+u.Host+"/<redacted>")
		for _, part := range []string{u.User.String(), u.RawQuery, u.EscapedPath(), u.Path, u.Fragment} {
			// Shorter parts ("/", "/ws") hold no key and would blank out ordinary text.
			if len(strings.Trim(part, "/")) >= 4 {
				s = strings.ReplaceAll(s, part, "<redacted>")
			}
		}
	}
	return s
}

// dailyLoss is the daily-loss breaker as status shows it: tripped, by how much past the limit,
// until when (the end of the trading day it was tripped in).
func dailyLoss(limit decimal.Decimal, b store.Breaker) admin.DailyLoss {
	out := admin.DailyLoss{Tripped: b.Tripped, LimitUSDC: limit.String()}
	if !b.Tripped {
		return out
	}
	pnl := decimal.New(b.PnL, -6)
	at, until := b.TrippedAt.UTC(), b.Day.Add(24*time.Hour).UTC()
	out.PnLUSDC, out.OverUSDC = pnl.String(), pnl.Neg().Sub(limit).String()
	out.TrippedAt, out.Until = &at, &until
	return out
}
