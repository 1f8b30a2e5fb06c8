package executor

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"
	"go.uber.org/goleak"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/positions"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	alice = common.HexToAddress("0xa11ce00000000000000000000000000000000001")
	bob   = common.HexToAddress("0xb0b0000000000000000000000000000000000002")
)

// recorder is a broker that fills like the paper broker and remembers each order.
type recorder struct {
	mu      sync.Mutex
	orders  []broker.Order
	fail    error
	gate    chan struct{} // when set, each order waits for a receive
	entered chan struct{} // when set, receives once per order as it reaches the broker
}

func (r *recorder) PlaceOrder(ctx context.Context, o broker.Order) (positions.Execution, error) {
	if r.entered != nil {
		r.entered <- struct{}{}
	}
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return positions.Execution{}, ctx.Err()
		}
	}
	r.mu.Lock()
	r.orders = append(r.orders, o)
	r.mu.Unlock()
	if r.fail != nil {
		return positions.Execution{}, r.fail
	}
	return broker.Paper{}.PlaceOrder(ctx, o)
}

func fill(leader common.Address, side polymarket.Side, token int64, shares, collateral uint64, logIndex uint) polymarket.Fill {
	return polymarket.Fill{Maker: leader, Side: side, TokenID: big.NewInt(token), Shares: shares, Collateral: collateral,
		TxHash: common.BigToHash(big.NewInt(int64(logIndex) + 1000)), LogIndex: logIndex}
}

func newTestExecutor(t *testing.T, b Broker, ratio string, maxTrade uint64) *Executor {
	t.Helper()
	e, err := New(Options{
		Broker: b,
		Book:   positions.NewBook(nil),
		Policy: &Policy{Ratios: map[common.Address]decimal.Decimal{alice: decimal.RequireFromString(ratio)}, MaxTrade: maxTrade},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestSizing(t *testing.T) {
	const usdc = 1_000_000
	for _, tc := range []struct {
		name          string
		ratio         string
		maxTrade      uint64
		held          uint64 // shares held before the fill
		fill          polymarket.Fill
		wantShares    uint64
		wantCollat    uint64
		wantSkipMatch string
	}{
		{name: "a buy is copied at copy_ratio times the leader's shares", ratio: "0.5", maxTrade: 100 * usdc,
			fill: fill(alice, polymarket.Buy, 1, 120*usdc, 60*usdc, 0), wantShares: 60 * usdc, wantCollat: 30 * usdc},
		{name: "shares are truncated to 0.01", ratio: "0.333", maxTrade: 100 * usdc,
			fill: fill(alice, polymarket.Buy, 1, 10*usdc, 5*usdc, 0), wantShares: 3_330_000, wantCollat: 1_665_000},
		{name: "a buy over max_trade_usdc is cut to the cap", ratio: "1", maxTrade: 25 * usdc,
			fill: fill(alice, polymarket.Buy, 1, 100*usdc, 40*usdc, 0), wantShares: 62_500_000, wantCollat: 25 * usdc},
		{name: "a buy exactly at the cap is not cut", ratio: "1", maxTrade: 40 * usdc,
			fill: fill(alice, polymarket.Buy, 1, 100*usdc, 40*usdc, 0), wantShares: 100 * usdc, wantCollat: 40 * usdc},
		{name: "dust below 0.01 share is skipped", ratio: "0.001", maxTrade: 100 * usdc,
			fill: fill(alice, polymarket.Buy, 1, 5*usdc, 2*usdc, 0), wantSkipMatch: "below minimum size"},
		{name: "a leader not in the policy is not copied", ratio: "1", maxTrade: 100 * usdc,
			fill: fill(bob, polymarket.Buy, 1, 5*usdc, 2*usdc, 0), wantSkipMatch: "leader not copied"},
		{name: "a sell with nothing held is skipped", ratio: "1", maxTrade: 100 * usdc,
			fill: fill(alice, polymarket.Sell, 1, 5*usdc, 2*usdc, 0), wantSkipMatch: "no position"},
		{name: "a sell is copied at the ratio", ratio: "0.5", maxTrade: 100 * usdc, held: 50 * usdc,
			fill: fill(alice, polymarket.Sell, 1, 20*usdc, 10*usdc, 0), wantShares: 10 * usdc, wantCollat: 5 * usdc},
		{name: "a sell never sells more than is held", ratio: "1", maxTrade: 100 * usdc, held: 7 * usdc,
			fill: fill(alice, polymarket.Sell, 1, 20*usdc, 10*usdc, 0), wantShares: 7 * usdc, wantCollat: 3_500_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestExecutor(t, &recorder{}, tc.ratio, tc.maxTrade)
			if tc.held > 0 {
				e.book.Apply(positions.Execution{Market: tc.fill.Market(), Side: polymarket.Buy, Shares: tc.held, Collateral: tc.held / 2})
			}
			o, reason := e.size(&tc.fill, tc.fill.Market())
			if tc.wantSkipMatch != "" {
				if reason == "" || !strings.Contains(reason, tc.wantSkipMatch) {
					t.Fatalf("reason %q, want %q", reason, tc.wantSkipMatch)
				}
				return
			}
			if reason != "" {
				t.Fatalf("skipped: %s", reason)
			}
			if o.Shares != tc.wantShares || o.Collateral != tc.wantCollat {
				t.Fatalf("order %d shares / %d collateral, want %d / %d", o.Shares, o.Collateral, tc.wantShares, tc.wantCollat)
			}
		})
	}
}

func TestRunCopiesAndClosesPositions(t *testing.T) {
	rec := &recorder{}
	e := newTestExecutor(t, rec, "1", 1_000_000_000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx, 5*time.Second) }()

	for i, f := range []polymarket.Fill{
		fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 0),
		fill(alice, polymarket.Buy, 7, 10_000_000, 6_000_000, 1),
		fill(alice, polymarket.Sell, 7, 20_000_000, 14_000_000, 2),
	} {
		if err := e.Submit(ctx, f); err != nil {
			t.Fatalf("submit %d: %v", i, err)
		}
	}
	cancel() // shutdown drains what was queued
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := e.book.Stats()
	if st.Copies != 3 || st.OpenPositions != 0 {
		t.Fatalf("copies %d, open %d; want 3 and 0", st.Copies, st.OpenPositions)
	}
	if st.Realised != 3_000_000 {
		t.Fatalf("realised %d, want 3000000 (bought 20 for 11, sold for 14)", st.Realised)
	}
	if e.locks.Len() != 0 {
		t.Fatalf("lock entry of a closed position kept: %d", e.locks.Len())
	}
}

func TestRunBoundsShutdown(t *testing.T) {
	rec := &recorder{gate: make(chan struct{})} // the broker never answers
	e := newTestExecutor(t, rec, "1", 1_000_000_000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx, 50*time.Millisecond) }()
	if err := e.Submit(ctx, fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 0)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a copy stuck past the grace period was not reported")
	}
}

func TestFailedCopiesAreCounted(t *testing.T) {
	rec := &recorder{fail: errors.New("insufficient balance")}
	e := newTestExecutor(t, rec, "1", 1_000_000_000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx, time.Second) }()
	_ = e.Submit(ctx, fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 0))
	cancel()
	<-done
	if st := e.Stats(); st.Failed != 1 || st.Copied != 0 || e.book.Stats().Copies != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCancelDropsAQueuedCopyOnly(t *testing.T) {
	rec := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 2)}
	e := newTestExecutor(t, rec, "1", 1_000_000_000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx, 5*time.Second) }()

	first := fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 0)
	second := fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 1)
	if err := e.Submit(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := e.Submit(ctx, second); err != nil {
		t.Fatal(err)
	}
	<-rec.entered // the worker holds first at the broker; second waits behind it
	if e.Cancel(first) {
		t.Fatal("cancelled a copy already at the broker")
	}
	if !e.Cancel(second) {
		t.Fatal("a queued copy could not be cancelled")
	}
	rec.gate <- struct{}{}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.Copied != 1 || st.Skipped != 1 {
		t.Fatalf("stats %+v; want the placed copy kept and the cancelled one skipped", st)
	}
	if e.Cancel(second) {
		t.Fatal("cancel reported success for a fill no longer queued")
	}
}
