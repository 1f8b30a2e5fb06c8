// Package app wires polybot together: wallet monitor -> dedup cache -> executor (strategy,
// state store) -> broker, the maintenance loop, systemd notification and config reload.
package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/polybot/polybot/internal/alerts"
	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/chainclock"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/dedup"
	"github.com/polybot/polybot/internal/executor"
	"github.com/polybot/polybot/internal/latency"
	"github.com/polybot/polybot/internal/maintenance"
	"github.com/polybot/polybot/internal/metrics"
	"github.com/polybot/polybot/internal/monitor"
	"github.com/polybot/polybot/internal/ownfills"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/reorgcheck"
	"github.com/polybot/polybot/internal/resolution"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
	"github.com/polybot/polybot/internal/systemd"
)

// Notifier is the part of systemd's notify protocol polybot speaks.
type Notifier interface {
	Ready() error
	Reloading() error
	Status(line string) error
	Stopping() error
	Watchdog() error
	WatchdogInterval() time.Duration
}

// Options configures an App.
type Options struct {
	Config     *config.Config
	ConfigPath string // re-read on reload
	// Load reads the config again on reload, through the same path as at start (file,
	// environment, command-line overrides), so a reload keeps what the command line set;
	// default: config.Load(ConfigPath).
	Load func() (*config.Config, error)
	Log  *zap.Logger
	// Level is the root logger's level, changed on reload when log.level changes.
	Level    *zap.AtomicLevel
	Notifier Notifier
	// Dial overrides how the monitor connects (tests); default: chain.Dial with the config.
	Dial func(ctx context.Context) (chain.Client, error)
	// Broker overrides the broker; default: paper.
	Broker executor.Broker
	// Resolver overrides how pending intents are resolved at start; default: placed again
	// through a paper broker, or looked up by a live broker that can (see resolverFor).
	Resolver executor.Resolver
	Clock    mclock.Clock
	// Now is the wall clock of the trading day: decision times, daily counters, the circuit
	// breaker's reset and store compaction; default time.Now. The soak runs it faster (see
	// ScaledNow) so that days pass in minutes.
	Now func() time.Time
	// Version is reported by polybot status and polybot_build_info.
	Version string
}

// App is one running polybot.
type App struct {
	live     *broker.CLOB // the live broker, for what the CLOB restricts (access.go); nil in paper mode
	log      *zap.Logger
	level    *zap.AtomicLevel
	notifier Notifier
	path     string
	load     func() (*config.Config, error)
	cfg      atomic.Pointer[config.Config]
	reloadMu sync.Mutex

	now       func() time.Time
	clock     mclock.Clock // monotonic: head age, uptime, the maintenance intervals
	dedup     *dedup.Cache
	store     *store.Store
	closeOnce sync.Once
	resolver  executor.Resolver
	funds     balanceClient // the live CLOB's balances, checked at start; nil in mode paper
	executor  *executor.Executor
	monitor   *monitor.Monitor
	ownFills  *ownfills.Ledger // polybot's own fills on chain; nil unless trading live (ownfills.go)
	maint     *maintenance.Loop
	marks     *resolution.Marks
	labels    *resolution.Labels  // markets' questions and outcomes, for the copy log lines
	watcher   *resolution.Watcher // nil when resolved markets are not watched
	reorgs    *reorgcheck.Checker // decided leader fills a reorg removed for good
	orphaned  atomic.Uint64       // leader fills recorded as orphaned since start
	heartbeat *broker.Heartbeat   // nil unless live copies may rest on the book
	alerts    *alerts.Notifier    // nil unless alerts has a webhook or a Telegram chat
	latency   *latency.Recorder   // each filled copy's latency and slippage, the last hour
	readyOnce sync.Once
	ready     chan struct{}
	reloadErr atomic.Pointer[string]
	catchUp   catchUpState // catch-up progress (catchup.go)
	backup    backupState  // the store's rolling backup copy (backup.go)
	// chainClock measures the system clock against the chain head (chainclock.go).
	chainClock *chainclock.Watcher
	// conditions keeps each token's condition id from the broker's first book read, for the
	// resolution watcher (a short market may close before the watcher looks).
	conditions *resolution.Conditions
	// fillTxs are the transactions of recent leader fills per token: where plain paper mode's
	// resolution watcher reads each token's market from (resolution.ChainMarkets).
	fillTxs *resolution.FillTxs

	// Operations: metrics (nil when metrics.listen is ""), the admin socket, uptime.
	version     string
	started     time.Time
	startedMono mclock.AbsTime
	metrics     *metrics.Metrics
	heads       headWatch
	metricsAddr atomic.Pointer[string]
	adminPath   atomic.Pointer[string]
}

// New builds every component from opts.Config and opens the state store (so that a second
// polybot on the same state_dir fails here); nothing runs until Run. Run closes the store on
// its way out; an App that never runs must be closed with Close. ctx bounds the network calls
// a live broker makes at start (CLOB version, clock, credentials): cancelling it (SIGTERM)
// cuts a slow start short.
func New(ctx context.Context, opts Options) (_ *App, err error) {
	if opts.Config == nil {
		return nil, errors.New("app: Config is required")
	}
	opts.fillDefaults()
	a := newApp(opts)
	cfg := opts.Config

	pol, err := strategy.PolicyFromConfig(cfg)
	if err != nil {
		return nil, err
	}
	a.dedup, err = dedup.New(dedup.Options{Capacity: cfg.Dedup.Size, TTL: cfg.Dedup.TTL, Clock: opts.Clock})
	if err != nil {
		return nil, err
	}
	if a.store, err = openStateStore(opts); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = a.store.Close()
		}
	}()
	a.conditions = resolution.NewConditions()
	a.fillTxs = resolution.NewFillTxs()
	copies, err := a.buildBroker(ctx, opts)
	if err != nil {
		return nil, err
	}
	dial, fallbackDial := dialers(opts)
	if err := a.newOwnFills(opts, copies.live, dial, fallbackDial); err != nil {
		return nil, err
	}
	if a.executor, err = a.newExecutor(opts, pol, copies); err != nil {
		return nil, err
	}
	if a.monitor, err = a.newMonitor(opts, dial, fallbackDial); err != nil {
		return nil, err
	}
	if a.chainClock, err = newChainClock(opts, dial); err != nil {
		return nil, err
	}
	a.watcher, err = resolutionWatcher(cfg, a.store, a.marks, a.labels, a.conditions, a.fillTxs, dial, a.onResolved, opts.Log.Named("resolution"))
	if err != nil {
		return nil, err
	}
	if a.reorgs, err = a.newReorgCheck(cfg, dial, opts.Log.Named("reorgs")); err != nil {
		return nil, err
	}
	if a.maint, err = a.newMaintenance(opts); err != nil {
		return nil, err
	}
	if a.alerts, err = a.newAlerts(cfg, opts.Log.Named("alerts")); err != nil {
		return nil, err
	}
	return a, nil
}

// fillDefaults sets the optional dependencies left unset.
func (o *Options) fillDefaults() {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Notifier == nil {
		o.Notifier = systemd.NewNotifier(o.Log.Named("systemd"))
	}
	if o.Clock == nil {
		o.Clock = mclock.System{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// newApp is an App holding opts and no component yet.
func newApp(opts Options) *App {
	a := &App{now: opts.Now, clock: opts.Clock, log: opts.Log, level: opts.Level, notifier: opts.Notifier, path: opts.ConfigPath, ready: make(chan struct{})}
	a.cfg.Store(opts.Config)
	a.version = opts.Version
	a.load = opts.Load
	if a.load == nil {
		a.load = func() (*config.Config, error) {
			c, _, err := config.Load(a.path)
			return c, err
		}
	}
	return a
}

// openStateStore opens the state store of state_dir.
func openStateStore(opts Options) (*store.Store, error) {
	cfg := opts.Config
	st, err := openStore(cfg, opts.Now, opts.Log)
	if err != nil {
		// A state directory that is full or read-only at start is an exit with the fix named;
		// systemd restarts polybot, and it starts once the directory takes writes.
		if hint := store.ProblemOf(cfg.StateDir, err); hint != "" {
			return nil, fmt.Errorf("cannot open the state store: %s (%w)", hint, err)
		}
		return nil, err
	}
	return st, nil
}

// copyBroker is the broker the executor places copies through, and the parts of the
// broker it also uses.
type copyBroker struct {
	broker   executor.Broker
	preparer executor.Preparer
	lookup   executor.OrderLookup
	terms    executor.TermsReader
	balance  executor.Balance
	observer executor.Observer
	live     *broker.CLOB // the live broker itself; nil in mode paper
}

// buildBroker builds the broker of the mode (or opts.Broker), the resolver of pending
// intents, the heartbeat of a live broker, and wraps the broker so that balances stay
// fresh and orders are counted in the metrics.
func (a *App) buildBroker(ctx context.Context, opts Options) (copyBroker, error) {
	cfg := opts.Config
	b, err := brokerFor(ctx, opts.Broker, cfg, opts.Log, a.conditions.Note)
	if err != nil {
		return copyBroker{}, err
	}
	a.resolver = resolverFor(opts.Resolver, b, cfg)
	if live, ok := b.(*broker.CLOB); ok {
		// Copies that may rest on the book are kept alive by heartbeats, and canceled by the
		// CLOB when polybot stops sending them.
		if a.heartbeat, err = live.Heartbeat(cfg.Live.HeartbeatInterval); err != nil {
			return copyBroker{}, err
		}
	}
	var cb copyBroker
	cb.live, _ = b.(*broker.CLOB)
	a.watchAccess(cb.live)
	cb.preparer, _ = b.(executor.Preparer)
	cb.lookup, _ = b.(executor.OrderLookup) // before the metrics wrap the broker
	cb.terms, _ = b.(executor.TermsReader)
	b, cb.balance = a.withBalance(b, opts)
	if cfg.Metrics.Listen != "" {
		a.metrics, err = metrics.New(metrics.Options{
			Version:  opts.Version,
			Snapshot: a.metricsSnapshot,
			Ready:    a.readiness,
			Log:      opts.Log.Named("metrics"),
		})
		if err != nil {
			return copyBroker{}, err
		}
		b, cb.observer = a.metrics.Broker(b), a.metrics
	}
	cb.broker = b
	return cb, nil
}

// withBalance returns the balance percent_balance sizing reads: the wallet's pUSD from the
// CLOB in mode live, paper.balance_usdc in mode paper. A live broker is wrapped so that the
// CLOB refreshes its balance cache after each fill.
func (a *App) withBalance(b executor.Broker, opts Options) (executor.Broker, executor.Balance) {
	cfg := opts.Config
	var balance executor.Balance
	switch lb, live := b.(*broker.CLOB); {
	case live:
		lbal := &liveBalance{client: lb.Client(), sigType: cfg.Live.SignatureType, ttl: balanceTTL, now: opts.Now}
		balance, a.funds = lbal.Balance, lb.Client()
		b = &refreshingBroker{Broker: b, client: lb.Client(), sigType: cfg.Live.SignatureType, balance: lbal, log: opts.Log.Named("broker")}
	case cfg.Mode != config.ModeLive:
		balance = a.paperBalance
	}
	return b, balance
}

// newExecutor builds the executor that copies fills through cb.
func (a *App) newExecutor(opts Options, pol *strategy.Policy, cb copyBroker) (*executor.Executor, error) {
	cfg := opts.Config
	a.marks = resolution.NewMarks()
	a.labels = resolution.NewLabels(cfg.Resolution.MaxMarks)
	a.latency = latency.New(0, 0)
	return executor.New(executor.Options{
		Marks:    a.marks.Mark,
		Broker:   cb.broker,
		Store:    a.store,
		Strategy: pol,
		Preparer: cb.preparer,
		Balance:  cb.balance,
		Lookup:   cb.lookup,
		Terms:    cb.terms,
		// Orders that are not final when placed are tracked until they are (live mode).
		OrderTimeout: cfg.Live.OrderTimeout,
		PollInterval: cfg.Live.OrderPollInterval,
		LockTTL:      cfg.Executor.LockTTL,
		Log:          opts.Log.Named("executor"),
		Clock:        opts.Clock,
		Now:          opts.Now,
		ChainNow:     a.chainNow,
		Observer:     cb.observer,
		Timing:       a.observeTiming,
		Breaker: executor.BreakerOptions{
			Failures:    cfg.Executor.CLOBBreaker.Failures,
			Cooldown:    cfg.Executor.CLOBBreaker.Cooldown,
			MaxCooldown: cfg.Executor.CLOBBreaker.MaxCooldown,
		},
		StorePauseLimit: cfg.Executor.StorePauseLimit,
		OnChange:        a.executorChanged,
		OwnFills:        a.ownFillsLedger(),

		MarketLabel: a.labels.Label,
	})
}

// dialers returns how to connect to the chain: opts.Dial, or the configured RPC endpoint
// and its fallback (nil when there is none). The chain section is a restart key: the
// endpoints are read once.
func dialers(opts Options) (dial, fallbackDial func(context.Context) (chain.Client, error)) {
	if opts.Dial != nil {
		return opts.Dial, nil
	}
	c := opts.Config.Chain
	dial = func(ctx context.Context) (chain.Client, error) {
		return chain.Dial(ctx, c.RPCURL, c.ChainID, c.DialTimeout)
	}
	if c.FallbackRPCURL != "" {
		fallbackDial = func(ctx context.Context) (chain.Client, error) {
			return chain.Dial(ctx, c.FallbackRPCURL, c.ChainID, c.DialTimeout)
		}
	}
	return dial, fallbackDial
}

// newMonitor builds the monitor that watches the enabled leaders' fills and hands them to
// the executor.
func (a *App) newMonitor(opts Options, dial, fallbackDial func(context.Context) (chain.Client, error)) (*monitor.Monitor, error) {
	cfg := opts.Config
	return monitor.New(monitor.Options{
		Dial:           dial,
		FallbackDial:   fallbackDial,
		Exchanges:      cfg.Chain.Exchanges,
		Leaders:        enabledLeaders(cfg),
		Dedup:          a.dedup,
		Handler:        a.submit,
		Checkpoint:     settledCheckpoint{a.store.Checkpointer(), a.executor},
		StartBlock:     cfg.Chain.StartBlock,
		Confirmations:  cfg.Chain.Confirmations,
		HeadStaleAfter: cfg.Chain.HeadStaleAfter,
		SilenceAfter:   cfg.Chain.SilenceAfter,
		PollInterval:   cfg.Chain.PollInterval,
		BackfillChunk:  cfg.Chain.BackfillChunk,
		RPCTimeout:     cfg.Chain.RPCTimeout,
		MaxBackoff:     cfg.Chain.MaxBackoff,
		OnRemoved:      a.onRemoved,
		OnSubscribed:   a.onSubscribed,
		OnProgress:     a.onProgress,
		Log:            opts.Log.Named("monitor"),
		Clock:          opts.Clock,
	})
}

// newMaintenance builds the loop that sweeps, reports health and status, and feeds the
// systemd watchdog.
func (a *App) newMaintenance(opts Options) (*maintenance.Loop, error) {
	return maintenance.New(maintenance.Options{
		Interval: opts.Config.Maintenance.Interval,
		Log:      opts.Log.Named("maintenance"),
		Snapshot: a.snapshot,
		Healthy:  a.healthy,
		Watchdog: opts.Notifier,
		Sweep:    a.sweep,
		Status:   a.statusLine,
		Notifier: opts.Notifier,
		Clock:    opts.Clock,
	})
}

// Run runs polybot until ctx ends; each receive on reload re-reads the config file. On shutdown
// the monitor stops first, then the copies already under way finish (bounded by
// executor.shutdown_grace).
func (a *App) Run(ctx context.Context, reload <-chan struct{}) error {
	defer a.Close()
	cfg := a.cfg.Load()
	a.log.Info("polybot starting",
		zap.String("mode", cfg.Mode),
		zap.Int("leaders", len(enabledLeaders(cfg))),
		zap.String("config_hash", cfg.Hash()),
		zap.String("store", a.store.File()))
	a.started, a.startedMono = time.Now(), a.clock.Now()
	// Before any new fill: settle the copies a crash left open, and remember what was decided.
	a.status("recovering pending copies")
	if err := a.recover(ctx); err != nil {
		return err
	}
	checkFunds(ctx, cfg, a.funds, a.log.Named("funds"))
	a.status("connecting to the chain")
	ops, opsErr := a.listenOps(cfg)
	if opsErr != nil {
		return opsErr
	}

	g, gctx := errgroup.WithContext(ctx)
	for _, run := range ops {
		g.Go(func() error { return run(gctx) })
	}
	g.Go(func() error { return a.monitor.Run(gctx) })
	if a.ownFills != nil {
		g.Go(func() error { return a.ownFills.Run(gctx) })
	}
	g.Go(func() error { return a.executor.Run(gctx, cfg.Executor.ShutdownGrace) })
	g.Go(func() error { return a.maint.Run(gctx) })
	g.Go(func() error { return a.chainClock.Run(gctx) })
	g.Go(func() error { return pruneMarks(gctx, a.marks, a.store, cfg.Maintenance.Interval) })
	if a.watcher != nil {
		g.Go(func() error { return a.watcher.Run(gctx) })
	}
	g.Go(func() error { return a.reorgs.Run(gctx) })
	if a.heartbeat != nil {
		g.Go(func() error { return a.heartbeat.Run(gctx) })
	}
	if a.alerts != nil {
		g.Go(func() error { return a.alerts.Run(gctx) })
	}
	g.Go(func() error {
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-reload:
				_ = a.Reload()
			}
		}
	})
	g.Go(func() error {
		<-gctx.Done()
		if err := a.notifier.Stopping(); err != nil {
			a.log.Warn("systemd notify failed", zap.Error(err))
		}
		a.log.Info("stopping: letting copies under way finish")
		return nil
	})
	err := g.Wait()
	e, bk := a.executor.Stats(), a.bookStats()
	a.log.Info("polybot stopped", zap.Uint64("copies", e.Copied), zap.Int("open_positions", bk.open))
	return err
}

// Close closes the state store; Run does it once the executor has returned. Safe to call more
// than once.
func (a *App) Close() error {
	var err error
	a.closeOnce.Do(func() { err = a.store.Close() })
	return err
}

// Ready is closed once the first subscription is established.
func (a *App) Ready() <-chan struct{} { return a.ready }

func (a *App) onSubscribed() {
	a.readyOnce.Do(func() {
		close(a.ready)
		if err := a.notifier.Ready(); err != nil {
			a.log.Warn("systemd notify failed", zap.Error(err))
		}
	})
	a.status(a.statusLine())
}

// Reload re-reads the config file, validates it, and applies it; an invalid file leaves the
// running config untouched. The returned error says why the reload was refused.
func (a *App) Reload() error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	if err := a.notifier.Reloading(); err != nil {
		a.log.Warn("systemd notify failed", zap.Error(err))
	}
	defer func() {
		if err := a.notifier.Ready(); err != nil {
			a.log.Warn("systemd notify failed", zap.Error(err))
		}
	}()
	next, err := a.load()
	if err != nil {
		msg := oneLine(err.Error())
		a.reloadErr.Store(&msg)
		a.log.Error("reload failed; keeping the running config", zap.String("path", a.path), zap.Error(err))
		a.status("reload failed: " + msg)
		return err
	}
	if err := a.Apply(next); err != nil {
		msg := oneLine(err.Error())
		a.reloadErr.Store(&msg)
		a.log.Error("reload failed; keeping the running config", zap.Error(err))
		a.status("reload failed: " + msg)
		return err
	}
	a.reloadErr.Store(nil)
	a.status(a.statusLine())
	return nil
}

// restartKeys are the config keys a reload cannot change; they take effect on restart.
var restartKeys = []string{"mode", "chain", "state_dir", "store", "live", "maintenance", "alerts", "executor.shutdown_grace",
	"executor.clob_breaker", "executor.store_pause_limit", "metrics", "admin"}

// Apply swaps in a validated config: leaders, sizing, cache sizes, lock TTL and log level apply
// at once; keys in restartKeys are reported and wait for a restart.
func (a *App) Apply(next *config.Config) error {
	old := a.cfg.Load()
	changed := config.Diff(old, next)
	var needRestart []string
	for _, k := range changed {
		for _, r := range restartKeys {
			if k == r || strings.HasPrefix(k, r+".") {
				needRestart = append(needRestart, k)
			}
		}
	}
	// Fallible work first: nothing live is touched unless all of it succeeds.
	var level zap.AtomicLevel
	if a.level != nil {
		l, err := zap.ParseAtomicLevel(next.Log.Level)
		if err != nil {
			return fmt.Errorf("log.level: %w", err)
		}
		level = l
	}
	pol, err := strategy.PolicyFromConfig(next)
	if err != nil {
		return err
	}
	if next.Risk.ResetHourUTC < 0 || next.Risk.ResetHourUTC > 23 {
		return fmt.Errorf("risk.reset_hour_utc %d: must be an hour from 0 to 23", next.Risk.ResetHourUTC)
	}
	if err := a.dedup.Resize(next.Dedup.Size, next.Dedup.TTL); err != nil {
		return fmt.Errorf("dedup: %w", err)
	}
	// live.* waits for a restart, and the broker signs with the start's live.slippage: the
	// limits keep reserving a BUY's worst cost at that very slippage, never a reloaded one.
	pol.Rules.Slippage = a.executor.Strategy().Rules.Slippage
	a.executor.SetStrategy(pol)
	_ = a.store.SetResetHourUTC(next.Risk.ResetHourUTC) // checked above
	a.executor.Locks().SetTTL(next.Executor.LockTTL)
	a.monitor.SetLeaders(enabledLeaders(next))
	if a.level != nil {
		a.level.SetLevel(level.Level())
	}
	a.cfg.Store(next)
	for _, c := range config.Changes(old, next) {
		a.log.Info("config key changed", zap.String("key", c.Key), zap.String("old", c.Old), zap.String("new", c.New),
			zap.Bool("restart_required", slices.Contains(needRestart, c.Key)))
	}
	a.log.Info("config reloaded",
		zap.String("config_hash", next.Hash()),
		zap.Strings("changed", changed),
		zap.Strings("restart_required", needRestart))
	return nil
}

// Config is the config in force.
func (a *App) Config() *config.Config { return a.cfg.Load() }

// Store is the state store: positions, intents, decisions, checkpoint.
func (a *App) Store() *store.Store { return a.store }

// Monitor is the wallet monitor.
func (a *App) Monitor() *monitor.Monitor { return a.monitor }

// Executor is the trade executor.
func (a *App) Executor() *executor.Executor { return a.executor }

// StatusLine is the STATUS= line systemd shows now.
func (a *App) StatusLine() string { return a.statusLine() }

// Dedup is the dedup cache of processed logs.
func (a *App) Dedup() *dedup.Cache { return a.dedup }

func (a *App) sweep() {
	a.backupIfDue()
	a.dedup.Sweep()
	a.executor.Locks().Sweep()
	c, err := a.store.Compact(a.compactNow())
	if err != nil {
		a.log.Warn("store compaction failed", zap.Error(err))
		return
	}
	if c != (store.Compacted{}) {
		a.log.Info("store compacted", zap.Int("intents", c.Intents), zap.Int("closed_positions", c.Positions),
			zap.Int("days", c.Days), zap.Int("decisions", c.Decisions), zap.Int("leader_fills", c.LeaderFills),
			zap.Int("leader_positions", c.LeaderPositions))
	}
}

func (a *App) snapshot() maintenance.Snapshot {
	d := a.dedup.Stats()
	b := a.bookStats()
	return maintenance.Snapshot{
		DedupSize: d.Size, DedupCapacity: d.Capacity, DedupBytes: d.EstimatedBytes,
		DedupHits: d.Hits, DedupMisses: d.Misses, DedupEvictions: d.Evictions, DedupExpirations: d.Expirations,
		Locks:          a.executor.Locks().Len(),
		OpenPositions:  b.open,
		CopiesToday:    b.copiesToday,
		HeadBlock:      a.monitor.Stats().Head,
		StoreFileBytes: a.storeFile().FileBytes,
		StoreLiveBytes: a.storeFile().LiveBytes,
	}
}

// statusLine is the one-line STATUS= summary systemctl status shows. Copying paused by a state
// store fault comes first ("paused: state store not writable: <error>"), then a failed reload,
// then the figures, the chain connection and, unless closed, the CLOB circuit breaker.
func (a *App) statusLine() string {
	prefix := ""
	if reason, since := a.executor.Paused(); reason != "" {
		prefix = fmt.Sprintf("paused: %s (for %s); ", oneLine(reason), time.Since(since).Round(time.Second))
	}
	if t := a.tradingLine(); t != "" {
		prefix += t + "; "
	}
	if e := a.reloadErr.Load(); e != nil {
		return prefix + "reload failed: " + *e
	}
	m := a.monitor.Stats()
	b := a.bookStats()
	state := a.monitor.State()
	if err := a.monitor.Healthy(); err != nil && prefix == "" {
		state = err.Error() // while paused, the monitor waits on the executor by design
	}
	if p, ok := a.catchingUp(); ok {
		state = p.String()
	}
	line := fmt.Sprintf("%s%d leaders, %d copies today, %d open positions, head %d, %s%s",
		prefix, len(enabledLeaders(a.cfg.Load())), b.copiesToday, b.open, m.Head, state, a.footprintLine())
	if br := a.executor.Breaker(); br.State != executor.BreakerClosed {
		line += ", " + br.String()
	}
	if x := exitRetriesLine(a.executor.ExitRetries(), time.Now()); x != "" {
		line += ", " + x
	}
	if l := dailyLoss(a.cfg.Load().Risk.DailyLossLimitUSDC, b.loss); l.Tripped {
		line += fmt.Sprintf(", BUYs stopped: daily loss %s USDC, %s past the limit, until %s UTC",
			l.PnLUSDC, l.OverUSDC, l.Until.Format("2006-01-02 15:04"))
	}
	if skew := a.clockSkew(); skew != "" {
		line += ", " + skew
	}
	return line
}

// healthy decides whether the systemd watchdog is fed (maintenance.Options.Healthy). A store
// fault that only a restart can clear (executor.Healthy) stops it. While copying is paused by a
// recoverable store fault (disk full, read-only) the watchdog is fed: a restart would meet the
// same disk, and the monitor, which waits on the paused executor's full queues, stops
// advancing by design. Otherwise the monitor's health decides.
func (a *App) healthy() error {
	if err := a.executor.Healthy(); err != nil {
		return err
	}
	if reason, _ := a.executor.Paused(); reason != "" {
		return nil
	}
	if a.catchUpProgressing() {
		return nil // a long catch-up after a disconnect: reading, not stuck
	}
	return a.monitor.Healthy()
}

// executorChanged refreshes the status line when copying pauses or resumes and when the CLOB
// circuit breaker changes state.
func (a *App) executorChanged() {
	if a.monitor == nil || a.executor == nil {
		return // still being built
	}
	a.status(a.statusLine())
}

// onRemoved handles a leader fill that a reorg took off the chain: a copy still waiting is
// dropped; one already placed stays, and is reported so the user can review it.
func (a *App) onRemoved(f polymarket.Fill) {
	log := a.log.With(zap.Stringer("leader", f.Maker), zap.String("market", f.Market()), zap.Stringer("tx", f.TxHash), zap.Uint("log_index", f.LogIndex))
	if a.reorgs != nil {
		a.reorgs.Kick() // the reorg check decides whether it is gone for good
	}
	if a.executor.Cancel(f) {
		log.Warn("copy cancelled: the leader fill was reverted by a reorg")
		return
	}
	log.Warn("a copied leader fill was reverted by a reorg; the copy stands", zap.Stringer("side", f.Side))
}

func (a *App) status(line string) {
	if err := a.notifier.Status(line); err != nil {
		a.log.Warn("systemd notify failed", zap.Error(err))
	}
}

func enabledLeaders(cfg *config.Config) []common.Address {
	var out []common.Address
	for _, l := range cfg.Leaders {
		if l.Enabled {
			out = append(out, l.Address)
		}
	}
	return out
}

// ScaledNow is a wall clock that runs scale times faster than real time from the moment it
// is made: a soak with scale 1440 lives a day a minute. For tests and the soak only.
func ScaledNow(scale int) func() time.Time {
	start := time.Now()
	return func() time.Time { return start.Add(time.Since(start) * time.Duration(scale)) }
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
