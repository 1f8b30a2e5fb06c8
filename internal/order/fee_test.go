package order

import "testing"

// TestTakerFeeVectors pins TakerFee to hand-computed values of Polymarket's published formula,
// fee = C × feeRate × p × (1 − p) with C the shares and p the price
// (docs.polymarket.com/trading/fees, "Fee Structure"), in collateral base units rounded down.
// Each expected value is worked out in the comment beside it, not by the function.
func TestTakerFeeVectors(t *testing.T) {
	for _, v := range []struct {
		name               string
		shares, collateral uint64
		bps                int
		want               uint64
	}{
		{"10 at 0.50, 2%: 10·0.02·0.5·0.5 = 0.05", 10_000_000, 5_000_000, 200, 50_000},
		{"10 at 0.48, 2%: 10·0.02·0.48·0.52 = 0.04992", 10_000_000, 4_800_000, 200, 49_920},
		{"10 at 0.65, 7%: 10·0.07·0.65·0.35 = 0.15925", 10_000_000, 6_500_000, 700, 159_250},
		{"10 at 0.90, 2%: 10·0.02·0.9·0.1 = 0.018 (not 0.18: the 1−p factor)", 10_000_000, 9_000_000, 200, 18_000},
		{"100 at 0.01, 2%: 100·0.02·0.01·0.99 = 0.0198", 100_000_000, 1_000_000, 200, 19_800},
		{"3 at 1/3, 1%: 3·0.01·(1/3)·(2/3) = 0.0066666… → 0.006666", 3_000_000, 1_000_000, 100, 6_666},
		{"0.72549 for 0.369999 (p = 0.369999/0.72549), 2%: 0.369999·0.355491/0.72549·0.02 = 0.0036259993… → 0.003625", 725_490, 369_999, 200, 3_625},
		{"a fee-free market", 10_000_000, 5_000_000, 0, 0},
		{"price 1 pays nothing: 1−p = 0", 10_000_000, 10_000_000, 200, 0},
		{"no shares", 0, 0, 200, 0},
	} {
		if got := TakerFee(v.shares, v.collateral, v.bps); got != v.want {
			t.Errorf("%s: TakerFee = %d, want %d", v.name, got, v.want)
		}
	}
}
