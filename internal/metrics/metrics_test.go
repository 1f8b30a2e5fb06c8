package metrics

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/polybot/polybot/internal/broker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startServer starts m on a free loopback port and returns its base URL; the server stops with the test.
func startServer(t *testing.T, m *Metrics) string {
	t.Helper()
	srv, err := m.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		http.DefaultClient.CloseIdleConnections()
	})
	return "http://" + srv.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
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

// scrape reads /metrics into "name{labels}" -> value, as the exposition format writes them.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", code, body)
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
	return out
}

func TestScrapeReportsTheComponentsStats(t *testing.T) {
	var snap atomic.Pointer[Snapshot]
	snap.Store(&Snapshot{})
	m, err := New(Options{Version: "1.2.3", Snapshot: func() Snapshot { return *snap.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	base := startServer(t, m)

	before := scrape(t, base)
	for _, name := range []string{
		`polybot_logs_total`, `polybot_fills_total`, `polybot_duplicate_logs_total`, `polybot_malformed_logs_total`,
		`polybot_rpc_reconnects_total`, `polybot_copies_total{outcome="copied"}`, `polybot_copies_total{outcome="skipped"}`,
		`polybot_copies_total{outcome="failed"}`, `polybot_dedup_entries`, `polybot_dedup_bytes`, `polybot_market_locks`,
		`polybot_open_positions`, `polybot_head_block`, `polybot_healthy`, `polybot_config_last_reload_successful`,
		// Go runtime and process collectors.
		`go_goroutines`, `go_memstats_heap_alloc_bytes`, `process_resident_memory_bytes`,
	} {
		if _, ok := before[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if before[`polybot_build_info{goversion="`+goVersion()+`",version="1.2.3"}`] != 1 {
		t.Errorf("polybot_build_info does not carry the version")
	}
	if _, ok := before["polybot_head_age_seconds"]; ok {
		t.Error("head age reported before any head was seen")
	}
	if _, ok := before["polybot_clock_skew_seconds"]; ok {
		t.Error("clock skew reported before it was measured")
	}
	if _, ok := before[`polybot_resident_memory_bytes{kind="anon"}`]; ok {
		t.Error("resident memory by kind reported while unknown")
	}
	if before["process_resident_memory_bytes"] <= 0 {
		t.Error("process_resident_memory_bytes is not positive")
	}

	snap.Store(&Snapshot{
		Logs: 10, Fills: 7, Duplicates: 3, Malformed: 1, Reconnects: 2, HeadBlock: 4242,
		HeadAge: 1500 * time.Millisecond, HeadAgeKnown: true, Subscribed: true, Healthy: true,
		Copied: 5, Skipped: 2, Locks: 4, DedupSize: 9, DedupCapacity: 100, DedupBytes: 1234,
		OpenPositions: 3, RealisedUSDC: -1.5, RealisedAllTimeUSDC: 40.25, UnrealisedUSDC: -2, ReloadFailed: true,
		Leaders:       []LeaderPnL{{Leader: "0xA1", RealisedUSDC: 40.25, UnrealisedUSDC: -2, FeesUSDC: 0.5, RedeemedUSDC: 12, Copies: 7}},
		CopyingPaused: true, CLOBBreaker: "open", CLOBBreakerTrips: 2,
		DailyLossTripped: true, DailyLossPnLUSDC: -212.5,
		ClockSkew: -3600, ClockSkewKnown: true,
		RSSKnown: true, RSSAnonBytes: 18 << 20, RSSFileBytes: 30 << 20, StoreFileBytes: 24 << 20, StoreLiveBytes: 21 << 20,
		RedemptionsPaid: 4, RedemptionsFailed: 3,
	})
	after := scrape(t, base)
	for name, want := range map[string]float64{
		`polybot_logs_total`: 10, `polybot_fills_total`: 7, `polybot_duplicate_logs_total`: 3,
		`polybot_malformed_logs_total`: 1, `polybot_rpc_reconnects_total`: 2, `polybot_head_block`: 4242,
		`polybot_head_age_seconds`: 1.5, `polybot_subscribed`: 1, `polybot_healthy`: 1,
		`polybot_copies_total{outcome="copied"}`: 5, `polybot_copies_total{outcome="skipped"}`: 2,
		`polybot_market_locks`: 4, `polybot_dedup_entries`: 9, `polybot_dedup_capacity`: 100, `polybot_dedup_bytes`: 1234,
		`polybot_open_positions`: 3, `polybot_realised_usdc{period="today"}`: -1.5,
		`polybot_realised_usdc{period="all_time"}`: 40.25, `polybot_unrealised_usdc`: -2,
		`polybot_leader_realised_usdc{leader="0xA1"}`: 40.25, `polybot_leader_unrealised_usdc{leader="0xA1"}`: -2,
		`polybot_leader_fees_usdc{leader="0xA1"}`: 0.5, `polybot_leader_redeemed_usdc{leader="0xA1"}`: 12,
		`polybot_leader_copies{leader="0xA1"}`: 7, `polybot_config_last_reload_successful`: 0,
		`polybot_copying_paused`: 1, `polybot_clob_breaker_trips_total`: 2,
		`polybot_clob_breaker_state{state="open"}`: 1, `polybot_clob_breaker_state{state="closed"}`: 0,
		`polybot_clob_breaker_state{state="half-open"}`: 0, `polybot_clock_skew_seconds`: -3600,
		`polybot_daily_loss_breaker_tripped`: 1, `polybot_daily_loss_breaker_pnl_usdc`: -212.5,
		`polybot_resident_memory_bytes{kind="anon"}`: 18 << 20, `polybot_resident_memory_bytes{kind="file"}`: 30 << 20,
		`polybot_store_file_bytes`: 24 << 20, `polybot_store_live_bytes`: 21 << 20,
		`polybot_redemptions_total{result="paid"}`: 4, `polybot_redemptions_total{result="failed"}`: 3,
	} {
		if got := after[name]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
}

func goVersion() string {
	m, _ := New(Options{Snapshot: func() Snapshot { return Snapshot{} }})
	mfs, _ := m.Registry().Gather()
	for _, mf := range mfs {
		if mf.GetName() == "polybot_build_info" {
			for _, l := range mf.GetMetric()[0].GetLabel() {
				if l.GetName() == "goversion" {
					return l.GetValue()
				}
			}
		}
	}
	return ""
}

type failing struct{}

func (failing) PlaceOrder(context.Context, broker.Order) (broker.Execution, error) {
	return broker.Execution{}, errors.New("clob said no")
}

func TestHistogramsCountCopiesAndOrders(t *testing.T) {
	m, err := New(Options{Snapshot: func() Snapshot { return Snapshot{} }})
	if err != nil {
		t.Fatal(err)
	}
	base := startServer(t, m)
	m.ObserveCopy(OutcomeCopied, 3*time.Millisecond)
	m.ObserveCopy(OutcomeCopied, 2*time.Second)
	m.ObserveCopy(OutcomeSkipped, time.Microsecond)
	m.ObserveCopy("no such outcome", time.Second) // ignored, never a new series

	ok := m.Broker(broker.Paper{})
	if _, err := ok.PlaceOrder(context.Background(), broker.Order{Shares: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Broker(failing{}).PlaceOrder(context.Background(), broker.Order{}); err == nil || err.Error() != "clob said no" {
		t.Fatalf("the wrapper changed the broker's error: %v", err)
	}

	got := scrape(t, base)
	for name, want := range map[string]float64{
		`polybot_copy_duration_seconds_count{outcome="copied"}`:             2,
		`polybot_copy_duration_seconds_sum{outcome="copied"}`:               2.003,
		`polybot_copy_duration_seconds_bucket{outcome="copied",le="0.005"}`: 1,
		`polybot_copy_duration_seconds_count{outcome="skipped"}`:            1,
		`polybot_copy_duration_seconds_count{outcome="failed"}`:             0,
		`polybot_order_duration_seconds_count{result="ok"}`:                 1,
		`polybot_order_duration_seconds_count{result="error"}`:              1,
	} {
		if g := got[name]; g != want {
			t.Errorf("%s = %v, want %v", name, g, want)
		}
	}
	for name := range got {
		if strings.Contains(name, "no such outcome") {
			t.Errorf("unknown outcome made a series: %s", name)
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	var reason atomic.Pointer[string]
	msg := "not subscribed: dial ws://127.0.0.1:1: connection refused"
	reason.Store(&msg)
	m, err := New(Options{
		Snapshot: func() Snapshot { return Snapshot{} },
		Ready: func() error {
			if r := reason.Load(); r != nil {
				return errors.New(*r)
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	base := startServer(t, m)

	if code, body := get(t, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz while not ready: %d %q, want 200 ok", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, msg) {
		t.Fatalf("/readyz while not subscribed: %d %q, want 503 with the reason", code, body)
	}
	reason.Store(nil)
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz once subscribed: %d %q, want 200", code, body)
	}
}

func TestMalformedRequestsAreRefused(t *testing.T) {
	m, err := New(Options{Snapshot: func() Snapshot { return Snapshot{} }})
	if err != nil {
		t.Fatal(err)
	}
	base := startServer(t, m)
	resp, err := http.Post(base+"/metrics", "text/plain", strings.NewReader(strings.Repeat("x", 1<<20)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %d, want 405", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("X-Big", strings.Repeat("y", 64<<10))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers: %d, want 431", resp.StatusCode)
	}
	if code, _ := get(t, base+"/nothing"); code != http.StatusNotFound {
		t.Errorf("/nothing: %d, want 404", code)
	}
	// Still serving after all that.
	if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz after bad requests: %d", code)
	}
}

func TestListenStaysOnLoopbackUnlessAllowed(t *testing.T) {
	m, err := New(Options{Snapshot: func() Snapshot { return Snapshot{} }})
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:9464", "metrics.example.com:9464"} {
		if _, err := m.Listen(addr, false); !errors.Is(err, ErrNotLoopback) {
			t.Errorf("Listen(%q) without opt-in: %v, want ErrNotLoopback", addr, err)
		}
	}
	if _, err := m.Listen("127.0.0.1", false); err == nil {
		t.Error("Listen accepted an address without a port")
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		srv, err := m.Listen(addr, false)
		if err != nil {
			t.Errorf("Listen(%q): %v", addr, err)
			continue
		}
		_ = srv.Close()
	}
}

func TestRunStopsOnCancelAndFreesThePort(t *testing.T) {
	m, err := New(Options{Snapshot: func() Snapshot { return Snapshot{} }})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := m.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	if code, _ := get(t, "http://"+addr+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v, want nil", err)
	}
	http.DefaultClient.CloseIdleConnections()
	again, err := m.Listen(addr, false)
	if err != nil {
		t.Fatalf("port not freed after Run: %v", err)
	}
	_ = again.Close()
}

func TestNewNeedsASnapshot(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New accepted Options without Snapshot")
	}
}
