package app

import (
	"context"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/time/rate"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/dedup"
	"github.com/polybot/polybot/internal/executor"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/secrets"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
	"github.com/polybot/polybot/internal/testing/chainlog"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// The benchmarks of the in-process path a leader's log takes (issue 7). Run them with
//
//	go test -run '^$' -bench 'Path|DecodeDedupDecide' -benchtime 2000x ./internal/app/
//
// BenchmarkPath: decode, dedup, queue to the market's worker, the strategy's decision on a
// store snapshot, the decision and intent committed (fsynced) to the state store in
// b.TempDir(), the order, the result committed with the position, and the log line (JSON to a
// discarded writer, as under journald). Paper/Throughput feeds logs as fast as the path takes
// them and reports fills/s; the Latency variants feed one log at a time and report log
// receipt -> order at the paper broker (Paper) or log receipt -> the order's POST received
// by the fake CLOB on 127.0.0.1 (CLOB: the real live broker, signed V2 orders, internal/testing/clobsim),
// p50 and p99. The store's fsynced commits dominate: the figures depend on the disk. A copy
// waits for two commits (intent before the order, result after it); concurrent workers share
// commits (the store's group commit), so fills/s grows with the executor's workers.
func BenchmarkPath(b *testing.B) {
	b.Run("Paper/Throughput", func(b *testing.B) { benchPath(b, false, false, 0) })
	b.Run("Paper/Latency", func(b *testing.B) { benchPath(b, false, true, 0) })
	b.Run("CLOB/Throughput", func(b *testing.B) { benchPath(b, true, false, 0) })
	b.Run("CLOB/Latency", func(b *testing.B) { benchPath(b, true, true, 0) })
	// More executor workers than the default 4 (not configurable today): more commits to share.
	b.Run("Paper/ThroughputWorkers16", func(b *testing.B) { benchPath(b, false, false, 16) })
}

var benchLeader = common.HexToAddress("0x1000000000000000000000000000000000000001")

const benchMarkets = 16

// benchLogs are n OrderFilled V2 logs of benchLeader over benchMarkets markets, at 0.50;
// with sells, every fourth round of the markets sells what the rounds before bought.
func benchLogs(n int, sells bool) []types.Log {
	logs := make([]types.Log, n)
	for i := range logs {
		side := polymarket.Buy
		if sells && (i/benchMarkets)%4 == 3 {
			side = polymarket.Sell
		}
		f := polymarket.Fill{Exchange: polymarket.CTFExchangeV2, Maker: benchLeader, Taker: polymarket.CTFExchangeV2, Side: side,
			TokenID: big.NewInt(int64(1000 + i%benchMarkets)), Shares: 100_000_000, Collateral: 50_000_000, BlockTime: uint64(time.Now().Unix())}
		topics, data := chainlog.Trade{OrderHash: f.OrderHash, Maker: f.Maker, Taker: f.Taker, Sell: f.Side == polymarket.Sell, TokenID: f.TokenID, Shares: f.Shares, Collateral: f.Collateral, Fee: f.Fee}.V2()
		logs[i] = types.Log{Address: f.Exchange, Topics: topics, Data: data, BlockNumber: uint64(i / 10),
			TxHash: common.BigToHash(big.NewInt(int64(i + 1))), Index: uint(i % 10), BlockTimestamp: f.BlockTime}
	}
	return logs
}

func benchPolicy() *strategy.Policy {
	return &strategy.Policy{Rules: strategy.Rules{MaxFillAge: time.Hour}, Leaders: map[common.Address]strategy.Leader{
		benchLeader: {Enabled: true, Mode: strategy.Proportional, Ratio: decimal.RequireFromString("0.5"), MaxTrade: 1_000_000_000},
	}}
}

// outcomes counts the executor's outcomes and hands each over on a channel.
type outcomes struct {
	ch                      chan string
	copied, skipped, failed atomic.Int64
}

func (o *outcomes) ObserveCopy(outcome string, _ time.Duration) {
	switch outcome {
	case "copied":
		o.copied.Add(1)
	case "skipped":
		o.skipped.Add(1)
	default:
		o.failed.Add(1)
	}
	o.ch <- outcome
}

// stamped is a paper broker that records, per fill, when its order reached the broker.
type stamped struct {
	next executor.Broker
	mu   sync.Mutex
	at   map[common.Hash]time.Time
}

func (s *stamped) PlaceOrder(ctx context.Context, o broker.Order) (broker.Execution, error) {
	now := time.Now()
	s.mu.Lock()
	s.at[o.Source.TxHash] = now
	s.mu.Unlock()
	return s.next.PlaceOrder(ctx, o)
}

// benchCLOB starts a fake CLOB on 127.0.0.1 with deep books in the bench markets and a live
// broker on it; posted holds, per order POST received, the time its handler started.
func benchCLOB(b *testing.B) (br *broker.CLOB, posted func() []time.Time) {
	b.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	addr := crypto.PubkeyToAddress(key.PublicKey)
	markets := make([]clobsim.Market, benchMarkets)
	for i := range markets {
		markets[i] = clobsim.Market{TokenID: big.NewInt(int64(1000 + i)).String(), TickSize: decimal.RequireFromString("0.01"),
			MinSize: decimal.RequireFromString("1"),
			Asks:    []order.Level{{Price: decimal.RequireFromString("0.50"), Size: decimal.RequireFromString("1000000000")}},
			Bids:    []order.Level{{Price: decimal.RequireFromString("0.49"), Size: decimal.RequireFromString("1000000000")}}}
	}
	srv, err := clobsim.New(clobsim.Options{Markets: markets,
		Balances: map[common.Address]clobsim.Balance{addr: {Collateral: 1 << 60}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	var mu sync.Mutex
	var at []time.Time
	srv.Override(clobsim.RoutePostOrder, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		now := time.Now()
		mu.Lock()
		at = append(at, now)
		mu.Unlock()
		next.ServeHTTP(w, r)
	})
	br, err = broker.NewCLOB(context.Background(), broker.CLOBOptions{BaseURL: srv.URL(), ChainID: 137,
		CTFExchange: clobsim.DefaultCTFExchange, NegRiskExchange: clobsim.DefaultNegRiskExchange, Key: key,
		LoadCredentials: secrets.CredentialSource(filepath.Join(b.TempDir(), "api.json")), Slippage: decimal.RequireFromString("0.02"),
		OrderType: order.FAK, Timeout: 10 * time.Second, RateLimit: rate.Inf})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(br.Close)
	return br, func() []time.Time { mu.Lock(); defer mu.Unlock(); return slices.Clone(at) }
}

func benchPath(b *testing.B, live, oneAtATime bool, workers int) {
	logs := benchLogs(b.N, !live)
	cache, err := dedup.New(dedup.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var sink zapcore.WriteSyncer = zapcore.AddSync(discard{})
	if os.Getenv("POLYBOT_BENCH_LOG") != "" { // see why fills were skipped or failed
		sink = zapcore.Lock(os.Stderr)
	}
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), sink, zap.InfoLevel))
	st, err := store.Open(store.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	obs := &outcomes{ch: make(chan string, b.N)}
	opts := executor.Options{Store: st, Strategy: benchPolicy(), Log: log, Observer: obs, Workers: workers}
	var br *stamped
	var posted func() []time.Time
	if live {
		c, p := benchCLOB(b)
		opts.Broker, opts.Preparer, posted = c, c, p
	} else {
		br = &stamped{next: broker.Paper{}, at: make(map[common.Hash]time.Time, b.N)}
		opts.Broker = br
	}
	ex, err := executor.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- ex.Run(ctx, time.Minute) }()
	defer func() { cancel(); <-done }()

	received := make([]time.Time, b.N)
	var lat []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range logs {
		received[i] = time.Now()
		f, err := polymarket.DecodeOrderFilled(&logs[i])
		if err != nil {
			b.Fatal(err)
		}
		if cache.Seen(dedup.FillKey(f.TxHash, f.OrderHash, 0)) { // the monitor's key (one fill of its order in the tx)
			b.Fatal("fresh log reported as a duplicate")
		}
		if err := ex.Submit(ctx, f); err != nil {
			b.Fatal(err)
		}
		if oneAtATime {
			waitOutcome(b, obs, ex)
			if live {
				p := posted()
				if len(p) != i+1 {
					b.Fatalf("fill %d: %d order POSTs received, want %d (%+v)", i, len(p), i+1, ex.Stats())
				}
				lat = append(lat, p[i].Sub(received[i]))
			}
		}
	}
	if !oneAtATime {
		for range logs {
			waitOutcome(b, obs, ex)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if n := obs.failed.Load(); n > 0 {
		b.Fatalf("%d of %d fills failed: %+v (POLYBOT_BENCH_LOG=1 shows why)", n, b.N, ex.Stats())
	}
	copied := obs.copied.Load()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "fills/s")
	b.ReportMetric(100*float64(copied)/float64(b.N), "copied-%")
	if !oneAtATime {
		return
	}
	if !live {
		for i := range logs {
			if at, ok := br.at[logs[i].TxHash]; ok {
				lat = append(lat, at.Sub(received[i]))
			}
		}
	}
	if len(lat) == 0 {
		b.Fatalf("no order was placed: %+v", ex.Stats())
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Nanoseconds())/1e3, "p99-µs")
}

// waitOutcome waits for the executor's next outcome, failing after a generous deadline.
func waitOutcome(b *testing.B, obs *outcomes, ex *executor.Executor) {
	select {
	case <-obs.ch:
	case <-time.After(2 * time.Minute):
		b.Fatalf("no outcome for 2 minutes: %+v", ex.Stats())
	}
}

// BenchmarkDecodeDedupDecide is the CPU path without the store and the broker: decode the
// log, check and insert it in the dedup cache, and strategy.Decide on an in-memory state
// (what the store's snapshot would give), on one goroutine. The goal of issue 7 is at least
// 100,000 fills/s; run with -cpu 1 for the per-core figure.
func BenchmarkDecodeDedupDecide(b *testing.B) {
	const n = 1 << 16
	logs := benchLogs(n, true)
	for i := range logs { // distinct keys for every op, not only the first n
		logs[i].Index = 0
	}
	cache, err := dedup.New(dedup.Options{})
	if err != nil {
		b.Fatal(err)
	}
	pol := benchPolicy()
	leader := pol.Leader(benchLeader)
	leaders := strategy.NewLeaderBook()
	now := time.Now()
	state := strategy.State{Held: 10_000_000_000, MarketShares: 10_000_000_000, MarketExposure: 5_000_000_000}
	var copies int
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l := &logs[i%n]
		l.TxHash[0], l.TxHash[1], l.TxHash[2] = byte(i>>16), byte(i>>24), byte(i>>32)
		i++
		f, err := polymarket.DecodeOrderFilled(l)
		if err != nil {
			b.Fatal(err)
		}
		if cache.Seen(dedup.FillKey(f.TxHash, f.OrderHash, 0)) { // the monitor's key (one fill of its order in the tx)
			b.Fatal("fresh log reported as a duplicate")
		}
		before, known := leaders.Apply(f)
		s := state
		s.LeaderHeld, s.LeaderKnown = before, known
		d := strategy.Decide(strategy.Input{Fill: f, FillTime: time.Unix(int64(f.BlockTime), 0), Now: now, Leader: leader, Rules: pol.Rules, State: s})
		if d.Action.Places() {
			copies++
		}
	}
	if copies == 0 {
		b.Fatal("no fill was copied")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fills/s")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
