package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/replay"
	"github.com/polybot/polybot/internal/testing/sim"
)

// replayConfig copies polysim's leaders 1 and 2 one for one (leader 3 is not configured) and
// buys nothing above 0.5; the other limits are too high to bind.
const replayConfig = `
leaders:
  - address: 0x1000000000000000000000000000000000000001
  - address: 0x1000000000000000000000000000000000000002
copy:
  copy_ratio: 1
  min_trade_usdc: 0.01
  max_trade_usdc: 1000000000
  min_order_shares: 0.01
  min_price: 0.01
  max_price: 0.5
risk:
  max_market_exposure_usdc: 1000000000
  max_leader_exposure_usdc: 1000000000
  max_total_exposure_usdc: 1000000000
  max_daily_spend_usdc: 1000000000
  daily_loss_limit_usdc: 1000000000
  max_open_positions: 1000
`

// recordPolysim runs polysim as `polysim --record FILE --rate 200 --block-interval 50ms` does,
// in-process, until it has mined at least n leader fills, and returns the file and the fills.
func recordPolysim(t *testing.T, n int) (string, []polymarket.Fill) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "logs.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.New(sim.Options{Leaders: 3, Markets: 4, Rate: 200, BlockInterval: 50 * time.Millisecond, Seed: 5, Record: f})
	if err != nil {
		t.Fatalf("polysim: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	waitUntil(t, fmt.Sprintf("polysim to mine %d fills", n), func() bool { return len(s.Emitted()) >= n })
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("polysim Run: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, s.Emitted()
}

func writeReplayConfig(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "polybot.yaml")
	if err := os.WriteFile(path, []byte(replayConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tableCount reads the count of a row of the replay table, such as "leader fills".
func tableCount(t *testing.T, table, label string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(label) + `\s+(\d+)`).FindStringSubmatch(table)
	if m == nil {
		t.Fatalf("no %q row in:\n%s", label, table)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// End to end: what polysim records, `polybot replay` reads back, and it counts exactly the fills
// the configured leaders made, skips exactly their buys above copy.max_price and lists the
// malformed line appended to the recording.
func TestReplayOfWhatPolysimRecorded(t *testing.T) {
	logs, emitted := recordPolysim(t, 60)
	configured := map[string]bool{sim.LeaderAddress(1).Hex(): true, sim.LeaderAddress(2).Hex(): true}
	var leaderFills, expensive int
	for _, f := range emitted {
		if configured[f.Maker.Hex()] {
			leaderFills++
			if f.Side == polymarket.Buy && f.Price().GreaterThan(decimal.RequireFromString("0.5")) {
				expensive++
			}
		}
	}
	data, err := os.ReadFile(logs)
	if err != nil {
		t.Fatal(err)
	}
	badLine := bytes.Count(data, []byte("\n")) + 1
	if err := os.WriteFile(logs, append(data, "{\"address\": truncated\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeReplayConfig(t)

	var stdout, stderr bytes.Buffer
	if code := run([]string{"replay", "--config", cfg, "--logs", logs}, &stdout, &stderr); code != exOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	table := stdout.String()
	if got := tableCount(t, table, "leader fills"); got != leaderFills {
		t.Errorf("the table shows %d leader fills, polysim's leaders 1 and 2 made %d:\n%s", got, leaderFills, table)
	}
	if got := tableCount(t, table, "copy.max_price"); got != expensive {
		t.Errorf("the table shows %d skipped by copy.max_price, want the %d buys above 0.5:\n%s", got, expensive, table)
	}
	if got := tableCount(t, table, "malformed"); got != 1 || !strings.Contains(table, fmt.Sprintf("line %d: not a JSON log", badLine)) {
		t.Errorf("the table shows %d malformed, want 1 naming line %d:\n%s", got, badLine, table)
	}
	for _, want := range []string{"replay of " + logs, "TOKEN", "LAST PRICE", "realised P&L USDC", "total P&L USDC"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}

	stdout.Reset()
	if code := run([]string{"replay", "--config", cfg, "--logs", logs, "--json"}, &stdout, &stderr); code != exOK {
		t.Fatalf("--json: exit %d: %s", code, stderr.String())
	}
	var s replay.Summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("--json printed no summary: %v\n%s", err, stdout.String())
	}
	if s.LeaderFills != leaderFills || s.Copied+s.Reduced+s.Skipped != leaderFills || s.Malformed != 1 {
		t.Errorf("JSON: leader fills %d (copied %d, reduced %d, skipped %d), malformed %d; want %d fills, 1 malformed",
			s.LeaderFills, s.Copied, s.Reduced, s.Skipped, s.Malformed, leaderFills)
	}
	if !s.PnL.Equal(s.Realised.Add(s.Unrealised)) || len(s.Positions) == 0 {
		t.Errorf("JSON: %d positions, P&L %s, realised %s, unrealised %s", len(s.Positions), s.PnL, s.Realised, s.Unrealised)
	}
}

func TestReplayFailures(t *testing.T) {
	cfg := writeReplayConfig(t)
	invalid := filepath.Join(t.TempDir(), "invalid.yaml")
	if err := os.WriteFile(invalid, []byte("leaders: []\ncopy:\n  max_price: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"without --logs it says the flag is required", []string{"replay", "--config", cfg}, exFail, "--logs FILE is required"},
		{"a missing file is an error naming it", []string{"replay", "--config", cfg, "--logs", "/nonexistent/logs.jsonl"}, exFail, "/nonexistent/logs.jsonl"},
		{"an invalid config exits 78 naming the key", []string{"replay", "--config", invalid, "--logs", "/dev/null"}, exConfig, "copy.max_price"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d naming %q", code, stderr.String(), tc.code, tc.want)
			}
		})
	}
}

func TestReplayOfAnEmptyFileShowsNothing(t *testing.T) {
	cfg := writeReplayConfig(t)
	empty := filepath.Join(t.TempDir(), "empty.jsonl")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"replay", "--config", cfg, "--logs", empty}, &stdout, &stderr); code != exOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if tableCount(t, stdout.String(), "lines read") != 0 || !strings.Contains(stdout.String(), "0 open") {
		t.Fatalf("an empty file should replay to nothing:\n%s", stdout.String())
	}
}
