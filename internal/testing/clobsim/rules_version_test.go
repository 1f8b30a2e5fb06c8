package clobsim

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
)

// TestAnOrderSignedForAnotherVersionIsAVersionMismatch: the CLOB takes orders signed for the
// version GET /version announces (V2: the V2 exchange, domain "2"; V3: ExchangeV3, domain "3")
// and refuses one signed for another known version with order_version_mismatch; while it
// announces a version clobsim does not know, every order is refused so.
func TestAnOrderSignedForAnotherVersionIsAVersionMismatch(t *testing.T) {
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	addr := crypto.PubkeyToAddress(key.PublicKey)
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	signed := func(proto order.Protocol, exchange [20]byte) (*order.OrderV2, []byte) {
		o := &order.OrderV2{Salt: big.NewInt(7), Maker: addr, Signer: addr, TokenID: big.NewInt(1),
			MakerAmount: big.NewInt(1_000_000), TakerAmount: big.NewInt(2_000_000), Side: order.Buy,
			Timestamp: big.NewInt(1), Expiration: new(big.Int)}
		sig, _, err := order.SignV2(key, o, order.ExchangeDomain(proto, 137, exchange))
		if err != nil {
			t.Fatal(err)
		}
		return o, sig
	}
	v2o, v2sig := signed(order.V2, polymarket.CTFExchangeV2)
	v3o, v3sig := signed(order.V3, polymarket.ExchangeV3)
	acct := Account{Address: addr}
	for _, c := range []struct {
		name      string
		announced int
		o         *order.OrderV2
		sig       []byte
		want      string
	}{
		{"a V2 order while the CLOB takes V2", 2, v2o, v2sig, ""},
		{"a V3 order while the CLOB takes V2", 2, v3o, v3sig, msgVersionMismatch},
		{"a V3 order once the CLOB takes V3", 3, v3o, v3sig, ""},
		{"a V2 order once the CLOB takes V3", 3, v2o, v2sig, msgVersionMismatch},
		{"a V2 order while the CLOB takes a version clobsim does not know", 4, v2o, v2sig, msgVersionMismatch},
		{"a V3 order while the CLOB takes a version clobsim does not know", 4, v3o, v3sig, msgVersionMismatch},
	} {
		s.SetVersion(c.announced)
		signedFor, _, rej := s.verifyOrder(c.o, c.sig, false, false, acct)
		if rej == nil {
			rej = s.checkAccess(c.o, acct, signedFor)
		}
		switch {
		case c.want == "" && rej != nil:
			t.Errorf("%s: refused with %q", c.name, rej.msg)
		case c.want != "" && (rej == nil || rej.msg != c.want):
			t.Errorf("%s: %v, want %q", c.name, rej, c.want)
		}
	}
	// A signature that fits no domain is an invalid signature, not a version mismatch.
	s.SetVersion(2)
	bad := append([]byte(nil), v2sig...)
	bad[5] ^= 1
	if _, _, rej := s.verifyOrder(v2o, bad, false, false, acct); rej == nil || rej.msg == msgVersionMismatch {
		t.Errorf("a bad signature: %v, want invalid signature", rej)
	}
}
