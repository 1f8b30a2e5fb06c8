package app

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/systemd"
	"github.com/polybot/polybot/internal/testing/leaktest"
	"github.com/polybot/polybot/internal/testing/sim"
	"github.com/polybot/polybot/internal/testing/testfs"
)

func TestMain(m *testing.M) {
	testfs.InUserNamespace() // the disk-fault tests mount a tmpfs
	leaktest.VerifyTestMain(m)
}

type fillID struct {
	tx  common.Hash
	idx uint
}

// copyLog is a paper broker that also remembers which leader fills it copied.
type copyLog struct {
	mu     sync.Mutex
	copied map[fillID]int
}

func (c *copyLog) PlaceOrder(ctx context.Context, o broker.Order) (broker.Execution, error) {
	c.mu.Lock()
	if c.copied == nil {
		c.copied = make(map[fillID]int)
	}
	c.copied[fillID{o.Source.TxHash, o.Source.LogIndex}]++
	c.mu.Unlock()
	return broker.Paper{}.PlaceOrder(ctx, o)
}

func (c *copyLog) snapshot() map[fillID]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[fillID]int, len(c.copied))
	for k, v := range c.copied {
		out[k] = v
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes; it never sleeps a fixed time and hopes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startSim(t *testing.T) *sim.Sim {
	t.Helper()
	s, err := sim.New(sim.Options{Leaders: 3, Log: zaptest.NewLogger(t).Named("polysim")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("polysim: %v", err)
		}
	})
	return s
}

func commit(t *testing.T, s *sim.Sim) {
	t.Helper()
	if _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
}

func demoConfig(t *testing.T, s *sim.Sim) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.StateDir = t.TempDir()
	cfg.Chain.RPCURL = s.WSURL()
	cfg.Chain.ChainID = s.ChainID()
	cfg.Copy.CopyRatio = decimal.RequireFromString("1")
	cfg.Copy.MaxTradeUSDC = decimal.RequireFromString("1000000")
	wideLimits(cfg)
	cfg.Leaders = nil
	for _, l := range s.LeaderAddresses() {
		cfg.Leaders = append(cfg.Leaders, config.Leader{Address: l, Enabled: true})
	}
	return cfg
}

// wideLimits sets the copy filters and risk limits so wide that every leader BUY of polysim is
// copied in full.
func wideLimits(cfg *config.Config) {
	one := func(s string) decimal.Decimal { return decimal.RequireFromString(s) }
	cfg.Copy.MinTradeUSDC, cfg.Copy.MinOrderShares = one("0.01"), one("0.01")
	cfg.Copy.MinPrice, cfg.Copy.MaxPrice = one("0.01"), one("0.99")
	cfg.Copy.MaxFillAge = 24 * time.Hour
	big := one("1000000000")
	cfg.Risk.MaxMarketExposureUSDC, cfg.Risk.MaxLeaderExposureUSDC, cfg.Risk.MaxTotalExposureUSDC = big, big, big
	cfg.Risk.MaxDailySpendUSDC, cfg.Risk.DailyLossLimitUSDC, cfg.Risk.MaxOpenPositions = big, big, 1_000_000
}

type running struct {
	app    *App
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, opts Options) *running {
	t.Helper()
	if opts.Log == nil {
		opts.Log = zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))
	}
	a, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{app: a, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- a.Run(ctx, nil) }()
	select {
	case <-a.Ready():
	case err := <-r.done:
		t.Fatalf("polybot stopped before ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("polybot not ready within 30 s")
	}
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestEndToEndEveryLeaderFillIsCopiedExactlyOnce(t *testing.T) {
	s := startSim(t)
	cl := &copyLog{}
	r := start(t, Options{Config: demoConfig(t, s), Broker: cl})

	const n = 40
	for i := range n {
		if _, _, err := s.EmitRandomFill(); err != nil {
			t.Fatal(err)
		}
		if i%7 == 6 {
			commit(t, s)
		}
	}
	commit(t, s)
	emitted := s.Emitted()
	if len(emitted) != n {
		t.Fatalf("polysim emitted %d leader fills, want %d", len(emitted), n)
	}
	waitFor(t, "every leader fill to reach the executor", 30*time.Second, func() bool {
		st := r.app.Executor().Stats()
		return st.Copied+st.Skipped == n
	})

	st := r.app.Executor().Stats()
	copies := cl.snapshot()
	// Every BUY is copied; a SELL is copied unless polybot holds nothing of that token.
	daily, err := r.app.Store().Daily(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.Copied != uint64(len(copies)) || daily.Copies != st.Copied {
		t.Fatalf("executor copied %d, broker saw %d distinct fills, store applied %d", st.Copied, len(copies), daily.Copies)
	}
	if n, err := r.app.Store().DecisionCount(); err != nil || n != len(emitted) {
		t.Fatalf("%d decisions logged (%v), want one per leader fill: %d", n, err, len(emitted))
	}
	for k, c := range copies {
		if c != 1 {
			t.Errorf("fill %v copied %d times", k, c)
		}
	}
	for _, f := range emitted {
		if f.Side == polymarket.Buy { // a BUY is always copied at ratio 1
			if copies[fillID{f.TxHash, f.LogIndex}] != 1 {
				t.Errorf("leader BUY %s/%d not copied", f.TxHash.Hex(), f.LogIndex)
			}
		}
	}

	// The same logs delivered again (a rewind refetches them with eth_getLogs): no new copies.
	before := r.app.Monitor().Stats()
	r.app.Monitor().Rewind(1)
	waitFor(t, "the rewound logs to be seen again", 30*time.Second, func() bool {
		return r.app.Monitor().Stats().Duplicates >= before.Duplicates+n
	})
	after := r.app.Executor().Stats()
	if after.Copied != st.Copied || after.Skipped != st.Skipped {
		t.Fatalf("redelivered logs were copied again: %+v then %+v", st, after)
	}
	r.stop(t)
}

func TestReloadKeepsOldConfigOnBadFile(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	dir := t.TempDir()
	path := filepath.Join(dir, "polybot.yaml")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	leaders := s.LeaderAddresses()
	good := func(ratio string, ls ...common.Address) string {
		var b strings.Builder
		b.WriteString("state_dir: " + dir + "\n")
		b.WriteString("chain:\n  chain_id: " + itoa(s.ChainID()) + "\n  rpc_url: " + s.WSURL() + "\n")
		b.WriteString("copy:\n  copy_ratio: " + ratio + "\n  max_trade_usdc: 1000000\nleaders:\n")
		for _, l := range ls {
			b.WriteString("  - address: " + l.Hex() + "\n")
		}
		return b.String()
	}
	write(good("1", leaders[0]))
	loaded, _, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	_ = cfg
	r := start(t, Options{Config: loaded, ConfigPath: path})

	write("copy:\n  copy_ratio: -3\n")
	if err := r.app.Reload(); err == nil {
		t.Fatal("a bad config was accepted")
	}
	if got := r.app.Config().Copy.CopyRatio.String(); got != "1" {
		t.Fatalf("copy ratio after a failed reload %s, want the old 1", got)
	}

	// A good reload adds a leader whose fills are then copied, without a restart.
	write(good("0.5", leaders[0], leaders[1]))
	if err := r.app.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := r.app.Config().Copy.CopyRatio.String(); got != "0.5" {
		t.Fatalf("copy ratio after reload %s, want 0.5", got)
	}
	waitFor(t, "the resubscription with the new leader", 30*time.Second, func() bool { return r.app.Monitor().Healthy() == nil })
	if _, err := s.EmitMatch(sim.Match{Leader: leaders[1], Side: polymarket.Buy, TokenID: s.Markets()[0], Shares: 10_000_000, Price: 400_000}); err != nil {
		t.Fatal(err)
	}
	commit(t, s)
	waitFor(t, "the new leader's fill to be copied", 30*time.Second, func() bool { return r.app.Executor().Stats().Copied == 1 })
	r.stop(t)
}

func itoa(v uint64) string { return decimal.NewFromUint64(v).String() }

// TestNotify checks what systemd sees on a real notify socket: READY=1 once subscribed,
// WATCHDOG=1 while healthy, none once the chain head stalls, and STOPPING=1 at shutdown.
func TestNotify(t *testing.T) {
	s := startSim(t)
	dir, err := os.MkdirTemp("", "pbn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "100000") // pings every 50 ms
	t.Setenv("WATCHDOG_PID", itoa(uint64(os.Getpid())))

	clock := new(mclock.Simulated)
	cfg := demoConfig(t, s)
	cfg.Maintenance.Interval = time.Second
	log := zaptest.NewLogger(t)
	r := start(t, Options{Config: cfg, Clock: clock, Log: log, Notifier: systemd.NewNotifier(log)})

	next := func(within time.Duration) (string, bool) {
		buf := make([]byte, 4096)
		_ = conn.SetReadDeadline(time.Now().Add(within))
		n, err := conn.Read(buf)
		if err != nil {
			return "", false
		}
		return string(buf[:n]), true
	}
	expect := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if msg, ok := next(time.Until(deadline)); ok && strings.Contains(msg, what) {
				return
			}
		}
		t.Fatalf("no %q on the notify socket", what)
	}
	// keepAlive moves the injected clock a keep-alive period at a time until one is sent.
	keepAlive := func() {
		t.Helper()
		for range 100 {
			clock.Run(50 * time.Millisecond)
			if msg, ok := next(100 * time.Millisecond); ok && strings.Contains(msg, "WATCHDOG=1") {
				return
			}
		}
		t.Fatal("no WATCHDOG=1 on the notify socket while the clock moves")
	}
	expect("READY=1")
	keepAlive()
	keepAlive()

	// Stall: the head does not advance while the monotonic clock moves past head_stale_after.
	clock.Run(cfg.Chain.HeadStaleAfter + time.Second)
	waitFor(t, "the monitor to report the stall", 5*time.Second, func() bool { return r.app.Monitor().Healthy() != nil })
	// Drain a ping that may have been sent just before the stall was seen, then expect none
	// over ten keep-alive periods.
	for range 10 {
		if _, ok := next(100 * time.Millisecond); !ok {
			break
		}
	}
	for range 10 {
		clock.Run(50 * time.Millisecond)
		if msg, ok := next(50 * time.Millisecond); ok && strings.Contains(msg, "WATCHDOG=1") {
			t.Fatalf("watchdog still fed while the head is stale: %q", msg)
		}
	}
	r.cancel()
	expect("STOPPING=1")
	if err := <-r.done; err != nil {
		t.Fatal(err)
	}
}

// TestReloadUsesTheStartLoadPath: Reload reads the config through Options.Load (the command
// line's overrides applied), not the bare file, so a --log-level set at start survives it.
func TestReloadUsesTheStartLoadPath(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "polybot.yaml")
	body := "state_dir: " + dir + "\nlog:\n  level: info\nleaders:\n  - address: 0x1000000000000000000000000000000000000001\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	load := func() (*config.Config, error) {
		c, _, err := config.Load(path)
		if err == nil {
			c.Log.Level = "debug" // what --log-level debug does
		}
		return c, err
	}
	cfg, err := load()
	if err != nil {
		t.Fatal(err)
	}
	level := zap.NewAtomicLevelAt(zap.DebugLevel)
	a, err := New(context.Background(), Options{Config: cfg, ConfigPath: path, Load: load, Level: &level, Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := level.Level(); got != zap.DebugLevel {
		t.Fatalf("log level after reload %s, want the command line's debug", got)
	}
}
