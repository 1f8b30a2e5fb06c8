package broker

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// A FAK BUY is a market order: it names the collateral it spends, in cents (the CLOB refuses a
// market BUY whose maker amount has more decimals), and when the book is better than its limit
// it gets more shares than ordered, which polybot keeps.
func TestMarketBuySpendsCentsAndKeepsThePriceImprovement(t *testing.T) {
	f := newFixture(t, nil)
	// Leader bought 10.33 at 0.50: limit 0.52, 10.33·0.52 = 5.3716 USDC, cut to 5.37.
	o := copyOrder(tokenNormal, polymarket.Buy, 10_330_000, 5_165_000)
	p, err := f.broker.Prepare(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Order.Order.MakerAmount.Int64(); got != 5_370_000 {
		t.Fatalf("maker amount %d, want 5370000 (5.37 USDC, cents only)", got)
	}
	o.Prepared = p
	e, err := f.broker.PlaceOrder(context.Background(), o)
	if err != nil {
		t.Fatalf("the CLOB refused the market BUY: %v", err)
	}
	// 10 shares at 0.50 (5.00), then 0.37 buys 0.72549 shares at 0.51.
	if e.Shares != 10_725_490 || e.Collateral != 5_369_999 || !e.Complete {
		t.Fatalf("execution %+v, want 10.72549 shares (more than the 10.33 ordered) for 5.369999, complete", e)
	}
	if bal := f.srv.Balance(f.addr); bal.Tokens[tokenNormal] != 50*unit+10_725_490 || bal.Collateral != 1000*unit-5_369_999 {
		t.Fatalf("the CLOB's balance %+v disagrees with the execution", bal)
	}
}

// The CLOB charges the taker its market's fee at match time: on top of a BUY, out of a SELL's
// proceeds. polybot records the same fee the fake CLOB charged: clobsim computes it with its own
// per-fill code (not order.TakerFee), and both are checked against the hand-worked figure and
// against the CLOB's balance.
func TestTakerFeesAreRecordedAsTheCLOBChargesThem(t *testing.T) {
	f := newFixture(t, func(o *clobsim.Options, b *CLOBOptions) {
		o.Markets[0].FeeRateBps = 200
		b.Slippage = d("0")
	})
	buy := copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit) // 10 at 0.50
	p, err := f.broker.Prepare(context.Background(), buy)
	if err != nil {
		t.Fatal(err)
	}
	buy.Prepared = p
	e, err := f.broker.PlaceOrder(context.Background(), buy)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.srv.Order(p.Hash)
	// 2% · 10 · 0.5 · 0.5 = 0.05.
	if e.Shares != 10*unit || e.Collateral != 5*unit || e.Fee != 50_000 || int64(e.Fee) != st.Fee {
		t.Fatalf("BUY execution %+v; the CLOB charged %d", e, st.Fee)
	}
	if bal := f.srv.Balance(f.addr); bal.Collateral != 1000*unit-5*unit-50_000 {
		t.Fatalf("collateral %d: the fee is paid on top of the BUY", bal.Collateral)
	}
	sell := copyOrder(tokenNormal, polymarket.Sell, 10*unit, 4_800_000) // 10 at 0.48
	p, err = f.broker.Prepare(context.Background(), sell)
	if err != nil {
		t.Fatal(err)
	}
	sell.Prepared = p
	e, err = f.broker.PlaceOrder(context.Background(), sell)
	if err != nil {
		t.Fatal(err)
	}
	st, _ = f.srv.Order(p.Hash)
	// 2% · 10 · 0.48 · 0.52 = 0.04992.
	if e.Collateral != 4_800_000 || e.Fee != 49_920 || int64(e.Fee) != st.Fee {
		t.Fatalf("SELL execution %+v; the CLOB charged %d", e, st.Fee)
	}
	if bal := f.srv.Balance(f.addr); bal.Collateral != 1000*unit-5_050_000+4_800_000-49_920 {
		t.Fatalf("collateral %d: the fee comes out of the SELL's proceeds", bal.Collateral)
	}
}

// The paper brokers charge the configured fee with the same model.
func TestPaperChargesTheSameFee(t *testing.T) {
	e, err := Paper{FeeRateBps: 200}.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Sell, 10*unit, 4_800_000))
	if err != nil || e.Fee != 49_920 || e.Collateral != 4_800_000 {
		t.Fatalf("paper execution %+v, %v; want a fee of 0.04992", e, err)
	}
	if e, _ := (Paper{}).PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit)); e.Fee != 0 {
		t.Fatalf("paper without a fee rate charged %d", e.Fee)
	}
}

// fakeClock is a clock shared by clobsim and the broker.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// GTC copies can rest on the book. The broker's heartbeats keep them there; when the daemon
// stops sending them (it crashed), the CLOB cancels them after its timeout.
func TestHeartbeatsKeepRestingOrdersUntilTheyStop(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	f := newFixture(t, func(o *clobsim.Options, b *CLOBOptions) {
		o.Now, o.HeartbeatTimeout = clk.now, 10*time.Second
		b.Now, b.OrderType = clk.now, order.GTC
	})
	// Leader bought at 0.40: the 0.42 limit crosses no ask, the order rests.
	o := copyOrder(tokenNormal, polymarket.Buy, 10*unit, 4*unit)
	p, err := f.broker.Prepare(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	o.Prepared = p
	if _, err := f.broker.PlaceOrder(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	status := func() string {
		f.srv.CheckHeartbeats()
		st, _ := f.srv.Order(p.Hash)
		return st.Status
	}
	if s := status(); s != "LIVE" {
		t.Fatalf("order %s, want resting", s)
	}
	hb, err := f.broker.Heartbeat(5 * time.Second)
	if err != nil || hb == nil {
		t.Fatalf("a GTC broker has no heartbeat: %v", err)
	}
	for range 3 {
		if err := hb.Beat(context.Background()); err != nil {
			t.Fatal(err)
		}
		clk.advance(8 * time.Second)
		if s := status(); s != "LIVE" {
			t.Fatalf("order %s 8s after a heartbeat, want still resting", s)
		}
	}
	// The daemon dies: no heartbeat for more than the timeout.
	clk.advance(3 * time.Second)
	if s := status(); s != "CANCELED" {
		t.Fatalf("order %s 11s after the last heartbeat, want canceled by the CLOB", s)
	}
	// After its session lapsed, the next heartbeat starts a new one.
	if err := hb.Beat(context.Background()); err == nil {
		t.Fatal("a heartbeat with a lapsed id was accepted")
	}
	if err := hb.Beat(context.Background()); err != nil {
		t.Fatalf("a new heartbeat session was not started: %v", err)
	}
}

// Run beats until its context ends; FAK and FOK copies never rest and need no heartbeat.
func TestHeartbeatRunBeatsUntilStopped(t *testing.T) {
	f := newFixture(t, func(_ *clobsim.Options, b *CLOBOptions) { b.OrderType = order.GTC })
	hb, err := f.broker.Heartbeat(10 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hb.Run(ctx) }()
	creds, _ := f.broker.Client().Credentials()
	deadline := time.After(10 * time.Second)
	for f.srv.Requests(clobsim.RouteHeartbeat) < 3 || !f.srv.Heartbeats(creds.APIKey) {
		select {
		case <-deadline:
			t.Fatalf("%d heartbeats sent", f.srv.Requests(clobsim.RouteHeartbeat))
		case <-time.After(5 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run returned %v at cancellation", err)
	}
	fak := newFixture(t, nil)
	if hb, err := fak.broker.Heartbeat(time.Second); hb != nil || err != nil {
		t.Fatalf("a FAK broker sends heartbeats: %v %v", hb, err)
	}
}

// While the CLOB takes no orders for longer than the client waits (engine restart 425,
// cancel-only 503, with retry_after_seconds), the copy fails as not placed: one POST, no
// re-send, and it is not a rejection.
func TestOrdersTheCLOBWillNotTakeAreNotPlaced(t *testing.T) {
	for _, status := range []int{http.StatusTooEarly, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			f := newFixture(t, nil)
			if err := f.srv.Pause(status, time.Hour); err != nil {
				t.Fatal(err)
			}
			_, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit))
			if !errors.Is(err, clob.ErrNotPlaced) || errors.Is(err, clob.ErrUnknownOutcome) {
				t.Fatalf("err = %v, want ErrNotPlaced", err)
			}
			if n := f.srv.Requests(clobsim.RoutePostOrder); n != 1 {
				t.Fatalf("%d POSTs, want 1", n)
			}
		})
	}
}

// After a crash, a market BUY that spent its amount is resolved as filled with the shares that
// traded, even when that amount (cut to cents) buys a hair fewer shares than ordered.
func TestResolveAMarketBuyThatSpentItsAmount(t *testing.T) {
	f := newFixture(t, func(o *clobsim.Options, b *CLOBOptions) {
		o.Markets[0].Asks = []order.Level{{Price: d("0.50"), Size: d("100")}}
		b.Slippage = d("0")
	})
	// 10.33 at 0.50: 5.165 cut to 5.16, which buys 10.32 shares at the 0.50 ask.
	o := copyOrder(tokenNormal, polymarket.Buy, 10_330_000, 5_165_000)
	p, err := f.broker.Prepare(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	o.Prepared = p
	if _, err := f.broker.PlaceOrder(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	in := OrderRef{Intent: o.Source.TxHash.Hex(), Token: tokenNormal, Side: polymarket.Buy,
		Shares: o.Shares, Collateral: o.Collateral, Hash: p.Hash}
	r, err := f.broker.Resolve(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != Filled || r.FilledShares != 10_320_000 || r.FilledCollateral != 5_160_000 {
		t.Fatalf("result %+v, want filled: 10.32 shares for 5.16", r)
	}
}
