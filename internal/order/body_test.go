package order

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/polymarket"
)

func signedV2(t testing.TB) SignedOrderV2 {
	t.Helper()
	o := OrderV2{
		Salt: big.NewInt(479249096354), Maker: anvilAddress, Signer: anvilAddress, TokenID: big.NewInt(1234),
		MakerAmount: big.NewInt(100000000), TakerAmount: big.NewInt(50000000), Side: Buy, SignatureType: EOA,
		Timestamp: big.NewInt(1780449126930),
	}
	sig, _, err := SignV2(testKey(t), &o, ExchangeDomain(V2, 137, polymarket.CTFExchangeV2))
	if err != nil {
		t.Fatal(err)
	}
	return SignedOrderV2{Order: o, Signature: sig}
}

func TestPostOrderBodyV2(t *testing.T) {
	s := signedV2(t)
	// The signature is the derived vector order_v2_eoa_polygon_ctf_exchange_v2_derived.
	const want = `{"order":{"salt":479249096354,"maker":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",` +
		`"signer":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","tokenId":"1234","makerAmount":"100000000",` +
		`"takerAmount":"50000000","side":"BUY","signatureType":0,"timestamp":"1780449126930","expiration":"0",` +
		`"metadata":"0x0000000000000000000000000000000000000000000000000000000000000000",` +
		`"builder":"0x0000000000000000000000000000000000000000000000000000000000000000",` +
		`"signature":"0x745070770d383e6f4e6431858070edacbea294ed0e2b16f147127edafc51b59a6e788aaeda02cce5989ee10cc983a4045313e1ec7075c5a5b84f6212b097d36a1b"},` +
		`"owner":"f4f247b7-4ac7-ff29-a152-04fda0a8755a","orderType":"GTC","postOnly":true}`
	got, err := s.PostOrderBody("f4f247b7-4ac7-ff29-a152-04fda0a8755a", GTC, true)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	// json.Marshal of the signed order gives the inner object, compacted the same way.
	inner, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, inner) {
		t.Errorf("json.Marshal(order) = %s is not the body's order object", inner)
	}
	var back struct {
		Order struct {
			Salt json.Number `json:"salt"`
		} `json:"order"`
	}
	dec := json.NewDecoder(bytes.NewReader(got))
	dec.UseNumber()
	if err := dec.Decode(&back); err != nil || back.Order.Salt.String() != "479249096354" {
		t.Errorf("salt does not decode as the JSON number 479249096354: %v %q", err, back.Order.Salt)
	}
}

func TestPostOrderBodyV1(t *testing.T) {
	o := OrderV1{
		Salt: big.NewInt(479249096354), Maker: anvilAddress, Signer: anvilAddress, TokenID: big.NewInt(1234),
		MakerAmount: big.NewInt(100000000), TakerAmount: big.NewInt(50000000), Expiration: big.NewInt(0),
		Nonce: big.NewInt(0), FeeRateBps: big.NewInt(100), Side: Buy, SignatureType: EOA,
	}
	// Official vector order_v1_amoy_ctf_exchange_buy.
	sig, hash, err := SignV1(testKey(t), &o, ExchangeDomain(V1, 80002, common.HexToAddress("0xdFE02Eb6733538f8Ea35D585af8DE5958AD99E40")))
	if err != nil {
		t.Fatal(err)
	}
	if hash.Hex() != "0x02ca1d1aa31103804173ad1acd70066cb6c1258a4be6dada055111f9a7ea4e55" {
		t.Fatalf("order hash %s", hash.Hex())
	}
	got, err := SignedOrderV1{Order: o, Signature: sig}.PostOrderBody("key", FOK, false)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"order":{"salt":479249096354,"maker":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",` +
		`"signer":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266","taker":"0x0000000000000000000000000000000000000000",` +
		`"tokenId":"1234","makerAmount":"100000000","takerAmount":"50000000","expiration":"0","nonce":"0",` +
		`"feeRateBps":"100","side":"BUY","signatureType":0,"signature":"` + hexutil.Encode(sig) + `"},` +
		`"owner":"key","orderType":"FOK","postOnly":false}`
	if string(got) != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestPostOrderBodyRefusals(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(s *SignedOrderV2)
		owner     string
		orderType OrderType
		postOnly  bool
		want      error
	}{
		{"an empty owner", nil, "", GTC, false, ErrInvalidOrder},
		{"an unset order type", nil, "k", OrderType(0), false, ErrInvalidOrder},
		{"postOnly on a FOK order", nil, "k", FOK, true, ErrInvalidOrder},
		{"a GTD order without expiration", nil, "k", GTD, false, ErrInvalidOrder},
		{"a GTC order with an expiration", func(s *SignedOrderV2) { s.Order.Expiration = big.NewInt(1) }, "k", GTC, false, ErrInvalidOrder},
		{"a missing signature", func(s *SignedOrderV2) { s.Signature = nil }, "k", GTC, false, ErrInvalidSignature},
		{"a salt the CLOB cannot parse exactly", func(s *SignedOrderV2) { s.Order.Salt = big.NewInt(MaxSalt + 1) }, "k", GTC, false, ErrInvalidOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			s := signedV2(t)
			if tc.mutate != nil {
				tc.mutate(&s)
			}
			if _, err := s.PostOrderBody(tc.owner, tc.orderType, tc.postOnly); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("a GTD order with expiration is accepted", func(t *testing.T) {
		s := signedV2(t)
		s.Order.Expiration = big.NewInt(1780449200)
		got, err := s.PostOrderBody(`o"wner`, GTD, true)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(got, []byte(`"expiration":"1780449200"`)) || !bytes.Contains(got, []byte(`"owner":"o\"wner"`)) {
			t.Errorf("body %s lacks the expiration or the escaped owner", got)
		}
		if !json.Valid(got) {
			t.Errorf("body is not valid JSON: %s", got)
		}
	})
}

// BenchmarkBuildAndSignV2 measures what polybot does per copy order: limit amounts from decimal
// price and size, the EIP-712 hash, and the signature.
func BenchmarkBuildAndSignV2(b *testing.B) {
	key := testKey(b)
	d := ExchangeDomain(V2, 137, polymarket.CTFExchangeV2)
	price, size, tick := decimal.RequireFromString("0.56"), decimal.RequireFromString("21.04"), decimal.RequireFromString("0.01")
	tokenID := big.NewInt(1234)
	ts := big.NewInt(1780449126930)
	tx := common.HexToHash("0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060")
	b.ReportAllocs()
	for b.Loop() {
		maker, taker, err := LimitAmounts(Buy, price, size, tick)
		if err != nil {
			b.Fatal(err)
		}
		o := OrderV2{Salt: SaltFor(tx, 7), Maker: anvilAddress, Signer: anvilAddress, TokenID: tokenID,
			MakerAmount: maker, TakerAmount: taker, Side: Buy, SignatureType: EOA, Timestamp: ts}
		if _, _, err := SignV2(key, &o, d); err != nil {
			b.Fatal(err)
		}
	}
}
