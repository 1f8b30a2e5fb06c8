package sim

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// The settlement's events are the V2 exchange's: their topic0 is the one polymarket.md (section
// 2) lists, recomputed there from the exchange's ABI.
func TestSettlementEventsAreTheExchangeV2Events(t *testing.T) {
	for name, want := range map[string]string{
		"OrderFilled":   "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee",
		"OrdersMatched": "0x174b3811690657c217184f89418266767c87e4805d09680c39fc9c031c0cab7c",
	} {
		if got := exchangeV2ABI.Events[name].ID; got != common.HexToHash(want) {
			t.Errorf("%s topic0 %s, want %s", name, got, want)
		}
	}
	// A BUY's OrderFilled: maker amount is collateral, taker amount shares (polymarket.md 3b).
	o := clobsim.SettledOrder{Hash: common.HexToHash("0x01"), Maker: common.HexToAddress("0x02"), Side: order.Buy,
		Shares: 10_000_000, Collateral: 4_000_000, Fee: 12_345}
	r, err := orderFilledLog(&o, common.HexToAddress("0x03"), big.NewInt(77))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.topics) != 4 || r.topics[2] != common.BytesToHash(o.Maker.Bytes()) || r.topics[3] != common.HexToHash("0x03") {
		t.Fatalf("topics %v", r.topics)
	}
	word := func(i int) *big.Int { return new(big.Int).SetBytes(r.data[32*i : 32*i+32]) }
	if len(r.data) != 7*32 || word(0).Int64() != 0 || word(1).Int64() != 77 || word(2).Int64() != 4_000_000 ||
		word(3).Int64() != 10_000_000 || word(4).Int64() != 12_345 {
		t.Fatalf("data %x", r.data)
	}
}
