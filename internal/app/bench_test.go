package app

import (
	"context"
	"math/big"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/dedup"
	"github.com/polybot/polybot/internal/executor"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/positions"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
)

// stamped is a paper broker that records, per fill, when its order reached the broker.
type stamped struct {
	mu   sync.Mutex
	at   map[common.Hash]time.Time
	done chan struct{}
	want int
}

func (s *stamped) PlaceOrder(ctx context.Context, o broker.Order) (positions.Execution, error) {
	now := time.Now()
	s.mu.Lock()
	s.at[o.Source.TxHash] = now
	if len(s.at) == s.want {
		close(s.done)
	}
	s.mu.Unlock()
	return broker.Paper{}.PlaceOrder(ctx, o)
}

// BenchmarkPath measures the in-process path a leader's log takes: decode, dedup, queue to the
// market's worker, the strategy's decision on a store snapshot, the decision and intent
// committed (fsynced) to the state store in t.TempDir(), paper order, the result committed
// with the position, and the "copied" log line (JSON to a discarded writer, as under journald).
// Throughput feeds logs as fast as the path takes them (fills/s, each one copied); Latency
// feeds one log at a time and reports log receipt -> order at the broker (p50/p99). The
// store's two fsyncs per copy dominate: the figure depends on the disk.
func BenchmarkPath(b *testing.B) {
	b.Run("Throughput", func(b *testing.B) { benchPath(b, false) })
	b.Run("Latency", func(b *testing.B) { benchPath(b, true) })
}

func benchPath(b *testing.B, oneAtATime bool) {
	leader := common.HexToAddress("0x1000000000000000000000000000000000000001")
	const markets = 16
	logs := make([]types.Log, b.N)
	for i := range logs {
		side := polymarket.Buy
		if (i/markets)%4 == 3 { // every fourth round of the markets sells
			side = polymarket.Sell
		}
		f := polymarket.Fill{Exchange: polymarket.CTFExchangeV2, Maker: leader, Taker: polymarket.CTFExchangeV2, Side: side,
			TokenID: big.NewInt(int64(1000 + i%markets)), Shares: 100_000_000, Collateral: 50_000_000, BlockTime: uint64(time.Now().Unix())}
		topics, data := polymarket.EncodeOrderFilledV2(&f)
		logs[i] = types.Log{Address: f.Exchange, Topics: topics, Data: data, BlockNumber: uint64(i / 10),
			TxHash: common.BigToHash(big.NewInt(int64(i + 1))), Index: uint(i % 10)}
	}
	cache, err := dedup.New(dedup.Options{})
	if err != nil {
		b.Fatal(err)
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(discard{}), zap.InfoLevel))
	br := &stamped{at: make(map[common.Hash]time.Time, b.N), done: make(chan struct{}), want: b.N}
	st, err := store.Open(store.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	pol := &strategy.Policy{Rules: strategy.Rules{MaxFillAge: time.Hour}, Leaders: map[common.Address]strategy.Leader{
		leader: {Enabled: true, Mode: strategy.Proportional, Ratio: decimal.RequireFromString("0.5"), MaxTrade: 1_000_000_000},
	}}
	ex, err := executor.New(executor.Options{Broker: br, Store: st, Strategy: pol, Log: log})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- ex.Run(ctx, time.Minute) }()

	received := make([]time.Time, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range logs {
		received[i] = time.Now()
		f, err := polymarket.DecodeOrderFilled(&logs[i])
		if err != nil {
			b.Fatal(err)
		}
		if cache.Seen(dedup.KeyOf(logs[i].TxHash, logs[i].Index)) {
			b.Fatal("fresh log reported as a duplicate")
		}
		if err := ex.Submit(ctx, f); err != nil {
			b.Fatal(err)
		}
		if oneAtATime {
			for br.count() <= i && ex.Stats().Skipped+ex.Stats().Copied <= uint64(i) {
				runtime.Gosched()
			}
		}
	}
	select {
	case <-br.done:
	case <-time.After(10 * time.Minute):
		b.Fatalf("only %d of %d fills reached the broker: %+v", br.count(), b.N, ex.Stats())
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-done

	lat := make([]time.Duration, 0, b.N)
	for i := range logs {
		lat = append(lat, br.at[logs[i].TxHash].Sub(received[i]))
	}
	slices.Sort(lat)
	if oneAtATime {
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	} else {
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "fills/s")
	}
}

func (s *stamped) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.at)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
