package chainlog

import (
	"bytes"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// TestTopic0sAreTheDocumentedOnes: the ABI files hash to the topic0s the protocol notes list
// (recomputed there with keccak from the Solidity declarations).
func TestTopic0sAreTheDocumentedOnes(t *testing.T) {
	for name, c := range map[string]struct{ got, want string }{
		"OrderFilled V1":      {OrderFilledV1.ID.Hex(), "0xd0a08e8c493f9c94f29311604c9de1b4e8c8d4c06bd0c789af57f2d65bfec0f6"},
		"OrderFilled V2":      {OrderFilledV2.ID.Hex(), "0xd543adfd945773f1a62f74f0ee55a5e3b9b1a28262980ba90b1a89f2ea84d8ee"},
		"ConditionResolution": {ConditionResolution.ID.Hex(), "0xb44d84d3289691f71497564b85d4233648d9dbae8cbdbb4329f301c3a0185894"},
	} {
		if c.got != c.want {
			t.Errorf("%s topic0 %s, want %s", name, c.got, c.want)
		}
	}
}

// TestAV2SellPutsSharesFirst: a SELL order gives shares (makerAmountFilled) and takes
// collateral; side is word 0 of the data.
func TestAV2SellPutsSharesFirst(t *testing.T) {
	tr := Trade{Sell: true, TokenID: big.NewInt(7), Shares: 3, Collateral: 2, Fee: 1}
	topics, data := tr.V2()
	if len(topics) != 4 || len(data) != 7*32 {
		t.Fatalf("%d topics, %d data bytes", len(topics), len(data))
	}
	for i, want := range []int64{1, 7, 3, 2, 1} {
		if got := new(big.Int).SetBytes(data[i*32 : (i+1)*32]); got.Int64() != want {
			t.Errorf("word %d = %v, want %d", i, got, want)
		}
	}
}

// TestFastV2IsV2: the fast chain's encoder writes exactly what the ABI encoder writes.
func TestFastV2IsV2(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var tr Trade
		tr.OrderHash = common.BigToHash(new(big.Int).SetUint64(rng.Uint64()))
		tr.Maker = common.BigToAddress(new(big.Int).SetUint64(rng.Uint64()))
		tr.Taker = common.BigToAddress(new(big.Int).SetUint64(rng.Uint64()))
		tr.Sell = rng.IntN(2) == 1
		tr.TokenID = new(big.Int).Lsh(new(big.Int).SetUint64(rng.Uint64()), uint(rng.IntN(190)))
		tr.Shares, tr.Collateral, tr.Fee = rng.Uint64(), rng.Uint64(), rng.Uint64()
		tr.Builder[rng.IntN(32)], tr.Metadata[rng.IntN(32)] = byte(rng.Uint32()), byte(rng.Uint32())
		t1, d1 := tr.V2()
		t2, d2 := tr.FastV2()
		if !bytes.Equal(d1, d2) || len(t1) != len(t2) {
			t.Fatalf("%+v: ABI %x, fast %x", tr, d1, d2)
		}
		for i := range t1 {
			if t1[i] != t2[i] {
				t.Fatalf("%+v: topic %d ABI %s, fast %s", tr, i, t1[i], t2[i])
			}
		}
	}
}
