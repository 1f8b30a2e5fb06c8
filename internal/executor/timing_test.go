package executor

import (
	"sync"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/polymarket"
)

func TestSlippageIsWorseThanTheLeaderInBasisPoints(t *testing.T) {
	for _, c := range []struct {
		name       string
		side       polymarket.Side
		coll, ours uint64 // the leader's and polybot's collateral for 10 shares
		want       string
	}{
		{"a BUY that paid 0.51 for the leader's 0.50", polymarket.Buy, 5_000_000, 5_100_000, "200"},
		{"a BUY that got a better price", polymarket.Buy, 5_000_000, 4_950_000, "-100"},
		{"a SELL that got 0.49 for the leader's 0.50", polymarket.Sell, 5_000_000, 4_900_000, "200"},
		{"a SELL at a third of a cent better", polymarket.Sell, 3_000_000, 3_001_000, "-3.33"},
	} {
		f := &polymarket.Fill{Side: c.side, Shares: 10_000_000, Collateral: c.coll}
		got := slippageBps(f, broker.Execution{Shares: 10_000_000, Collateral: c.ours})
		if got.String() != c.want {
			t.Errorf("%s: %s bps, want %s", c.name, got, c.want)
		}
	}
}

// Each copy that fills reports its path from the leader's block: read, sent, filled, in order.
func TestACopyReportsItsTiming(t *testing.T) {
	var (
		mu  sync.Mutex
		got []Timing
	)
	st := openStore(t, t.TempDir())
	e, err := New(Options{Broker: &recorder{}, Store: st, Strategy: policy("0.5", 0), Timing: func(tm Timing) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, tm)
	}})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, e, time.Second)
	f := fill(alice, polymarket.Buy, 7, 10_000_000, 5_000_000, 1)
	f.BlockTime = uint64(time.Now().Add(-2 * time.Second).Unix())
	f.SeenAt = time.Now()
	submitAll(t, e, f)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d timings, want 1", len(got))
	}
	tm := got[0]
	if tm.Block.IsZero() || tm.Seen.Before(tm.Block) || tm.Taken.Before(tm.Seen) || tm.Sent.Before(tm.Taken) || tm.Filled.Before(tm.Sent) {
		t.Fatalf("timing out of order: %+v", tm)
	}
	if !tm.SlippageBps.IsZero() {
		t.Fatalf("paper at the leader's price: slippage %s bps, want 0", tm.SlippageBps)
	}
}
