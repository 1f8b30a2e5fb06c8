package chainlog

import (
	"math/big"
	"testing"
)

func BenchmarkTradeV2(b *testing.B) {
	tr := Trade{TokenID: big.NewInt(1234), Shares: 120_000_000, Collateral: 60_000_000, Fee: 1}
	b.ReportAllocs()
	for b.Loop() {
		tr.V2()
	}
}

func BenchmarkTradeFastV2(b *testing.B) {
	tr := Trade{TokenID: big.NewInt(1234), Shares: 120_000_000, Collateral: 60_000_000, Fee: 1}
	b.ReportAllocs()
	for b.Loop() {
		tr.FastV2()
	}
}
