package order

import "testing"

// ScheduleFee follows clob-client-v2 1.1.0's own worked examples (tests/client/feeCalculations
// .test.ts: 100 contracts, rate 0.25, exponent 2) and, with exponent 1, TakerFee.
func TestScheduleFeeVectors(t *testing.T) {
	for _, v := range []struct {
		name               string
		shares, collateral uint64
		bps, exp           int
		want               uint64
	}{
		{"0.5, rate 0.25, exponent 2: 1.5625", 100_000_000, 50_000_000, 2500, 2, 1_562_500},
		{"0.3, rate 0.25, exponent 2: 1.1025", 100_000_000, 30_000_000, 2500, 2, 1_102_500},
		{"0.1, rate 0.25, exponent 2: 0.2025", 100_000_000, 10_000_000, 2500, 2, 202_500},
		{"0.05, rate 0.25, exponent 2: 0.05640625", 100_000_000, 5_000_000, 2500, 2, 56_406},
		{"exponent 1 is TakerFee", 10_000_000, 5_000_000, 200, 1, TakerFee(10_000_000, 5_000_000, 200)},
		{"exponent 0 reads as 1", 10_000_000, 5_000_000, 200, 0, 50_000},
	} {
		if got := ScheduleFee(v.shares, v.collateral, v.bps, v.exp); got != v.want {
			t.Errorf("%s: ScheduleFee = %d, want %d", v.name, got, v.want)
		}
	}
}

// MaxFee bounds the fee of any fill that spends the same collateral, at any price and with any
// exponent ≥ 1: what a BUY reserves before its fill price is known is never too little.
func TestMaxFeeBoundsEveryFillOfTheSameSpend(t *testing.T) {
	const spend = 1_000_000
	for _, bps := range []int{1, 100, 700, 1000, 2500, 10000} {
		for _, exp := range []int{1, 2, 3} {
			for p := uint64(1_000); p < 1_000_000; p += 7_000 {
				shares := spend * 1_000_000 / p
				if fee := ScheduleFee(shares, spend, bps, exp); fee > MaxFee(spend, bps) {
					t.Fatalf("rate %d bps, exponent %d, price %d: fee %d above the bound %d", bps, exp, p, fee, MaxFee(spend, bps))
				}
			}
		}
	}
	if MaxFee(5_200_000, 700) != 364_000 || MaxFee(1, 1) != 1 || MaxFee(0, 700) != 0 {
		t.Fatal("MaxFee is not ceil(spend·rate)")
	}
}
