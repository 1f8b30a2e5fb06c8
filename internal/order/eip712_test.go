package order

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/polybot/polybot/internal/polymarket"
)

// anvilKey is the public Anvil/Hardhat account #0 key every official client test uses.
const anvilKey = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

var anvilAddress = common.HexToAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")

func testKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.HexToECDSA(anvilKey)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func bigDec(t testing.TB, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad integer %q", s)
	}
	return v
}

func hexBytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hexutil.Decode(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func TestKeccakVectors(t *testing.T) {
	runVectors(t, "keccak", func(t *testing.T, v vector) {
		var in struct {
			UTF8 *string `json:"utf8"`
			Hex  *string `json:"hex"`
		}
		var want struct {
			Keccak256 string `json:"keccak256"`
		}
		decodeJSON(t, v.Inputs, &in)
		decodeJSON(t, v.Expected, &want)
		var data []byte
		switch {
		case in.UTF8 != nil:
			data = []byte(*in.UTF8)
		case in.Hex != nil:
			data = hexBytes(t, *in.Hex)
		default:
			t.Fatal("vector has neither utf8 nor hex input")
		}
		if got := crypto.Keccak256Hash(data).Hex(); got != want.Keccak256 {
			t.Errorf("keccak = %s, want %s", got, want.Keccak256)
		}
	})
}

func TestTypeHashVectors(t *testing.T) {
	ours := map[string]common.Hash{
		DomainType:           DomainTypeHash,
		DomainTypeNoContract: DomainNoContractTypeHash,
		OrderV1Type:          OrderV1TypeHash,
		OrderV2Type:          OrderV2TypeHash,
	}
	runVectors(t, "eip712_typehash", func(t *testing.T, v vector) {
		var in struct {
			TypeString string `json:"typeString"`
		}
		var want struct {
			TypeHash string `json:"typeHash"`
		}
		decodeJSON(t, v.Inputs, &in)
		decodeJSON(t, v.Expected, &want)
		if got := crypto.Keccak256Hash([]byte(in.TypeString)).Hex(); got != want.TypeHash {
			t.Errorf("keccak(%q) = %s, want %s", in.TypeString, got, want.TypeHash)
		}
		// The package's own constant for that type, when it has one, must be the same.
		if h, ok := ours[in.TypeString]; ok && h.Hex() != want.TypeHash {
			t.Errorf("package type hash = %s, want %s", h.Hex(), want.TypeHash)
		}
	})
}

func TestDomainVectors(t *testing.T) {
	runVectors(t, "eip712_domain", func(t *testing.T, v vector) {
		var in struct {
			Name              string  `json:"name"`
			Version           string  `json:"version"`
			ChainID           int64   `json:"chainId"`
			VerifyingContract *string `json:"verifyingContract"`
			DomainType        string  `json:"domainType"`
		}
		var want struct {
			DomainSeparator string `json:"domainSeparator"`
		}
		decodeJSON(t, v.Inputs, &in)
		decodeJSON(t, v.Expected, &want)
		d := Domain{Name: in.Name, Version: in.Version, ChainID: in.ChainID}
		if in.VerifyingContract != nil {
			a := common.HexToAddress(*in.VerifyingContract)
			d.VerifyingContract = &a
		}
		if in.DomainType == DomainTypeNoContract && d.VerifyingContract != nil {
			t.Fatal("vector names a domain type without verifyingContract but gives one")
		}
		if got := DomainSeparator(d).Hex(); got != want.DomainSeparator {
			t.Errorf("separator = %s, want %s", got, want.DomainSeparator)
		}
	})
}

type orderVectorInputs struct {
	PrivateKey        string                   `json:"privateKey"`
	ChainID           int64                    `json:"chainId"`
	VerifyingContract string                   `json:"verifyingContract"`
	Domain            struct{ Version string } `json:"domain"`
	Order             map[string]string        `json:"order"`
}

func (in orderVectorInputs) domain(t *testing.T, proto Protocol) Domain {
	t.Helper()
	d := ExchangeDomain(proto, in.ChainID, common.HexToAddress(in.VerifyingContract))
	if d.Version != in.Domain.Version {
		t.Fatalf("vector domain version %q, ExchangeDomain(%s) gives %q", in.Domain.Version, proto, d.Version)
	}
	return d
}

func TestOrderV1Vectors(t *testing.T) {
	runVectors(t, "order_v1_eip712", func(t *testing.T, v vector) {
		var in orderVectorInputs
		var want struct {
			OrderHash string `json:"orderHash"`
			Signature string `json:"signature"`
			R         string `json:"signature_r_decimal"`
			S         string `json:"signature_s_decimal"`
			V         int    `json:"signature_v_parity_false_means_v"`
		}
		var also struct {
			StructHash string `json:"structHash"`
		}
		decodeJSON(t, v.Inputs, &in)
		decodeJSON(t, v.Expected, &want)
		decodeJSON(t, v.AlsoComputed, &also)
		f := in.Order
		o := &OrderV1{
			Salt: bigDec(t, f["salt"]), Maker: common.HexToAddress(f["maker"]), Signer: common.HexToAddress(f["signer"]),
			Taker: common.HexToAddress(f["taker"]), TokenID: bigDec(t, f["tokenId"]), MakerAmount: bigDec(t, f["makerAmount"]),
			TakerAmount: bigDec(t, f["takerAmount"]), Expiration: bigDec(t, f["expiration"]), Nonce: bigDec(t, f["nonce"]),
			FeeRateBps: bigDec(t, f["feeRateBps"]), Side: Side(bigDec(t, f["side"]).Uint64()),
			SignatureType: SignatureType(bigDec(t, f["signatureType"]).Uint64()),
		}
		key, err := crypto.HexToECDSA(in.PrivateKey[2:])
		if err != nil {
			t.Fatal(err)
		}
		d := in.domain(t, V1)
		if also.StructHash != "" && o.StructHash().Hex() != also.StructHash {
			t.Errorf("struct hash = %s, want %s", o.StructHash().Hex(), also.StructHash)
		}
		sig, hash, err := SignV1(key, o, d)
		if err != nil {
			t.Fatal(err)
		}
		if want.OrderHash != "" && hash.Hex() != want.OrderHash {
			t.Errorf("order hash = %s, want %s", hash.Hex(), want.OrderHash)
		}
		if want.Signature != "" && hexutil.Encode(sig) != want.Signature {
			t.Errorf("signature = %s, want %s", hexutil.Encode(sig), want.Signature)
		}
		if want.R != "" {
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:64])
			if r.String() != want.R || s.String() != want.S || int(sig[64]) != want.V {
				t.Errorf("signature r,s,v = %s,%s,%d, want %s,%s,%d", r, s, sig[64], want.R, want.S, want.V)
			}
		}
		if got, err := RecoverSigner(hash, sig); err != nil || got != anvilAddress {
			t.Errorf("RecoverSigner = %s, %v, want %s", got, err, anvilAddress)
		}
	})
}

func orderV2FromVector(t *testing.T, f map[string]string) *OrderV2 {
	t.Helper()
	o := &OrderV2{
		Salt: bigDec(t, f["salt"]), Maker: common.HexToAddress(f["maker"]), Signer: common.HexToAddress(f["signer"]),
		TokenID: bigDec(t, f["tokenId"]), MakerAmount: bigDec(t, f["makerAmount"]), TakerAmount: bigDec(t, f["takerAmount"]),
		Side: Side(bigDec(t, f["side"]).Uint64()), SignatureType: SignatureType(bigDec(t, f["signatureType"]).Uint64()),
		Timestamp: bigDec(t, f["timestamp"]),
	}
	copy(o.Metadata[:], hexBytes(t, f["metadata"]))
	copy(o.Builder[:], hexBytes(t, f["builder"]))
	return o
}

func TestOrderV2Vectors(t *testing.T) {
	runVectors(t, "order_v2_eip712", func(t *testing.T, v vector) {
		var in orderVectorInputs
		var want struct {
			StructHash      string `json:"structHash"`
			DomainSeparator string `json:"domainSeparator"`
			OrderHash       string `json:"orderHash"`
			Signature       string `json:"signature"`
		}
		decodeJSON(t, v.Inputs, &in)
		decodeJSON(t, v.Expected, &want)
		o := orderV2FromVector(t, in.Order)
		key, err := crypto.HexToECDSA(in.PrivateKey[2:])
		if err != nil {
			t.Fatal(err)
		}
		d := in.domain(t, V2)
		if want.StructHash != "" && o.StructHash().Hex() != want.StructHash {
			t.Errorf("struct hash = %s, want %s", o.StructHash().Hex(), want.StructHash)
		}
		if want.DomainSeparator != "" && DomainSeparator(d).Hex() != want.DomainSeparator {
			t.Errorf("domain separator = %s, want %s", DomainSeparator(d).Hex(), want.DomainSeparator)
		}
		sig, hash, err := SignV2(key, o, d)
		if err != nil {
			t.Fatal(err)
		}
		if want.OrderHash != "" && hash.Hex() != want.OrderHash {
			t.Errorf("order hash = %s, want %s", hash.Hex(), want.OrderHash)
		}
		if hexutil.Encode(sig) != want.Signature {
			t.Errorf("signature = %s, want %s", hexutil.Encode(sig), want.Signature)
		}
		var signer common.Address
		if o.SignatureType == Poly1271 {
			signer, err = RecoverPoly1271(o, d, sig)
		} else {
			signer, err = RecoverSigner(hash, sig)
		}
		if err != nil || signer != anvilAddress {
			t.Errorf("recovered %s, %v, want %s", signer, err, anvilAddress)
		}
	})
}

// TestPoly1271Digest checks the ERC-7739 digest against the value the vector also lists.
func TestPoly1271Digest(t *testing.T) {
	for _, v := range loadVectors(t, "order_v2_eip712") {
		var also map[string]string
		if len(v.AlsoComputed) == 0 {
			continue
		}
		decodeJSON(t, v.AlsoComputed, &also)
		want, ok := also["typedDataSignDigest"]
		if !ok {
			continue
		}
		var in orderVectorInputs
		decodeJSON(t, v.Inputs, &in)
		o := orderV2FromVector(t, in.Order)
		d := in.domain(t, V2)
		got := poly1271Digest(o.Signer, d.ChainID, DomainSeparator(d), o.StructHash())
		if got.Hex() != want {
			t.Errorf("%s: digest = %s, want %s", v.Name, got.Hex(), want)
		}
		return
	}
	t.Fatal("no vector lists a typedDataSignDigest")
}

// TestHashMatchesApitypes cross-checks the hand-built struct encoding with go-ethereum's generic
// EIP-712 encoder.
func TestHashMatchesApitypes(t *testing.T) {
	exchange := polymarket.CTFExchangeV2
	d := ExchangeDomain(V2, 137, exchange)
	o := &OrderV2{
		Salt: big.NewInt(MaxSalt), Maker: common.HexToAddress("0x995c9b1f779c04e65AF8ea3360F96c43b5e62316"), Signer: anvilAddress,
		TokenID:     bigDec(t, "71321045679252212594626385532706912750332728571942532289631379312455583992563"),
		MakerAmount: big.NewInt(11782400), TakerAmount: big.NewInt(21040000), Side: Sell, SignatureType: PolyGnosisSafe,
		Timestamp: big.NewInt(1780449126930),
	}
	o.Metadata[0], o.Metadata[31] = 0xaa, 0x01
	o.Builder[5] = 0x42
	td := apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain": {{Name: "name", Type: "string"}, {Name: "version", Type: "string"}, {Name: "chainId", Type: "uint256"}, {Name: "verifyingContract", Type: "address"}},
			"Order": {{Name: "salt", Type: "uint256"}, {Name: "maker", Type: "address"}, {Name: "signer", Type: "address"},
				{Name: "tokenId", Type: "uint256"}, {Name: "makerAmount", Type: "uint256"}, {Name: "takerAmount", Type: "uint256"},
				{Name: "side", Type: "uint8"}, {Name: "signatureType", Type: "uint8"}, {Name: "timestamp", Type: "uint256"},
				{Name: "metadata", Type: "bytes32"}, {Name: "builder", Type: "bytes32"}},
		},
		PrimaryType: "Order",
		Domain:      apitypes.TypedDataDomain{Name: d.Name, Version: d.Version, ChainId: math.NewHexOrDecimal256(d.ChainID), VerifyingContract: exchange.Hex()},
		Message: apitypes.TypedDataMessage{
			"salt": o.Salt.String(), "maker": o.Maker.Hex(), "signer": o.Signer.Hex(), "tokenId": o.TokenID.String(),
			"makerAmount": o.MakerAmount.String(), "takerAmount": o.TakerAmount.String(), "side": "1", "signatureType": "2",
			"timestamp": o.Timestamp.String(), "metadata": hexutil.Encode(o.Metadata[:]), "builder": hexutil.Encode(o.Builder[:]),
		},
	}
	want, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Hash(d); !bytes.Equal(got[:], want) {
		t.Errorf("Hash = %s, apitypes = %x", got.Hex(), want)
	}
}

func TestRecoverSignerRefusesBadSignatures(t *testing.T) {
	key := testKey(t)
	hash := crypto.Keccak256Hash([]byte("polybot"))
	sig, err := SignDigest(key, hash)
	if err != nil {
		t.Fatal(err)
	}
	if sig[64] != 27 && sig[64] != 28 {
		t.Fatalf("v = %d, want 27 or 28", sig[64])
	}
	if got, err := RecoverSigner(hash, sig); err != nil || got != anvilAddress {
		t.Fatalf("RecoverSigner = %s, %v", got, err)
	}
	// The same signature with s replaced by n-s (high s) and v flipped recovers the same key in
	// raw ECDSA; it must be refused like the exchange refuses it.
	n := crypto.S256().Params().N
	highS := new(big.Int).Sub(n, new(big.Int).SetBytes(sig[32:64]))
	malleable := append([]byte(nil), sig...)
	highS.FillBytes(malleable[32:64])
	malleable[64] ^= 1 // 27 <-> 28
	tests := []struct {
		name string
		sig  []byte
	}{
		{"a short signature", sig[:64]},
		{"a high-s signature", malleable},
		{"a v of 29", append(append([]byte(nil), sig[:64]...), 29)},
		{"a zero r", append(make([]byte, 32), sig[32:]...)},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if _, err := RecoverSigner(hash, tc.sig); !errors.Is(err, ErrInvalidSignature) {
				t.Errorf("err = %v, want ErrInvalidSignature", err)
			}
		})
	}
	t.Run("a signature over another hash recovers another address", func(t *testing.T) {
		got, err := RecoverSigner(crypto.Keccak256Hash([]byte("other")), sig)
		if err == nil && got == anvilAddress {
			t.Error("signature verified against the wrong hash")
		}
	})
}

func TestRecoverPoly1271RefusesTampering(t *testing.T) {
	key := testKey(t)
	wallet := common.HexToAddress("0x1111111111111111111111111111111111111111")
	d := ExchangeDomain(V2, 137, polymarket.CTFExchangeV2)
	o := &OrderV2{Salt: big.NewInt(1), Maker: wallet, Signer: wallet, TokenID: big.NewInt(5), MakerAmount: big.NewInt(10),
		TakerAmount: big.NewInt(20), SignatureType: Poly1271, Timestamp: big.NewInt(1)}
	sig, _, err := SignV2(key, o, d)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := RecoverPoly1271(o, d, sig); err != nil || got != anvilAddress {
		t.Fatalf("RecoverPoly1271 = %s, %v", got, err)
	}
	other := *o
	other.MakerAmount = big.NewInt(11)
	if _, err := RecoverPoly1271(&other, d, sig); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("changed order: err = %v, want ErrInvalidSignature", err)
	}
	if _, err := RecoverPoly1271(o, ExchangeDomain(V2, 80002, *d.VerifyingContract), sig); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("other chain: err = %v, want ErrInvalidSignature", err)
	}
}

func TestSignRefusesInvalidOrders(t *testing.T) {
	key := testKey(t)
	d := ExchangeDomain(V2, 137, common.Address{1})
	valid := func() *OrderV2 {
		return &OrderV2{Salt: big.NewInt(1), Maker: anvilAddress, Signer: anvilAddress, TokenID: big.NewInt(5),
			MakerAmount: big.NewInt(10), TakerAmount: big.NewInt(20), Timestamp: big.NewInt(1)}
	}
	tests := []struct {
		name   string
		mutate func(o *OrderV2)
	}{
		{"a missing salt", func(o *OrderV2) { o.Salt = nil }},
		{"a salt above 2^53-1", func(o *OrderV2) { o.Salt = big.NewInt(MaxSalt + 1) }},
		{"a negative amount", func(o *OrderV2) { o.MakerAmount = big.NewInt(-1) }},
		{"an amount above uint256", func(o *OrderV2) { o.TakerAmount = new(big.Int).Lsh(big.NewInt(1), 256) }},
		{"a missing timestamp", func(o *OrderV2) { o.Timestamp = nil }},
		{"an unknown side", func(o *OrderV2) { o.Side = 2 }},
		{"an unknown signature type", func(o *OrderV2) { o.SignatureType = 4 }},
		{"an EOA order whose signer is not the maker", func(o *OrderV2) { o.Maker = common.Address{9} }},
	}
	if _, _, err := SignV2(key, valid(), d); err != nil {
		t.Fatalf("valid order refused: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			o := valid()
			tc.mutate(o)
			if _, _, err := SignV2(key, o, d); !errors.Is(err, ErrInvalidOrder) {
				t.Errorf("err = %v, want ErrInvalidOrder", err)
			}
		})
	}
	t.Run("POLY_1271 on a V1 order is refused", func(t *testing.T) {
		o := &OrderV1{Salt: big.NewInt(1), Maker: anvilAddress, Signer: anvilAddress, TokenID: big.NewInt(1), MakerAmount: big.NewInt(1),
			TakerAmount: big.NewInt(1), Expiration: big.NewInt(0), Nonce: big.NewInt(0), FeeRateBps: big.NewInt(0), SignatureType: Poly1271}
		if _, _, err := SignV1(key, o, ExchangeDomain(V1, 137, common.Address{1})); !errors.Is(err, ErrInvalidOrder) {
			t.Errorf("err = %v, want ErrInvalidOrder", err)
		}
	})
	t.Run("a nil key is refused", func(t *testing.T) {
		if _, _, err := SignV2(nil, valid(), d); err == nil {
			t.Error("signed without a key")
		}
	})
}

func TestSaltFor(t *testing.T) {
	tx := common.HexToHash("0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060")
	a, b := SaltFor(tx, 3), SaltFor(tx, 3)
	if a.Cmp(b) != 0 {
		t.Errorf("same fill gave salts %s and %s", a, b)
	}
	seen := map[string]bool{}
	for i := range uint(64) {
		s := SaltFor(tx, i)
		if s.Sign() <= 0 || s.Cmp(big.NewInt(MaxSalt)) > 0 {
			t.Fatalf("salt %s outside (0, 2^53-1]", s)
		}
		seen[s.String()] = true
	}
	seen[SaltFor(common.Hash{1}, 0).String()] = true
	if len(seen) != 65 {
		t.Errorf("65 distinct fills gave %d distinct salts", len(seen))
	}
	// The salt of a fill never changes across releases: a copy re-sent by a newer polybot after
	// a restart must carry the salt the first attempt signed, or the CLOB sees a second order.
	// Pinned values: low 53 bits of Keccak-256("polybot/order-salt/v1" ‖ tx ‖ uint64be(i)),
	// computed once with golang.org/x/crypto/sha3's legacy Keccak, outside SaltFor.
	for i, want := range map[uint]int64{0: 1002800634973590, 3: 8604412181533246} {
		if got := SaltFor(tx, i); got.Cmp(big.NewInt(want)) != 0 {
			t.Errorf("SaltFor(tx, %d) = %s, want the pinned %d", i, got, want)
		}
	}
}
