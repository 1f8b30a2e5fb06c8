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
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
	"github.com/polybot/polybot/internal/testing/testfs"
)

func TestMain(m *testing.M) {
	testfs.InUserNamespace() // the disk-fault tests mount a tmpfs
	goleak.VerifyTestMain(m)
}

var (
	alice = common.HexToAddress("0xa11ce00000000000000000000000000000000001")
	bob   = common.HexToAddress("0xb0b0000000000000000000000000000000000002")
)

// recorder is a broker that fills like the paper broker and remembers each order.
type recorder struct {
	mu      sync.Mutex
	orders  []broker.Order
	fail    error
	gate    chan struct{}      // when set, each order waits for a receive
	entered chan struct{}      // when set, receives once per order as it reaches the broker
	check   func(broker.Order) // when set, called with each order as it arrives
}

func (r *recorder) PlaceOrder(ctx context.Context, o broker.Order) (broker.Execution, error) {
	if r.check != nil {
		r.check(o)
	}
	if r.entered != nil {
		r.entered <- struct{}{}
	}
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return broker.Execution{}, ctx.Err()
		}
	}
	r.mu.Lock()
	r.orders = append(r.orders, o)
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		return broker.Execution{}, fail
	}
	return broker.Paper{}.PlaceOrder(ctx, o)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.orders)
}

func fill(leader common.Address, side polymarket.Side, token int64, shares, collateral uint64, logIndex uint) polymarket.Fill {
	return polymarket.Fill{Maker: leader, Side: side, TokenID: big.NewInt(token), Shares: shares, Collateral: collateral,
		TxHash: common.BigToHash(big.NewInt(int64(logIndex) + 1000)), LogIndex: logIndex, Block: uint64(logIndex) + 1,
		BlockTime: uint64(time.Now().Unix())}
}

func policy(ratio string, maxTrade uint64) *strategy.Policy {
	return &strategy.Policy{
		Rules: strategy.Rules{MaxFillAge: time.Hour},
		Leaders: map[common.Address]strategy.Leader{
			alice: {Enabled: true, Mode: strategy.Proportional, Ratio: decimal.RequireFromString(ratio), MaxTrade: maxTrade},
			bob:   {Enabled: false, Mode: strategy.Proportional, Ratio: decimal.RequireFromString(ratio)},
		},
	}
}

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func newTestExecutor(t *testing.T, b Broker, ratio string, maxTrade uint64) (*Executor, *store.Store) {
	t.Helper()
	st := openStore(t, t.TempDir())
	return newOn(t, st, b, policy(ratio, maxTrade)), st
}

func newOn(t *testing.T, st *store.Store, b Broker, p *strategy.Policy) *Executor {
	t.Helper()
	e, err := New(Options{Broker: b, Store: st, Strategy: p})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// run starts e and returns a function that stops it (draining the queue) and checks Run's error.
func run(t *testing.T, e *Executor, grace time.Duration) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx, grace) }()
	return func() error { cancel(); return <-done }
}

func submitAll(t *testing.T, e *Executor, fills ...polymarket.Fill) {
	t.Helper()
	for i, f := range fills {
		if err := e.Submit(context.Background(), f); err != nil {
			t.Fatalf("submit %d: %v", i, err)
		}
	}
}

func decisions(t *testing.T, st *store.Store) []store.Decision {
	t.Helper()
	ds, err := st.Decisions(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestTheIntentIsCommittedBeforeTheOrderIsSent(t *testing.T) {
	rec := &recorder{}
	e, st := newTestExecutor(t, rec, "0.5", 0)
	var checked, bad int
	rec.check = func(o broker.Order) {
		checked++
		in, ok, err := st.IntentFor(store.IntentIDOf(o.Source))
		if err != nil || !ok || in.Status != store.StatusPending || in.Shares != o.Shares {
			bad++
		}
	}
	stop := run(t, e, 5*time.Second)
	submitAll(t, e, fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 0))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if checked != 1 || bad != 0 {
		t.Fatalf("%d orders reached the broker, %d without a pending intent on disk", checked, bad)
	}
	in, ok, err := st.IntentFor(store.IntentID{Tx: common.BigToHash(big.NewInt(1000)), LogIndex: 0})
	if err != nil || !ok || in.Status != store.StatusFilled || in.Result.FilledShares != 5_000_000 {
		t.Fatalf("intent after the copy: %+v %v %v; want filled with 5 shares", in, ok, err)
	}
	if in.Salt == 0 {
		t.Fatal("intent recorded without the order salt")
	}
}

func TestRunCopiesAndClosesPositions(t *testing.T) {
	rec := &recorder{}
	e, st := newTestExecutor(t, rec, "1", 0)
	stop := run(t, e, 5*time.Second)
	submitAll(t, e,
		fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 0),
		fill(alice, polymarket.Buy, 7, 10_000_000, 6_000_000, 1),
		fill(alice, polymarket.Sell, 7, 20_000_000, 14_000_000, 2),
	)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.Copied != 3 {
		t.Fatalf("stats %+v, want 3 copies", st)
	}
	open, err := st.Positions()
	if err != nil || len(open) != 0 {
		t.Fatalf("open positions %+v (%v), want none", open, err)
	}
	d, err := st.Daily(time.Now())
	if err != nil || d.Copies != 3 || d.Realised != 3_000_000 || d.Spent != 11_000_000 {
		t.Fatalf("day %+v (%v), want 3 copies, 11 spent, 3 realised (bought 20 for 11, sold for 14)", d, err)
	}
	if e.locks.Len() != 0 {
		t.Fatalf("lock entry of a closed position kept: %d", e.locks.Len())
	}
	if ds := decisions(t, st); len(ds) != 3 {
		t.Fatalf("%d decisions logged, want 3", len(ds))
	}
}

func TestAFillCopiedBeforeARestartIsNotCopiedAgain(t *testing.T) {
	dir := t.TempDir()
	f := fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 0)
	rec := &recorder{}
	for range 2 { // two processes, one after the other, on the same store
		st, err := store.Open(store.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		e := newOn(t, st, rec, policy("1", 0))
		stop := run(t, e, 5*time.Second)
		submitAll(t, e, f)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if rec.count() != 1 {
		t.Fatalf("the broker saw the fill %d times, want once", rec.count())
	}
}

func TestDecisionsAreLoggedWithTheLimitThatShapedThem(t *testing.T) {
	const usdc = 1_000_000
	for _, tc := range []struct {
		name              string
		fill              polymarket.Fill
		action, limit     string
		shares, collat    uint64
		reasonContains    string
		reachesTheBroker  bool
		configureStrategy func(p *strategy.Policy)
	}{
		{name: "a buy is copied at the ratio", fill: fill(alice, polymarket.Buy, 1, 120*usdc, 60*usdc, 0),
			action: "copy", shares: 60 * usdc, collat: 30 * usdc, reachesTheBroker: true},
		{name: "a buy over max_trade_usdc is reduced to it", fill: fill(alice, polymarket.Buy, 1, 100*usdc, 40*usdc, 0),
			action: "reduce", limit: strategy.LimitMaxTrade, shares: 25 * usdc, collat: 10 * usdc, reachesTheBroker: true,
			configureStrategy: func(p *strategy.Policy) { l := p.Leaders[alice]; l.MaxTrade = 10 * usdc; p.Leaders[alice] = l }},
		{name: "a leader not enabled is skipped", fill: fill(bob, polymarket.Buy, 1, 10*usdc, 5*usdc, 0),
			action: "skip", limit: strategy.LimitEnabled},
		{name: "a sell with nothing held is skipped", fill: fill(alice, polymarket.Sell, 1, 10*usdc, 5*usdc, 0),
			action: "skip", reasonContains: "no position"},
		{name: "a fill of unknown time is skipped under max_fill_age", fill: func() polymarket.Fill {
			f := fill(alice, polymarket.Buy, 1, 10*usdc, 5*usdc, 0)
			f.BlockTime = 0
			return f
		}(), action: "skip", limit: strategy.LimitMaxFillAge, reasonContains: "fill time unknown"},
		{name: "percent_balance without a balance source is skipped as balance unknown",
			fill: fill(alice, polymarket.Buy, 1, 10*usdc, 5*usdc, 0), action: "skip", reasonContains: "balance unknown",
			configureStrategy: func(p *strategy.Policy) {
				l := p.Leaders[alice]
				l.Mode, l.Percent = strategy.PercentBalance, decimal.NewFromInt(5)
				p.Leaders[alice] = l
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			st := openStore(t, t.TempDir())
			p := policy("0.5", 0)
			if tc.configureStrategy != nil {
				tc.configureStrategy(p)
			}
			e := newOn(t, st, rec, p)
			stop := run(t, e, 5*time.Second)
			submitAll(t, e, tc.fill)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			ds := decisions(t, st)
			if len(ds) != 1 {
				t.Fatalf("%d decisions, want 1", len(ds))
			}
			d := ds[0]
			if d.Action != tc.action || d.Limit != tc.limit || d.Shares != tc.shares || d.Collateral != tc.collat ||
				!strings.Contains(d.Reason, tc.reasonContains) || d.Tx != tc.fill.TxHash {
				t.Fatalf("decision %+v; want %s, limit %q, %d shares for %d, reason with %q", d, tc.action, tc.limit, tc.shares, tc.collat, tc.reasonContains)
			}
			if got := rec.count() == 1; got != tc.reachesTheBroker {
				t.Fatalf("order reached the broker: %v, want %v", got, tc.reachesTheBroker)
			}
		})
	}
}

func TestARejectedOrderIsCompletedUnfilled(t *testing.T) {
	rec := &recorder{fail: broker.ErrRefused}
	e, st := newTestExecutor(t, rec, "1", 0)
	stop := run(t, e, 5*time.Second)
	f := fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 0)
	submitAll(t, e, f)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	in, ok, err := st.IntentFor(store.IntentIDOf(&f))
	if err != nil || !ok || in.Status != store.StatusUnfilled {
		t.Fatalf("intent %+v %v %v, want unfilled", in, ok, err)
	}
	if st := e.Stats(); st.Failed != 1 || st.Unresolved != 0 {
		t.Fatalf("stats %+v, want 1 failed, none unresolved", st)
	}
}

func TestAnUnknownOutcomeStaysPendingUntilRecovered(t *testing.T) {
	rec := &recorder{fail: errors.New("connection reset while waiting for the answer")}
	e, st := newTestExecutor(t, rec, "1", 0)
	stop := run(t, e, 5*time.Second)
	f := fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 0)
	submitAll(t, e, f)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	pending, err := st.PendingIntents()
	if err != nil || len(pending) != 1 || e.Stats().Unresolved != 1 {
		t.Fatalf("pending %+v (%v), stats %+v; want the intent pending", pending, err, e.Stats())
	}

	// Without a resolver (a live broker that cannot look orders up) it is left for review.
	r, err := e.Recover(context.Background(), nil)
	if err != nil || r.Review != 1 || r.Resolved != 0 {
		t.Fatalf("recover without a resolver: %+v %v", r, err)
	}
	// The paper broker places it again: same intent, same fill, applied once.
	r, err = e.Recover(context.Background(), Replace{Broker: broker.Paper{}})
	if err != nil || r.Resolved != 1 || r.Review != 0 {
		t.Fatalf("recover: %+v %v", r, err)
	}
	p, ok, err := st.Position(f.Market())
	if err != nil || !ok || p.Shares != 10_000_000 || p.Cost != 5_000_000 {
		t.Fatalf("position after recovery %+v %v %v, want 10 shares for 5", p, ok, err)
	}
	if pending, _ := st.PendingIntents(); len(pending) != 0 {
		t.Fatalf("still pending: %+v", pending)
	}
}

func TestCircuitBreakerTripIsPersisted(t *testing.T) {
	const usdc = 1_000_000
	rec := &recorder{}
	st := openStore(t, t.TempDir())
	p := policy("1", 0)
	p.Rules.DailyLossLimit = 50 * usdc
	e := newOn(t, st, rec, p)
	stop := run(t, e, 5*time.Second)
	submitAll(t, e,
		fill(alice, polymarket.Buy, 7, 100*usdc, 90*usdc, 0), // 100 at 0.90
		fill(alice, polymarket.Sell, 7, 50*usdc, 5*usdc, 1),  // 50 at 0.10: -40 realised, the rest marked at 0.10: -40
		fill(alice, polymarket.Buy, 7, 10*usdc, 5*usdc, 2),   // trips the breaker (one market: decided in order)
		fill(alice, polymarket.Buy, 7, 10*usdc, 5*usdc, 3),   // skipped: tripped today
	)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	b, err := st.Breaker(time.Now())
	if err != nil || !b.Tripped || b.PnL != -80*usdc {
		t.Fatalf("breaker %+v (%v), want tripped at -80", b, err)
	}
	ds := decisions(t, st)
	if len(ds) != 4 || ds[2].Limit != strategy.LimitDailyLoss || ds[3].Limit != strategy.LimitDailyLoss || ds[3].Action != "skip" {
		t.Fatalf("decisions %+v; want the last two skipped under %s", ds, strategy.LimitDailyLoss)
	}
	if rec.count() != 2 {
		t.Fatalf("%d orders sent, want 2", rec.count())
	}
}

func TestSettledHoldsTheCheckpointBeforeAnUndecidedFill(t *testing.T) {
	rec := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	e, _ := newTestExecutor(t, rec, "1", 0)
	stop := run(t, e, 5*time.Second)
	f := fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 4) // block 5
	submitAll(t, e, f)
	if got := e.Settled(10); got != 4 {
		t.Fatalf("Settled(10) = %d with a fill of block 5 queued, want 4", got)
	}
	<-rec.entered
	if got := e.Settled(10); got != 4 {
		t.Fatalf("Settled(10) = %d with a fill of block 5 at the broker, want 4", got)
	}
	rec.gate <- struct{}{}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := e.Settled(10); got != 10 {
		t.Fatalf("Settled(10) = %d with every fill decided, want 10", got)
	}
}

func TestRunBoundsShutdown(t *testing.T) {
	rec := &recorder{gate: make(chan struct{})} // the broker never answers
	e, _ := newTestExecutor(t, rec, "1", 0)
	stop := run(t, e, 50*time.Millisecond)
	submitAll(t, e, fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 0))
	if err := stop(); err == nil {
		t.Fatal("a copy stuck past the grace period was not reported")
	}
}

func TestCancelDropsAQueuedCopyOnly(t *testing.T) {
	rec := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 2)}
	e, st := newTestExecutor(t, rec, "1", 0)
	stop := run(t, e, 5*time.Second)

	first := fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 0)
	second := fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 1)
	submitAll(t, e, first, second)
	<-rec.entered // the worker holds first at the broker; second waits behind it
	if e.Cancel(first) {
		t.Fatal("cancelled a copy already at the broker")
	}
	if !e.Cancel(second) {
		t.Fatal("a queued copy could not be cancelled")
	}
	rec.gate <- struct{}{}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.Copied != 1 || st.Skipped != 1 {
		t.Fatalf("stats %+v; want the placed copy kept and the cancelled one skipped", st)
	}
	if e.Cancel(second) {
		t.Fatal("cancel reported success for a fill no longer queued")
	}
	ds := decisions(t, st)
	if len(ds) != 2 || !strings.Contains(ds[1].Reason, "reorg") {
		t.Fatalf("decisions %+v; want the cancelled fill logged as reverted by a reorg", ds)
	}
}

func TestRejected(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{broker.ErrRefused, true},
		{broker.ErrPriceBound, true},
		{errors.New("i/o timeout"), false},
		{context.DeadlineExceeded, false},
	} {
		if got := Rejected(broker.Classify(tc.err)); got != tc.want {
			t.Errorf("Rejected(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// Every line of a copy names the leader as the config does: an operator reading the journal
// sees "alice" beside the address.
func TestCopyLinesCarryTheLeadersName(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	st := openStore(t, t.TempDir())
	p := policy("0.5", 0)
	a := p.Leaders[alice]
	a.Name = "alice"
	p.Leaders[alice] = a
	e, err := New(Options{Broker: &recorder{}, Store: st, Strategy: p, Log: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, e, time.Second)
	submitAll(t, e, fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 1), fill(bob, polymarket.Buy, 7, 10_000_000, 5_000_000, 2))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	copied, skipped := logs.FilterMessage("copied").All(), logs.FilterMessage("copy skipped").All()
	if len(copied) != 1 || len(skipped) != 1 {
		t.Fatalf("copied %d, skipped %d lines; want 1 and 1", len(copied), len(skipped))
	}
	if got := copied[0].ContextMap()["leader_name"]; got != "alice" {
		t.Errorf("the copied line's leader_name = %v, want alice", got)
	}
	if _, ok := skipped[0].ContextMap()["leader_name"]; ok {
		t.Errorf("a leader the config does not name got a leader_name: %v", skipped[0].ContextMap())
	}
}

// A copy in a market whose question and outcome are known carries them on its lines; a copy
// in a market not known carries neither (nothing made up).
func TestCopyLinesCarryTheMarketsQuestionWhenKnown(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	st := openStore(t, t.TempDir())
	known := "7" // fill's token 7: its market key is the decimal token id
	label := func(token string) (string, string, bool) {
		if token == known {
			return "Will it rain in Paris on 1 May?", "Yes", true
		}
		return "", "", false
	}
	e, err := New(Options{Broker: &recorder{}, Store: st, Strategy: policy("0.5", 0), Log: zap.New(core), MarketLabel: label})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, e, time.Second)
	submitAll(t, e, fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 1), fill(alice, polymarket.Buy, 8, 10_000_000, 5_000_000, 2))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	copied := logs.FilterMessage("copied").All()
	if len(copied) != 2 {
		t.Fatalf("%d copied lines, want 2", len(copied))
	}
	for _, l := range copied {
		m := l.ContextMap()
		q, hasQ := m["question"]
		o, hasO := m["outcome"]
		if m["market"] == known {
			if q != "Will it rain in Paris on 1 May?" || o != "Yes" {
				t.Errorf("known market's line: question %v, outcome %v", q, o)
			}
		} else if hasQ || hasO {
			t.Errorf("an unknown market's line got a question or outcome: %v", m)
		}
	}
}
