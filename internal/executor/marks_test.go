package executor

import (
	"testing"
	"time"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/strategy"
)

// A position bought at 0.90 whose market now trades at 0.10 is a loss the breaker must see,
// although polybot's own last fill in it was at 0.90.
func TestTheBreakerValuesOpenPositionsAtTheirMarks(t *testing.T) {
	const usdc = 1_000_000
	rec := &recorder{}
	st := openStore(t, t.TempDir())
	p := policy("1", 0)
	p.Rules.DailyLossLimit = 50 * usdc
	marks := map[string]uint64{"7": 100_000} // 0.10
	e, err := New(Options{Broker: rec, Store: st, Strategy: p, Marks: func(token string) (uint64, bool) {
		m, ok := marks[token]
		return m, ok
	}})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, e, 5*time.Second)
	submitAll(t, e, fill(alice, polymarket.Buy, 7, 100*usdc, 90*usdc, 0)) // 100 at 0.90: marked at 0.10, -80
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, open, err := st.Position("7"); err != nil || open {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("first BUY not copied")
		}
	}
	submitAll(t, e, fill(alice, polymarket.Buy, 8, 10*usdc, 5*usdc, 1))
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	ds := decisions(t, st)
	if len(ds) != 2 || ds[1].Action != "skip" || ds[1].Limit != strategy.LimitDailyLoss {
		t.Fatalf("decisions %+v; want the second BUY skipped under %s", ds, strategy.LimitDailyLoss)
	}
	if b, err := st.Breaker(time.Now()); err != nil || !b.Tripped || b.PnL != -80*usdc {
		t.Fatalf("breaker %+v (%v), want tripped at -80", b, err)
	}
}
