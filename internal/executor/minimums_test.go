package executor

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// termsRig copies leader fills of clobToken through a live broker on clobsim (ask 100 at 0.50,
// signed at 0.52), one at a time, with the policy p.
type termsRig struct {
	srv   *clobsim.Server
	e     *Executor
	st    *store.Store
	skips *skipCounter
}

// skipCounter counts skips by the key that decided them, as the metrics do.
type skipCounter struct {
	mu sync.Mutex
	by map[string]int
}

func (s *skipCounter) ObserveCopy(string, time.Duration) {}
func (s *skipCounter) ObserveSkip(limit string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.by == nil {
		s.by = map[string]int{}
	}
	s.by[limit]++
}

func newTermsRig(t *testing.T, p *strategy.Policy, edit func(*clobsim.Options, *broker.CLOBOptions)) *termsRig {
	t.Helper()
	srv, live, _ := startLiveCLOB(t, "100", edit)
	st := openStore(t, t.TempDir())
	skips := &skipCounter{}
	e, err := New(Options{Broker: live, Preparer: live, Store: st, Strategy: p, Log: zaptest.NewLogger(t), Observer: skips})
	if err != nil {
		t.Fatal(err)
	}
	e.queues = e.queues[:1]
	return &termsRig{srv: srv, e: e, st: st, skips: skips}
}

// copy copies one leader BUY of shares for collateral and returns its decision as `polybot
// decisions` lists it.
func (r *termsRig) copy(t *testing.T, shares, collateral uint64) store.Decision {
	t.Helper()
	fillN++
	f := fill(alice, polymarket.Buy, 1001, shares, collateral, fillN)
	if err := r.e.Submit(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	r.e.copy(context.Background(), <-r.e.queues[0])
	ds := decisions(t, r.st)
	return ds[len(ds)-1]
}

func signedAt52(raise bool, maxTrade uint64) *strategy.Policy {
	p := policy("1", maxTrade)
	p.Rules.Slippage = 20_000 // the broker signs at the leader's 0.50 + 0.02
	p.Rules.RaiseToMinimum = raise
	return p
}

// A copy just below the CLOB's $1 minimum for a marketable BUY (1.9 shares signed at 0.52:
// $0.988) is skipped naming copy.raise_to_minimum when it is off, with nothing sent; raised to
// 1.93 shares ($1.00) when it is on; and skipped naming the cap a raise would break.
func TestACopyBelowTheOneDollarMinimumIsRaisedOrSkippedWithItsKey(t *testing.T) {
	minSize1 := func(o *clobsim.Options, _ *broker.CLOBOptions) { o.Markets[0].MinSize = decimal.NewFromInt(1) }

	off := newTermsRig(t, signedAt52(false, 0), minSize1)
	d := off.copy(t, 1_900_000, 950_000)
	if d.Action != "skip" || d.Limit != strategy.LimitRaise || !strings.Contains(d.Reason, "1 USDC for a marketable BUY") {
		t.Fatalf("decision %+v; want a skip naming copy.raise_to_minimum and the $1 minimum", d)
	}
	if n := off.srv.Requests(clobsim.RoutePostOrder); n != 0 {
		t.Fatalf("%d orders sent for a copy below the minimum", n)
	}
	if n := off.skips.by[strategy.LimitRaise]; n != 1 {
		t.Fatalf("%d skips counted under copy.raise_to_minimum for the metrics, want 1", n)
	}

	on := newTermsRig(t, signedAt52(true, 0), minSize1)
	d = on.copy(t, 1_900_000, 950_000)
	if d.Action != "copy" || d.Limit != strategy.LimitRaise || d.Shares != 1_930_000 {
		t.Fatalf("decision %+v; want 1.93 shares, raised by copy.raise_to_minimum", d)
	}
	if n := on.srv.Requests(clobsim.RoutePostOrder); n != 1 {
		t.Fatalf("%d orders sent, want the raised one", n)
	}
	if p, ok, _ := on.st.Position(clobToken); !ok || p.Shares == 0 {
		t.Fatalf("position %+v: the raised copy did not fill", p)
	}

	capped := newTermsRig(t, signedAt52(true, 1_000_000), minSize1)
	d = capped.copy(t, 1_900_000, 950_000)
	if d.Action != "skip" || d.Limit != strategy.LimitMaxTrade || !strings.Contains(d.Reason, "raised to the CLOB's minimum") {
		t.Fatalf("decision %+v; want a skip naming copy.max_trade_usdc, which the raise would break", d)
	}
}

// A resting (GTC) copy below the market's min_order_size (4 shares on a market of 5) is skipped
// naming copy.raise_to_minimum, or raised to 5 shares.
func TestARestingCopyBelowTheMinOrderSizeIsRaisedOrSkippedWithItsKey(t *testing.T) {
	gtc := func(_ *clobsim.Options, b *broker.CLOBOptions) { b.OrderType = order.GTC }
	off := newTermsRig(t, signedAt52(false, 0), gtc)
	d := off.copy(t, 4_000_000, 2_000_000)
	if d.Action != "skip" || d.Limit != strategy.LimitRaise || !strings.Contains(d.Reason, "min_order_size 5 shares") {
		t.Fatalf("decision %+v; want a skip naming copy.raise_to_minimum and min_order_size", d)
	}
	on := newTermsRig(t, signedAt52(true, 0), gtc)
	if d = on.copy(t, 4_000_000, 2_000_000); d.Action != "copy" || d.Shares != 5_000_000 || d.Limit != strategy.LimitRaise {
		t.Fatalf("decision %+v; want 5 shares, raised by copy.raise_to_minimum", d)
	}
	if n := on.srv.Requests(clobsim.RoutePostOrder); n != 1 {
		t.Fatalf("%d orders sent, want the raised one", n)
	}
}

// The taker fee counts in the per-trade cap: 10 shares signed at 0.52 cost 5.20, which fits a
// 5.20 cap alone but not with the market's 7% fee, so the copy is cut until cost and worst fee
// fit; what the CLOB then takes, fee included, stays within the cap.
func TestTheFeeCountsInThePerTradeCap(t *testing.T) {
	r := newTermsRig(t, signedAt52(false, 5_200_000), func(o *clobsim.Options, _ *broker.CLOBOptions) {
		o.Markets[0].FeeRateBps = 700
	})
	d := r.copy(t, 10_000_000, 5_000_000)
	if d.Action != "reduce" || d.Limit != strategy.LimitMaxTrade || d.Shares >= 10_000_000 || !strings.Contains(d.Reason, "with the fee") {
		t.Fatalf("decision %+v; want the copy cut by copy.max_trade_usdc for its fee", d)
	}
	ds, _ := r.st.PendingIntents()
	if len(ds) != 0 {
		t.Fatalf("%d intents pending", len(ds))
	}
	p, ok, err := r.st.Position(clobToken)
	if err != nil || !ok || p.Cost > 5_200_000 {
		t.Fatalf("position %+v %v: cost with the fee above the 5.20 cap", p, err)
	}
}

// staticTerms is a market charging a 10% fee, with no minimum.
type staticTerms struct{}

func (staticTerms) Terms(context.Context, *polymarket.Fill) (broker.Terms, error) {
	return broker.Terms{FeeRateBps: 1000, FeeExponent: 1}, nil
}

// A BUY under way reserves its worst cost and its worst fee: a second copy decided meanwhile
// sees both against the daily spend, so the two together, fees included, stay within it.
func TestTheReservationOfACopyUnderWayIncludesItsFee(t *testing.T) {
	rec := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 2)}
	st := openStore(t, t.TempDir())
	p := policy("1", 0)
	p.Rules.MaxDailySpend = 1000_000_000
	e, err := New(Options{Broker: rec, Terms: staticTerms{}, Store: st, Strategy: p, Workers: 64})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, e, 5*time.Second)
	first := fill(alice, polymarket.Buy, 1, 1000_000_000, 500_000_000, 1) // 500 USDC, at most 50 of fee
	second := fill(alice, polymarket.Buy, 2, 1000_000_000, 500_000_000, 2)
	for i := int64(2); e.queueOf(second) == e.queueOf(first); i++ {
		second = fill(alice, polymarket.Buy, i, 1000_000_000, 500_000_000, 2)
	}
	submitAll(t, e, first)
	<-rec.entered
	e.res.mu.Lock()
	held := e.res.total
	e.res.mu.Unlock()
	if held != 550_000_000 {
		t.Errorf("the copy under way holds %d, want 550 USDC: 500 and its worst fee", held)
	}
	submitAll(t, e, second)
	<-rec.entered
	close(rec.gate)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	total := uint64(0)
	for _, o := range rec.orders {
		total += o.Collateral + order.MaxFee(o.Collateral, 1000)
	}
	if len(rec.orders) != 2 || total > 1000_000_000 {
		t.Fatalf("%d orders costing %d with their worst fees; want 2 within the 1,000 USDC daily limit", len(rec.orders), total)
	}
	if ds := decisions(t, st); ds[1].Action != "reduce" || ds[1].Limit != strategy.LimitDailySpend {
		t.Fatalf("decisions %+v; want the second reduced by the daily spend", ds)
	}
}

// bookOnly serves one order book: paper trading against it (live.paper_book).
type bookOnly struct{ b *clob.Book }

func (s bookOnly) Book(context.Context, string) (*clob.Book, error) { return s.b, nil }

// Paper trading against the real book (live.paper_book) obeys the same minimum as live: a copy
// of $0.988 is skipped naming copy.raise_to_minimum, or raised to $1.00 and filled on paper.
func TestPaperBookCopiesObeyTheSameMinimum(t *testing.T) {
	d := decimal.RequireFromString
	bk := &clob.Book{TickSize: d("0.01"), MinOrderSize: d("1"), Asks: []order.Level{{Price: d("0.50"), Size: d("100")}}}
	for _, raise := range []bool{false, true} {
		pb, err := broker.NewPaperBook(broker.PaperBookOptions{Books: bookOnly{bk}, Slippage: d("0.02"), OrderType: order.FAK})
		if err != nil {
			t.Fatal(err)
		}
		st := openStore(t, t.TempDir())
		e := newOn(t, st, pb, signedAt52(raise, 0))
		e.queues = e.queues[:1]
		fillN++
		f := fill(alice, polymarket.Buy, 1001, 1_900_000, 950_000, fillN)
		if err := e.Submit(context.Background(), f); err != nil {
			t.Fatal(err)
		}
		e.copy(context.Background(), <-e.queues[0])
		dec := decisions(t, st)[0]
		_, held, _ := st.Position("1001")
		switch {
		case !raise && (dec.Action != "skip" || dec.Limit != strategy.LimitRaise || held):
			t.Fatalf("raise off: decision %+v, position held %v; want a skip naming copy.raise_to_minimum", dec, held)
		case raise && (dec.Action != "copy" || dec.Shares != 1_930_000 || !held):
			t.Fatalf("raise on: decision %+v, position held %v; want 1.93 shares filled on paper", dec, held)
		}
	}
}

// A percent_balance BUY decided while another copy is under way takes its percentage of the
// balance that copy may leave: the balance less its worst cost and worst fee.
func TestTheBalanceOfAPercentCopyExcludesCopiesUnderWay(t *testing.T) {
	rec := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 2)}
	st := openStore(t, t.TempDir())
	p := policy("1", 0)
	p.Leaders[alice] = strategy.Leader{Enabled: true, Mode: strategy.PercentBalance, Percent: decimal.NewFromInt(10), Ratio: decimal.NewFromInt(1)}
	balance := func(context.Context) (uint64, error) { return 1000_000_000, nil } // the wallet, before any fill
	e, err := New(Options{Broker: rec, Terms: staticTerms{}, Balance: balance, Store: st, Strategy: p, Workers: 64})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, e, 5*time.Second)
	first := fill(alice, polymarket.Buy, 1, 1000_000_000, 500_000_000, 1)
	second := fill(alice, polymarket.Buy, 2, 1000_000_000, 500_000_000, 2)
	for i := int64(2); e.queueOf(second) == e.queueOf(first); i++ {
		second = fill(alice, polymarket.Buy, i, 1000_000_000, 500_000_000, 2)
	}
	submitAll(t, e, first)
	<-rec.entered // 10% of 1,000: 100 USDC, at most 10 of fee, under way
	submitAll(t, e, second)
	<-rec.entered
	close(rec.gate)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := map[string]uint64{}
	for _, o := range rec.orders {
		got[o.Market] = o.Collateral
	}
	if len(rec.orders) != 2 || got[first.Market()] != 100_000_000 || got[second.Market()] != 89_000_000 {
		t.Fatalf("orders %+v; want 100 USDC, then 10%% of the 890 left", rec.orders)
	}
}

// failingTerms cannot read the market.
type failingTerms struct{}

func (failingTerms) Terms(context.Context, *polymarket.Fill) (broker.Terms, error) {
	return broker.Terms{}, errors.New("GET /book: 503")
}

// Terms that cannot be read do not block the copy: it goes on under the conservative terms
// (order.UnknownFeeRateBps counted in the caps), and the broker meets the market as before.
func TestACopyWhoseTermsCannotBeReadGoesOnConservatively(t *testing.T) {
	rec := &recorder{}
	st := openStore(t, t.TempDir())
	e, err := New(Options{Broker: rec, Terms: failingTerms{}, Store: st, Strategy: policy("1", 5*1_000_000)})
	if err != nil {
		t.Fatal(err)
	}
	e.queues = e.queues[:1]
	f := fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 77) // 5 USDC: fits the cap without a fee
	if err := e.Submit(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	e.copy(context.Background(), <-e.queues[0])
	d := decisions(t, st)[0]
	if len(rec.orders) != 1 || d.Action != "reduce" || d.Shares != 9_090_000 || d.Limit != strategy.LimitMaxTrade {
		t.Fatalf("%d orders, decision %+v; want one order cut to 9.09 shares for the assumed 10%% fee", len(rec.orders), d)
	}
}
