package executor

import (
	"testing"
	"time"

	"github.com/polybot/polybot/internal/polymarket"
)

// Two BUYs in different markets are decided by different workers while the first one's order
// is still at the broker: the second must see the first against the daily spend and total
// exposure limits, and be cut to what is left, not copied in full past the limit.
func TestGlobalLimitsHoldWhileCopiesAreUnderWay(t *testing.T) {
	rec := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 2)}
	st := openStore(t, t.TempDir())
	p := policy("1", 0)
	p.Rules.MaxDailySpend = 1000_000_000    // 1,000 USDC a day
	p.Rules.MaxTotalExposure = 1200_000_000 // 1,200 USDC in all
	e, err := New(Options{Broker: rec, Store: st, Strategy: p, Workers: 64})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, e, 5*time.Second)
	// 600 USDC each (1,000 shares at 0.60), in two markets that land on different workers.
	first := fill(alice, polymarket.Buy, 1, 1000_000_000, 600_000_000, 1)
	second := fill(alice, polymarket.Buy, 2, 1000_000_000, 600_000_000, 2)
	for i := int64(2); e.queueOf(second) == e.queueOf(first); i++ {
		second = fill(alice, polymarket.Buy, i, 1000_000_000, 600_000_000, 2)
	}
	submitAll(t, e, first)
	<-rec.entered // the first order is at the broker, its spend not yet in the store
	submitAll(t, e, second)
	<-rec.entered
	close(rec.gate)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	spent := uint64(0)
	for _, o := range rec.orders {
		spent += o.Collateral
	}
	d, err := st.Daily(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.orders) != 2 || spent > 1000_000_000 || d.Spent > 1000_000_000 {
		t.Fatalf("%d orders for %d micro-USDC, %d spent today; want 2 orders within the 1,000 USDC daily limit", len(rec.orders), spent, d.Spent)
	}
	ds := decisions(t, st)
	if len(ds) != 2 || ds[1].Action != "reduce" || ds[1].Limit != "risk.max_daily_spend_usdc" {
		t.Fatalf("decisions %+v; want the second reduced by risk.max_daily_spend_usdc", ds)
	}
	if pend, _ := st.PendingIntents(); len(pend) != 0 {
		t.Fatalf("%d intents pending", len(pend))
	}
}

// With slippage, a BUY copy under way holds its worst cost (leader price + slippage), so a
// second copy decided meanwhile cannot push the daily spend past its limit at the prices the
// orders were signed at.
func TestReservationsHoldTheWorstPriceSigned(t *testing.T) {
	rec := &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 2)}
	st := openStore(t, t.TempDir())
	p := policy("1", 0)
	p.Rules.Slippage = 100_000           // signed up to 0.10 above the leader
	p.Rules.MaxDailySpend = 1000_000_000 // 1,000 USDC a day
	e, err := New(Options{Broker: rec, Store: st, Strategy: p, Workers: 64})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, e, 5*time.Second)
	// 1,000 shares at 0.50: 500 USDC at the leader's price, at most 600 as signed.
	first := fill(alice, polymarket.Buy, 1, 1000_000_000, 500_000_000, 1)
	second := fill(alice, polymarket.Buy, 2, 1000_000_000, 500_000_000, 2)
	for i := int64(2); e.queueOf(second) == e.queueOf(first); i++ {
		second = fill(alice, polymarket.Buy, i, 1000_000_000, 500_000_000, 2)
	}
	submitAll(t, e, first)
	<-rec.entered
	submitAll(t, e, second)
	<-rec.entered
	close(rec.gate)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if len(rec.orders) != 2 {
		t.Fatalf("%d orders, want 2", len(rec.orders))
	}
	// The first holds 600; the second fits in the 400 left at 0.60: 666.66 shares.
	var got uint64
	for _, o := range rec.orders {
		if o.Source.TxHash == second.TxHash && o.Source.LogIndex == second.LogIndex {
			got = o.Shares
		}
	}
	if got != 666_660_000 {
		t.Fatalf("second copy of %d shares; want 666.66, what 400 USDC buys at the worst price 0.60", got)
	}
}
