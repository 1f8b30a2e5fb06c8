package clobsim

import (
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/order"
)

// TestTakerFeeIsChargedPerFillInTheCLOBsRounding: clobsim's fee, per fill at the fill's price,
// floored to 5 decimals, against values worked out by hand from fee = C × feeRate × p × (1 − p),
// and, with an exponent of 2, clob-client-v2 1.1.0's own examples (tests/client/feeCalculations
// .test.ts: 100 contracts, rate 0.25, exponent 2: 1.5625 at 0.5, 1.1025 at 0.3).
func TestTakerFeeIsChargedPerFillInTheCLOBsRounding(t *testing.T) {
	for _, v := range []struct {
		name   string
		shares int64
		price  string
		bps    int
		want   int64
		exp    int
	}{
		{"100 at 0.5, rate 0.25, exponent 2: 1.5625", 100_000_000, "0.5", 2500, 1_562_500, 2},
		{"100 at 0.3, rate 0.25, exponent 2: 1.1025", 100_000_000, "0.3", 2500, 1_102_500, 2},
		{"10 at 0.50, 2%: 0.05", 10_000_000, "0.5", 200, 50_000, 1},
		{"10 at 0.48, 2%: 0.04992", 10_000_000, "0.48", 200, 49_920, 1},
		{"10 at 0.65, 7%: 0.15925", 10_000_000, "0.65", 700, 159_250, 1},
		{"10 at 0.90, 2%: 0.018", 10_000_000, "0.9", 200, 18_000, 1},
		{"0.72549 at 0.51, 2%: 0.00362599902 floored to 0.00362", 725_490, "0.51", 200, 3_620, 1},
		{"1 at 0.999, 1%: 0.00000999 floors to nothing", 1_000_000, "0.999", 100, 0, 1},
		{"a fee-free market", 10_000_000, "0.5", 0, 0, 1},
	} {
		b := &book{Market: Market{FeeRateBps: v.bps, FeeExponent: v.exp}}
		if got := b.takerFee(v.shares, d(v.price)); got != v.want {
			t.Errorf("%s: takerFee = %d, want %d", v.name, got, v.want)
		}
	}
}

// TestOrderFieldRules: the CLOB's own field checks refuse what the exchange would (an EOA order
// whose maker is not its signer, a salt past 2^53−1, an unknown side or signature type) and take
// a proxy order whose maker is the signer's proxy.
func TestOrderFieldRules(t *testing.T) {
	signer, proxy := common.HexToAddress("0x51"), common.HexToAddress("0x9a")
	good := func() *order.OrderV2 {
		return &order.OrderV2{Salt: big.NewInt(7), Maker: signer, Signer: signer, TokenID: big.NewInt(1),
			MakerAmount: big.NewInt(5), TakerAmount: big.NewInt(10), Side: order.Buy, SignatureType: order.EOA,
			Timestamp: big.NewInt(1), Expiration: big.NewInt(0)}
	}
	if err := checkOrderFields(good()); err != nil {
		t.Fatalf("a valid EOA order refused: %v", err)
	}
	o := good()
	o.Maker, o.SignatureType = proxy, order.PolyProxy
	if err := checkOrderFields(o); err != nil {
		t.Fatalf("a proxy order refused: %v", err)
	}
	for name, c := range map[string]struct {
		edit func(o *order.OrderV2)
		want string
	}{
		"an EOA order made by another address": {func(o *order.OrderV2) { o.Maker = proxy }, "signer == maker"},
		"a POLY_1271 order made by another":    {func(o *order.OrderV2) { o.Maker, o.SignatureType = proxy, order.Poly1271 }, "signer == maker"},
		"a salt of 2^53":                       {func(o *order.OrderV2) { o.Salt = new(big.Int).Lsh(big.NewInt(1), 53) }, "salt"},
		"a negative amount":                    {func(o *order.OrderV2) { o.MakerAmount = big.NewInt(-1) }, "makerAmount"},
		"a token id of 2^256":                  {func(o *order.OrderV2) { o.TokenID = new(big.Int).Lsh(big.NewInt(1), 256) }, "tokenId"},
		"side 2":                               {func(o *order.OrderV2) { o.Side = 2 }, "side"},
		"signature type 4":                     {func(o *order.OrderV2) { o.SignatureType = 4 }, "signature type"},
	} {
		o := good()
		c.edit(o)
		if err := checkOrderFields(o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %s", name, err, c.want)
		}
	}
}
