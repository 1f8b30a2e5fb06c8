package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/sim"
)

// socketDir is a temporary directory short enough for a unix socket path.
func socketDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pbo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// scrape reads /metrics into "name{labels}" -> value; it also returns the raw text.
func scrape(t *testing.T, addr string) (map[string]float64, string) {
	t.Helper()
	code, body := httpGet(t, "http://"+addr+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q", line)
		}
		out[line[:i]] = v
	}
	return out, body
}

func TestMetricsMoveWhenPolybotCopies(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	cfg.Metrics.Listen = "127.0.0.1:0"
	cfg.Admin.Enabled = false
	r := start(t, Options{Config: cfg, Version: "v1.2.3-test"})
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	addr := r.app.MetricsAddr()
	if addr == "" {
		t.Fatal("metrics.listen is set but MetricsAddr is empty")
	}

	before, _ := scrape(t, addr)
	leader := s.LeaderAddresses()[0]
	const n = 3
	for i := range n {
		if _, err := s.EmitMatch(sim.Match{Leader: leader, Side: polymarket.Buy, TokenID: s.Markets()[i], Shares: 10_000_000, Price: 400_000}); err != nil {
			t.Fatal(err)
		}
	}
	block, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the copies", 30*time.Second, func() bool {
		return r.app.Executor().Stats().Copied == n && r.app.Monitor().Stats().Head >= block
	})
	after, _ := scrape(t, addr)

	grew := func(name string, by float64) {
		t.Helper()
		if got := after[name] - before[name]; got != by {
			t.Errorf("%s grew by %v, want %v (before %v, after %v)", name, got, by, before[name], after[name])
		}
	}
	grew(`polybot_copies_total{outcome="copied"}`, n)
	grew(`polybot_fills_total`, n)
	grew(`polybot_copy_duration_seconds_count{outcome="copied"}`, n)
	grew(`polybot_order_duration_seconds_count{result="ok"}`, n)
	grew(`polybot_copies_total{outcome="failed"}`, 0)
	if after[`polybot_logs_total`] < before[`polybot_logs_total`]+n {
		t.Errorf("polybot_logs_total %v -> %v, want at least %d more", before[`polybot_logs_total`], after[`polybot_logs_total`], n)
	}
	for name, want := range map[string]float64{
		`polybot_open_positions`: n,
		`polybot_subscribed`:     1,
		`polybot_healthy`:        1,
		`polybot_market_locks`:   n,
	} {
		if after[name] != want {
			t.Errorf("%s = %v, want %v", name, after[name], want)
		}
	}
	if after[`polybot_head_block`] < float64(block) {
		t.Errorf("polybot_head_block = %v, want at least %d", after[`polybot_head_block`], block)
	}
	if after[`polybot_dedup_entries`] < n || after[`polybot_dedup_bytes`] <= 0 {
		t.Errorf("dedup gauges did not move: entries %v bytes %v", after[`polybot_dedup_entries`], after[`polybot_dedup_bytes`])
	}
	if after[`process_resident_memory_bytes`] <= 0 || after[`go_goroutines`] <= 0 {
		t.Errorf("process metrics missing: rss %v goroutines %v", after[`process_resident_memory_bytes`], after[`go_goroutines`])
	}
	found := false
	for name := range after {
		if strings.HasPrefix(name, "polybot_build_info{") && strings.Contains(name, `version="v1.2.3-test"`) {
			found = true
		}
	}
	if !found {
		t.Error("polybot_build_info does not carry Options.Version")
	}
	r.stop(t)
}

// TestReadyzAndStatusFollowTheSubscriptionAndShowNoSecret starts polybot against an RPC URL that
// carries an API key, with a first dial that fails quoting the URL (as HTTP client errors do).
// /readyz is 503 until the subscription is up, then 200; neither it, /metrics nor the admin
// socket ever shows the key.
func TestReadyzAndStatusFollowTheSubscriptionAndShowNoSecret(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	secrets := []string{"s3cr3tPathKey", "t0pS3cretQuery", "hunter2pass"}
	cfg.Chain.RPCURL = "wss://user:hunter2pass@rpc.example.com/v2/s3cr3tPathKey?apikey=t0pS3cretQuery"
	cfg.Metrics.Listen = "127.0.0.1:0"
	cfg.Admin.Socket = filepath.Join(socketDir(t), "admin.sock")
	cfg.Leaders[0].Name = "alice"

	// Every dial fails, quoting the URL, until the gate opens: the wallet monitor and the chain
	// clock both dial, in either order.
	gate := make(chan struct{})
	dial := func(ctx context.Context) (chain.Client, error) {
		select {
		case <-gate:
		default:
			return nil, fmt.Errorf("chain id: Post %q: dial tcp: connection refused", cfg.Chain.RPCURL)
		}
		return chain.Dial(ctx, s.WSURL(), s.ChainID(), 10*time.Second)
	}
	a, err := New(context.Background(), Options{Config: cfg, Dial: dial, Version: "v9", Log: zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	old := syscall.Umask(0) // the socket must be 0600 whatever the umask
	go func() { done <- a.Run(ctx, nil) }()
	waitFor(t, "the endpoints", 10*time.Second, func() bool { return a.MetricsAddr() != "" && a.AdminSocket() != "" })
	syscall.Umask(old)
	t.Cleanup(http.DefaultClient.CloseIdleConnections)

	fi, err := os.Stat(cfg.Admin.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket mode %v, want 0600", fi.Mode().Perm())
	}

	noSecret := func(where, text string) {
		t.Helper()
		for _, sec := range secrets {
			if strings.Contains(text, sec) {
				t.Errorf("%s shows the secret %q:\n%s", where, sec, text)
			}
		}
	}
	addr := a.MetricsAddr()
	waitFor(t, "the first dial to fail", 10*time.Second, func() bool { return a.Monitor().Stats().LastError != "" })

	code, body := httpGet(t, "http://"+addr+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "not subscribed") {
		t.Fatalf("/readyz before the subscription: %d %q, want 503 saying not subscribed", code, body)
	}
	noSecret("/readyz", body)
	if !strings.Contains(body, "rpc.example.com") {
		t.Errorf("/readyz hides too much to be useful: %q", body)
	}
	if code, _ := httpGet(t, "http://"+addr+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz while not subscribed: %d, want 200", code)
	}
	raw, err := admin.FetchRaw(ctx, cfg.Admin.Socket)
	if err != nil {
		t.Fatal(err)
	}
	noSecret("/status", string(raw))
	st, err := admin.Fetch(ctx, cfg.Admin.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if st.Chain.Healthy || st.Chain.Subscribed || !strings.Contains(st.Chain.HealthError, "not subscribed") {
		t.Errorf("status before the subscription: %+v", st.Chain)
	}

	close(gate)
	select {
	case <-a.Ready():
	case err := <-done:
		t.Fatalf("polybot stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready within 30 s")
	}
	if code, body := httpGet(t, "http://"+addr+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz once subscribed: %d %q, want 200", code, body)
	}
	m, text := scrape(t, addr)
	noSecret("/metrics", text)
	if m[`polybot_rpc_reconnects_total`] != 1 {
		t.Errorf("polybot_rpc_reconnects_total = %v, want 1", m[`polybot_rpc_reconnects_total`])
	}

	raw, err = admin.FetchRaw(ctx, cfg.Admin.Socket)
	if err != nil {
		t.Fatal(err)
	}
	noSecret("/status", string(raw))
	st, err = admin.Fetch(ctx, cfg.Admin.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Chain.Healthy || st.Version != "v9" || st.Mode != "paper" || st.ConfigHash != cfg.Hash() ||
		len(st.Leaders) != len(cfg.Leaders) || st.Leaders[0].Name != "alice" || st.Chain.Reconnects != 1 ||
		st.Chain.HeadAgeSeconds == nil {
		t.Errorf("status once subscribed: %s", raw)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := os.Lstat(cfg.Admin.Socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("admin socket left after stop: %v", err)
	}
}

func TestRunRefusesEndpointsItCannotServe(t *testing.T) {
	s := startSim(t)
	for name, set := range map[string]func(*Options){
		// Validation refuses this config; Run refuses it too if it gets one.
		"metrics.listen": func(o *Options) { o.Config.Metrics.Listen = "0.0.0.0:0" },
		"admin.socket":   func(o *Options) { o.Config.Admin.Socket = "/nonexistent-polybot-dir/admin.sock" },
	} {
		t.Run(name, func(t *testing.T) {
			opts := Options{Config: demoConfig(t, s), Log: zaptest.NewLogger(t)}
			opts.Config.Metrics.Listen = "127.0.0.1:0"
			set(&opts)
			a, err := New(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			err = a.Run(context.Background(), nil)
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("Run: %v, want an error naming %s", err, name)
			}
		})
	}
}

// TestHeadAgeAndUptimeFollowTheInjectedClock: the head age /metrics and polybot status show, and
// the uptime, are measured on Options.Clock, so that they can be checked exactly: 20 s after the
// last new head the age is 20 s, and a new block brings it back to 0.
func TestHeadAgeAndUptimeFollowTheInjectedClock(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	cfg.Metrics.Listen = "127.0.0.1:0"
	cfg.Admin.Socket = filepath.Join(socketDir(t), "admin.sock")
	clock := new(mclock.Simulated)
	r := start(t, Options{Config: cfg, Clock: clock})
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	addr := r.app.MetricsAddr()

	headAge := func() (float64, float64, float64) {
		t.Helper()
		m, _ := scrape(t, addr)
		st, err := admin.Fetch(context.Background(), cfg.Admin.Socket)
		if err != nil {
			t.Fatal(err)
		}
		if st.Chain.HeadAgeSeconds == nil {
			t.Fatal("polybot status shows no head age once subscribed")
		}
		return m[`polybot_head_age_seconds`], *st.Chain.HeadAgeSeconds, st.UptimeSeconds
	}
	if metric, status, _ := headAge(); metric != 0 || status != 0 {
		t.Fatalf("head age right after the subscription: metric %v, status %v; want 0 (the clock has not moved)", metric, status)
	}
	clock.Run(20 * time.Second)
	if metric, status, uptime := headAge(); metric != 20 || status != 20 || uptime != 20 {
		t.Errorf("20 s later without a block: head age metric %v, status %v, uptime %v; want 20, 20, 20", metric, status, uptime)
	}
	block, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new head", 30*time.Second, func() bool { return r.app.Monitor().Stats().Head >= block })
	if metric, status, _ := headAge(); metric != 0 || status != 0 {
		t.Errorf("head age after a new block: metric %v, status %v; want 0", metric, status)
	}
	r.stop(t)
}
