package executor

import (
	"testing"
	"time"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/strategy"
)

// A system clock an hour ahead of the chain does not make a fresh leader BUY "an hour old":
// copy.max_fill_age is measured in chain time. Without the chain's time the same BUY is skipped.
func TestMaxFillAgeIsMeasuredInChainTime(t *testing.T) {
	const usdc = 1_000_000
	chainNow := time.Now()
	wrong := func() time.Time { return chainNow.Add(61 * time.Minute) } // copy.max_fill_age is 1h
	for _, tc := range []struct {
		name     string
		chainNow func() time.Time
		want     string
	}{
		{"with the chain's time", func() time.Time { return chainNow }, "copy"},
		{"with the system clock alone", nil, "skip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			st := openStore(t, t.TempDir())
			e, err := New(Options{Broker: rec, Store: st, Strategy: policy("0.5", 0), Now: wrong, ChainNow: tc.chainNow})
			if err != nil {
				t.Fatal(err)
			}
			stop := run(t, e, 5*time.Second)
			f := fill(alice, polymarket.Buy, 7, 20*usdc, 10*usdc, 0)
			f.BlockTime = uint64(chainNow.Add(-5 * time.Second).Unix())
			submitAll(t, e, f)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			ds := decisions(t, st)
			if len(ds) != 1 || ds[0].Action != tc.want {
				t.Fatalf("decisions %+v; want one %q", ds, tc.want)
			}
			if tc.want == "skip" && ds[0].Limit != strategy.LimitMaxFillAge {
				t.Fatalf("skipped by %q, want %s", ds[0].Limit, strategy.LimitMaxFillAge)
			}
		})
	}
}
