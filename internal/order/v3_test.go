package order

import (
	"bytes"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/polybot/polybot/internal/polymarket"
)

// ExchangeV3's order domain is version "3" at its own address; its separator, computed by
// go-ethereum's independent EIP-712 code, must be ours.
func TestExchangeV3DomainSeparatorMatchesGoEthereum(t *testing.T) {
	d := ExchangeDomain(V3, 137, polymarket.ExchangeV3)
	if d.Version != "3" || d.Name != ExchangeName || *d.VerifyingContract != polymarket.ExchangeV3 {
		t.Fatalf("ExchangeDomain(V3) = %+v, want %q version 3 at %s", d, ExchangeName, polymarket.ExchangeV3)
	}
	td := apitypes.TypedData{
		Types: apitypes.Types{"EIP712Domain": {{Name: "name", Type: "string"}, {Name: "version", Type: "string"},
			{Name: "chainId", Type: "uint256"}, {Name: "verifyingContract", Type: "address"}}},
		Domain: apitypes.TypedDataDomain{Name: "Polymarket CTF Exchange", Version: "3", ChainId: math.NewHexOrDecimal256(137),
			VerifyingContract: "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa"},
	}
	want, err := td.HashStruct("EIP712Domain", td.Domain.Map())
	if err != nil {
		t.Fatal(err)
	}
	if got := DomainSeparator(d); !bytes.Equal(got[:], want) {
		t.Fatalf("V3 domain separator = %s, go-ethereum = %s", got.Hex(), hexutil.Encode(want))
	}
	if v2 := DomainSeparator(ExchangeDomain(V2, 137, polymarket.ExchangeV3)); v2 == DomainSeparator(d) {
		t.Fatal("the V2 and V3 domains of one address have the same separator")
	}
}

// Sign with V3 signs the V2 struct under the version "3" domain: the hash go-ethereum computes for
// that typed data, and a signature that recovers the signer.
func TestSignV3SignsTheV2StructUnderDomainVersion3(t *testing.T) {
	key := testKey(t)
	p := Params{Salt: big.NewInt(479249096354), Maker: anvilAddress, Signer: anvilAddress, TokenID: big.NewInt(1234),
		MakerAmount: big.NewInt(50_000_000), TakerAmount: big.NewInt(100_000_000), Side: Buy, SignatureType: EOA,
		Timestamp: big.NewInt(1_780_000_000_000), Expiration: new(big.Int)}
	s, err := Sign(key, V3, 137, polymarket.ExchangeV3, p)
	if err != nil {
		t.Fatal(err)
	}
	if s.V2 == nil || s.V1 != nil || s.Domain.Version != "3" {
		t.Fatalf("Sign(V3) = %+v, want a V2-struct order under domain version 3", s)
	}
	o := &s.V2.Order
	td := apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain": {{Name: "name", Type: "string"}, {Name: "version", Type: "string"}, {Name: "chainId", Type: "uint256"}, {Name: "verifyingContract", Type: "address"}},
			"Order": {{Name: "salt", Type: "uint256"}, {Name: "maker", Type: "address"}, {Name: "signer", Type: "address"},
				{Name: "tokenId", Type: "uint256"}, {Name: "makerAmount", Type: "uint256"}, {Name: "takerAmount", Type: "uint256"},
				{Name: "side", Type: "uint8"}, {Name: "signatureType", Type: "uint8"}, {Name: "timestamp", Type: "uint256"},
				{Name: "metadata", Type: "bytes32"}, {Name: "builder", Type: "bytes32"}},
		},
		PrimaryType: "Order",
		Domain: apitypes.TypedDataDomain{Name: ExchangeName, Version: "3", ChainId: math.NewHexOrDecimal256(137),
			VerifyingContract: polymarket.ExchangeV3.Hex()},
		Message: apitypes.TypedDataMessage{
			"salt": o.Salt.String(), "maker": o.Maker.Hex(), "signer": o.Signer.Hex(), "tokenId": o.TokenID.String(),
			"makerAmount": o.MakerAmount.String(), "takerAmount": o.TakerAmount.String(), "side": "0", "signatureType": "0",
			"timestamp": o.Timestamp.String(), "metadata": hexutil.Encode(o.Metadata[:]), "builder": hexutil.Encode(o.Builder[:]),
		},
	}
	want, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Hash[:], want) {
		t.Fatalf("V3 order hash = %s, go-ethereum = %s", s.Hash.Hex(), hexutil.Encode(want))
	}
	if got, err := RecoverSigner(s.Hash, s.Signature()); err != nil || got != anvilAddress {
		t.Fatalf("signature recovers %s (%v), want %s", got, err, anvilAddress)
	}
	v2, err := Sign(key, V2, 137, polymarket.ExchangeV3, p)
	if err != nil {
		t.Fatal(err)
	}
	if v2.Hash == s.Hash {
		t.Fatal("a V3 order has the V2 order hash: the domain version was not applied")
	}
}

// Sign with V1 builds the V1 struct: the same hash as the V1 path.
func TestSignV1MatchesSignV1(t *testing.T) {
	key := testKey(t)
	p := Params{Salt: big.NewInt(7), Maker: anvilAddress, Signer: anvilAddress, TokenID: big.NewInt(1234),
		MakerAmount: big.NewInt(50_000_000), TakerAmount: big.NewInt(100_000_000), Side: Sell, SignatureType: EOA}
	s, err := Sign(key, V1, 137, polymarket.CTFExchangeV1, p)
	if err != nil {
		t.Fatal(err)
	}
	o := OrderV1{Salt: p.Salt, Maker: p.Maker, Signer: p.Signer, TokenID: p.TokenID, MakerAmount: p.MakerAmount,
		TakerAmount: p.TakerAmount, Expiration: new(big.Int), Nonce: new(big.Int), FeeRateBps: new(big.Int), Side: Sell, SignatureType: EOA}
	if want := o.Hash(ExchangeDomain(V1, 137, polymarket.CTFExchangeV1)); s.V1 == nil || s.Hash != want {
		t.Fatalf("Sign(V1) hash %s, want %s", s.Hash.Hex(), want.Hex())
	}
	if _, err := Sign(key, Protocol(9), 137, polymarket.CTFExchangeV1, p); err == nil {
		t.Fatal("Sign accepted protocol 9")
	}
}
