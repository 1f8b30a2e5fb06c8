package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/shopspring/decimal"
	"go.uber.org/goleak"

	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/strategy"
	"github.com/polybot/polybot/internal/testing/chainlog"
	"github.com/polybot/polybot/internal/testing/sim"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(settled{m}, leakOptions...)
}

// leakOptions ignores go-ethereum's process-wide transaction sender cache, which never stops.
var leakOptions = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/ethereum/go-ethereum/core.(*txSenderCacher).cache"),
}

// settled gives goroutines that end shortly after a simulated chain closes up to 5 s to end
// before goleak looks.
type settled struct{ m *testing.M }

func (s settled) Run() int {
	code := s.m.Run()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if goleak.Find(leakOptions...) == nil {
			break
		}
	}
	return code
}

var (
	leaderA   = common.HexToAddress("0x1000000000000000000000000000000000000001")
	leaderOff = common.HexToAddress("0x2000000000000000000000000000000000000002")
	stranger  = common.HexToAddress("0x3000000000000000000000000000000000000003")
	foreignEx = common.HexToAddress("0x4000000000000000000000000000000000000004")
	tokenT1   = big.NewInt(111)
	tokenT2   = big.NewInt(222)
)

// parseConfig builds a validated config from YAML.
func parseConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// fillLog is a V2 OrderFilled log of maker on exchange ex, as eth_getLogs returns it; ts 0
// leaves out the block timestamp.
func fillLog(ex, maker common.Address, side polymarket.Side, token *big.Int, shares, collateral, block, ts uint64, tx byte, idx uint) types.Log {
	topics, data := chainlog.Trade{OrderHash: common.Hash{tx, byte(idx), 1}, Maker: maker,
		Taker: common.Address{0xee}, Sell: side == polymarket.Sell, TokenID: token, Shares: shares, Collateral: collateral}.V2()
	return types.Log{Address: ex, Topics: topics, Data: data, BlockNumber: block, TxHash: common.Hash{tx},
		BlockHash: common.Hash{byte(block)}, BlockTimestamp: ts, Index: idx}
}

func jsonLine(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func sameDecimal(t *testing.T, what string, got decimal.Decimal, want string) {
	t.Helper()
	if !got.Equal(dec(want)) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

// handStream is a small recorded stream with one line of each kind the replay sorts out. The
// config copies 0.1 of leaderA, lists leaderOff as disabled, and caps each market at 8 USDC.
const handConfig = `
leaders:
  - address: 0x1000000000000000000000000000000000000001
  - address: 0x2000000000000000000000000000000000000002
    enabled: false
copy:
  copy_ratio: 0.1
risk:
  max_market_exposure_usdc: 8
`

func handStream(t *testing.T) string {
	ex := polymarket.CTFExchangeV2 // the config's default chain.exchanges.ctf
	const t0 = 1_796_000_000
	buy, sell := polymarket.Buy, polymarket.Sell
	removed := fillLog(ex, leaderA, buy, tokenT1, 100e6, 50e6, 4, t0+8, 9, 0)
	removed.Removed = true
	matched := types.Log{Address: ex, Topics: []common.Hash{polymarket.OrdersMatchedV2Topic, {1}, {2}}, Data: make([]byte, 128),
		BlockNumber: 4, TxHash: common.Hash{10}, BlockTimestamp: t0 + 8}
	short := fillLog(ex, leaderA, buy, tokenT1, 100e6, 50e6, 4, t0+8, 11, 0)
	short.Topics = short.Topics[:3]
	first := jsonLine(t, fillLog(ex, leaderA, buy, tokenT1, 100e6, 50e6, 1, t0+2, 1, 0))
	lines := []string{
		first, // 1: copied, 10 shares for 5 USDC
		jsonLine(t, fillLog(ex, leaderA, buy, tokenT1, 100e6, 50e6, 2, t0+4, 2, 0)), // 2: reduced to 6 shares (3 USDC of room)
		jsonLine(t, fillLog(ex, leaderA, buy, tokenT2, 100e6, 98e6, 2, t0+4, 3, 0)), // 3: price 0.98 > copy.max_price
		jsonLine(t, fillLog(ex, leaderA, buy, tokenT2, 100e6, 2e6, 3, t0+6, 4, 0)),  // 4: price 0.02 < copy.min_price
		first,      // 5: duplicate
		"not json", // 6: malformed line
		jsonLine(t, fillLog(foreignEx, leaderA, buy, tokenT1, 100e6, 50e6, 3, t0+6, 5, 0)), // 7: other exchange
		jsonLine(t, fillLog(ex, leaderOff, buy, tokenT1, 100e6, 55e6, 3, t0+6, 6, 0)),      // 8: disabled leader
		jsonLine(t, removed), // 9: removed
		jsonLine(t, matched), // 10: other event
		jsonLine(t, short),   // 11: malformed log
		jsonLine(t, []types.Log{ // 12: an eth_getLogs array: leaderA sells half, a stranger buys
			fillLog(ex, leaderA, sell, tokenT1, 100e6, 70e6, 5, t0+10, 12, 0),
			fillLog(ex, stranger, buy, tokenT1, 10e6, 6e6, 5, t0+10, 12, 1),
		}),
		"", // 13: blank
		jsonLine(t, fillLog(ex, leaderA, buy, tokenT2, 100e6, 40e6, 6, 0, 13, 0)), // 14: no blockTimestamp
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestReplaySortsEveryLineAndDecidesAsTheDaemon(t *testing.T) {
	s, err := Run(context.Background(), Options{Config: parseConfig(t, handConfig), Input: strings.NewReader(handStream(t)),
		Name: "hand.jsonl", TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	counts := []struct {
		name      string
		got, want int
	}{
		{"lines", s.Lines, 14}, {"logs", s.Logs, 13}, {"leader fills", s.LeaderFills, 6},
		{"copied", s.Copied, 3}, {"reduced", s.Reduced, 1}, {"skipped", s.Skipped, 2}, {"failed", s.Failed, 0},
		{"duplicates", s.Duplicates, 1}, {"removed", s.Removed, 1}, {"other exchanges", s.OtherExchanges, 1},
		{"disabled", s.Disabled, 1}, {"other makers", s.OtherMakers, 1}, {"other events", s.OtherEvents, 1},
		{"malformed logs", s.MalformedLogs, 1}, {"malformed", s.Malformed, 2}, {"untimed", s.Untimed, 1},
		{"closed positions", s.ClosedPositions, 0},
	}
	for _, c := range counts {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	sum := s.Removed + s.OtherEvents + s.OtherExchanges + s.OtherMakers + s.Disabled + s.Duplicates + s.LeaderFills + s.MalformedLogs
	if sum != s.Logs {
		t.Errorf("the categories add up to %d logs, want %d", sum, s.Logs)
	}
	if len(s.MalformedLines) != 2 || s.MalformedLines[0].Line != 6 || s.MalformedLines[1].Line != 11 {
		t.Errorf("malformed lines = %+v, want lines 6 and 11", s.MalformedLines)
	}
	wantSkips := map[string]int{strategy.LimitMaxPrice: 1, strategy.LimitMinPrice: 1}
	if len(s.Skips) != len(wantSkips) {
		t.Errorf("skipped by %+v, want %v", s.Skips, wantSkips)
	}
	for _, r := range s.Skips {
		if wantSkips[r.Key] != r.Count {
			t.Errorf("skipped by %s: %d, want %d (%+v)", r.Key, r.Count, wantSkips[r.Key], s.Skips)
		}
	}
	if len(s.Reduces) != 1 || s.Reduces[0].Key != strategy.LimitMarket || s.Reduces[0].Count != 1 {
		t.Errorf("reduced by %+v, want one by %s", s.Reduces, strategy.LimitMarket)
	}

	// T1: 10 + 6 shares for 5 + 3 USDC; half sold at 0.70 (8 shares, 5.6 USDC, cost 4): 8 shares
	// for 4 USDC left, marked at the stranger's 0.60. T2: 10 shares for 4 USDC at 0.40.
	if len(s.Positions) != 2 {
		t.Fatalf("positions = %+v, want T1 and T2", s.Positions)
	}
	p1, p2 := s.Positions[0], s.Positions[1]
	if p1.Token != "111" || p2.Token != "222" {
		t.Fatalf("positions in tokens %s and %s, want 111 and 222", p1.Token, p2.Token)
	}
	for _, c := range []struct {
		what string
		got  decimal.Decimal
		want string
	}{
		{"T1 shares", p1.Shares, "8"}, {"T1 cost", p1.Cost, "4"}, {"T1 last price", p1.LastPrice, "0.6"},
		{"T1 value", p1.Value, "4.8"}, {"T1 unrealised", p1.Unrealised, "0.8"}, {"T1 realised", p1.Realised, "1.6"},
		{"T2 shares", p2.Shares, "10"}, {"T2 cost", p2.Cost, "4"}, {"T2 last price", p2.LastPrice, "0.4"},
		{"T2 value", p2.Value, "4"}, {"T2 unrealised", p2.Unrealised, "0"},
		{"cost", s.Cost, "8"}, {"value", s.Value, "8.8"}, {"realised", s.Realised, "1.6"},
		{"unrealised", s.Unrealised, "0.8"}, {"P&L", s.PnL, "2.4"},
	} {
		sameDecimal(t, c.what, c.got, c.want)
	}
	if s.FirstBlock != 1 || s.LastBlock != 6 || s.FirstTime != time.Unix(1_796_000_002, 0).UTC() || s.LastTime != time.Unix(1_796_000_010, 0).UTC() {
		t.Errorf("span blocks %d..%d at %v..%v, want 1..6 from the first fill's time to the last block time read",
			s.FirstBlock, s.LastBlock, s.FirstTime, s.LastTime)
	}

	var out bytes.Buffer
	if err := WriteTable(&out, s); err != nil {
		t.Fatalf("WriteTable: %v", err)
	}
	for _, want := range []string{"replay of hand.jsonl", "leader fills", strategy.LimitMaxPrice, strategy.LimitMinPrice,
		strategy.LimitMarket, "line 6: not a JSON log", "line 11: malformed OrderFilled log", "total P&L USDC", "2.4",
		"Leader fills without a blockTimestamp: 1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table has no %q:\n%s", want, out.String())
		}
	}
}

func TestReplayWithoutBlockTimesStillCopies(t *testing.T) {
	ex := polymarket.CTFExchangeV2
	in := jsonLine(t, fillLog(ex, leaderA, polymarket.Buy, tokenT1, 100e6, 50e6, 1, 0, 1, 0)) + "\n"
	start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s, err := Run(context.Background(), Options{Config: parseConfig(t, handConfig), Input: strings.NewReader(in),
		Now: func() time.Time { return start }, TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	// The daemon would skip a fill of unknown time under copy.max_fill_age; the replay decides
	// it at its start time instead.
	if s.Copied != 1 || s.Untimed != 1 || !s.FirstTime.Equal(start) {
		t.Fatalf("copied %d, untimed %d, first time %v; want the fill copied at %v", s.Copied, s.Untimed, s.FirstTime, start)
	}
}

func TestReplayCountsALineTooLongAndReadsOn(t *testing.T) {
	ex := polymarket.CTFExchangeV2
	ok := jsonLine(t, fillLog(ex, leaderA, polymarket.Buy, tokenT1, 100e6, 50e6, 1, 1_796_000_000, 1, 0))
	in := strings.Repeat("x", MaxLineBytes+10) + "\n" + ok // no final newline
	s, err := Run(context.Background(), Options{Config: parseConfig(t, handConfig), Input: strings.NewReader(in), TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if s.Lines != 2 || s.Malformed != 1 || s.MalformedLines[0].Line != 1 || s.Copied != 1 {
		t.Fatalf("lines %d, malformed %+v, copied %d; want line 1 too long and line 2 copied", s.Lines, s.MalformedLines, s.Copied)
	}
}

func TestReplayStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ex := polymarket.CTFExchangeV2
	in := jsonLine(t, fillLog(ex, leaderA, polymarket.Buy, tokenT1, 100e6, 50e6, 1, 1_796_000_000, 1, 0))
	if _, err := Run(ctx, Options{Config: parseConfig(t, handConfig), Input: strings.NewReader(in), TempDir: t.TempDir()}); err == nil {
		t.Fatal("Run with a cancelled context returned no error")
	}
}

// simConfig copies leaders 1 and 2 of polysim one for one (leader 3 is not configured), with
// limits too high to bind, so that the replay's positions are the two leaders' net holdings.
const simConfig = `
leaders:
  - address: 0x1000000000000000000000000000000000000001
  - address: 0x1000000000000000000000000000000000000002
copy:
  copy_ratio: 1
  min_trade_usdc: 0.01
  max_trade_usdc: 1000000000
  min_order_shares: 0.01
  min_price: 0.01
  max_price: 0.99
risk:
  max_market_exposure_usdc: 1000000000
  max_leader_exposure_usdc: 1000000000
  max_total_exposure_usdc: 1000000000
  max_daily_spend_usdc: 1000000000
  daily_loss_limit_usdc: 1000000000
  max_open_positions: 1000
`

// record has polysim's leaders trade n random fills, mined a few per block, and returns what
// polysim recorded (as --record writes it) and the fills it emitted.
func record(t *testing.T, n int) ([]byte, []polymarket.Fill) {
	t.Helper()
	var rec bytes.Buffer
	s, err := sim.New(sim.Options{Leaders: 3, Markets: 4, Seed: 42, Record: &rec})
	if err != nil {
		t.Fatalf("sim: %v", err)
	}
	defer s.Close()
	for i := range n {
		if _, _, err := s.EmitRandomFill(); err != nil {
			t.Fatalf("EmitRandomFill: %v", err)
		}
		if i%5 == 4 || i == n-1 {
			if _, err := s.Commit(); err != nil {
				t.Fatalf("Commit: %v", err)
			}
		}
	}
	emitted := s.Emitted()
	if len(emitted) != n {
		t.Fatalf("polysim emitted %d fills, want %d", len(emitted), n)
	}
	return rec.Bytes(), emitted
}

func TestReplayOfAPolysimRecording(t *testing.T) {
	data, emitted := record(t, 120)
	configured := map[common.Address]bool{sim.LeaderAddress(1): true, sim.LeaderAddress(2): true}

	// What the two configured leaders did, from polysim's own account of its fills.
	type key = string
	held := map[key]uint64{}
	var leaderFills, buys, expensiveBuys int
	last := map[key]decimal.Decimal{}
	for _, f := range emitted {
		last[f.Market()] = f.Price()
		if !configured[f.Maker] {
			continue
		}
		leaderFills++
		if f.Side == polymarket.Buy {
			buys++
			held[f.Market()] += f.Shares
			if f.Price().GreaterThan(dec("0.5")) {
				expensiveBuys++
			}
		} else {
			held[f.Market()] -= f.Shares
		}
	}
	if leaderFills == 0 || expensiveBuys == 0 || leaderFills == buys {
		t.Fatalf("the recording has %d fills of configured leaders, %d buys, %d above 0.5: too few to test", leaderFills, buys, expensiveBuys)
	}

	t.Run("everything copied one for one holds what the leaders hold", func(t *testing.T) {
		s, err := Run(context.Background(), Options{Config: parseConfig(t, simConfig), Input: bytes.NewReader(data), TempDir: t.TempDir()})
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if s.LeaderFills != leaderFills || s.Copied != leaderFills || s.Skipped != 0 || s.Malformed != 0 || s.Untimed != 0 {
			t.Fatalf("leader fills %d, copied %d, skipped %+v, malformed %d, untimed %d; want all %d fills copied, all timed",
				s.LeaderFills, s.Copied, s.Skips, s.Malformed, s.Untimed, leaderFills)
		}
		if s.OtherEvents != len(emitted) {
			t.Errorf("other events = %d, want one OrdersMatched per match (%d)", s.OtherEvents, len(emitted))
		}
		got := map[key]decimal.Decimal{}
		value := decimal.Zero
		for _, p := range s.Positions {
			got[p.Token] = p.Shares
			if !p.LastPrice.Equal(last[p.Token]) {
				t.Errorf("token %s: last price %s, want %s (polysim's last fill in it)", p.Token, p.LastPrice, last[p.Token])
			}
			if v := p.Shares.Mul(p.LastPrice); !p.Value.Equal(v) || !p.Unrealised.Equal(v.Sub(p.Cost)) {
				t.Errorf("token %s: value %s and unrealised %s, want %s and %s", p.Token, p.Value, p.Unrealised, v, v.Sub(p.Cost))
			}
			value = value.Add(p.Value)
		}
		for token, h := range held {
			if h == 0 {
				if _, open := got[token]; open {
					t.Errorf("token %s: the leaders closed it, the replay holds %s", token, got[token])
				}
				continue
			}
			if want := decimal.NewFromUint64(h).Shift(-6); !got[token].Equal(want) {
				t.Errorf("token %s: replay holds %s shares, the leaders %s", token, got[token], want)
			}
		}
		if !s.Value.Equal(value) || !s.PnL.Equal(s.Realised.Add(s.Unrealised)) || !s.Unrealised.Equal(s.Value.Sub(s.Cost)) {
			t.Errorf("totals: value %s (positions %s), cost %s, realised %s, unrealised %s, P&L %s do not add up",
				s.Value, value, s.Cost, s.Realised, s.Unrealised, s.PnL)
		}
	})

	t.Run("a price bound skips exactly the buys above it", func(t *testing.T) {
		cfg := parseConfig(t, strings.Replace(simConfig, "max_price: 0.99", "max_price: 0.5", 1))
		s, err := Run(context.Background(), Options{Config: cfg, Input: bytes.NewReader(data), TempDir: t.TempDir()})
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		var byMaxPrice int
		for _, r := range s.Skips {
			if r.Key == strategy.LimitMaxPrice {
				byMaxPrice = r.Count
			}
		}
		if byMaxPrice != expensiveBuys {
			t.Fatalf("skipped by %s: %d, want the %d buys above 0.5 (skips %+v)", strategy.LimitMaxPrice, byMaxPrice, expensiveBuys, s.Skips)
		}
		if s.LeaderFills != leaderFills || s.Copied+s.Reduced+s.Skipped != leaderFills {
			t.Fatalf("leader fills %d = copied %d + reduced %d + skipped %d, want %d", s.LeaderFills, s.Copied, s.Reduced, s.Skipped, leaderFills)
		}
	})
}
