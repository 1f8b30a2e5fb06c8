package order

import (
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/vectors"
)

// v3Vectors is testdata/protocol-v2-vectors.json: orders of Protocol V2 markets and their V2
// twins from clob-client-v2's tests, each naming its source and what in it is derived.
type v3Vectors struct {
	Exchanges map[string]struct {
		CTF     common.Address `json:"ctf"`
		NegRisk common.Address `json:"neg_risk"`
		V3      common.Address `json:"v3"`
	} `json:"exchanges"`
	Vectors []struct {
		Name    string `json:"name"`
		Key     string `json:"key"`
		ChainID int64  `json:"chain_id"`
		Route   *struct {
			Position bool `json:"position"`
			NegRisk  bool `json:"neg_risk"`
		} `json:"route"`
		Venue *struct {
			DomainVersion string         `json:"domain_version"`
			Exchange      common.Address `json:"exchange"`
		} `json:"venue"`
		Amounts *struct {
			Kind, Side, Price, Size, Amount, Tick string
		} `json:"amounts"`
		Order struct {
			Salt, TokenID, MakerAmount, TakerAmount, Timestamp string
			Maker, Signer                                      common.Address
			Side                                               string
			SignatureType                                      int `json:"signatureType"`
			Metadata                                           string
			Builder                                            string
		} `json:"order"`
		Expected struct {
			Domain struct {
				Name, Version     string
				ChainID           int64          `json:"chainId"`
				VerifyingContract common.Address `json:"verifyingContract"`
			} `json:"domain"`
			Hash      string         `json:"hash"`
			Signature string         `json:"signature"`
			Body      map[string]any `json:"body"`
		} `json:"expected"`
	} `json:"vectors"`
}

func loadV3Vectors(t *testing.T) v3Vectors {
	t.Helper()
	path := filepath.Join(filepath.Dir(vectors.Path(t)), "protocol-v2-vectors.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f v3Vectors
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	if len(f.Vectors) == 0 {
		t.Fatalf("%s holds no vectors", path)
	}
	return f
}

func bigOf(t *testing.T, s string) *big.Int {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("%q is not a decimal integer", s)
	}
	return v
}

// Orders of Protocol V2 markets are signed as clob-client-v2 signs them: a position id goes to
// ExchangeV3 under domain version "3" whatever neg_risk says, a token id keeps its V2 exchange;
// the amounts, the order hash, the signature and the POST /order body all match the vectors.
func TestProtocolV2OrderVectors(t *testing.T) {
	f := loadV3Vectors(t)
	for _, v := range f.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			key, err := crypto.HexToECDSA(strings.TrimPrefix(v.Key, "0x"))
			if err != nil {
				t.Fatal(err)
			}
			ex, ok := f.Exchanges[big.NewInt(v.ChainID).String()]
			if !ok {
				t.Fatalf("no exchanges for chain %d", v.ChainID)
			}
			var venue Venue
			switch {
			case v.Route != nil:
				venue, err = VenueFor(v.Route.Position, v.Route.NegRisk, Exchanges{CTF: ex.CTF, NegRisk: ex.NegRisk, V3: ex.V3})
				if err != nil {
					t.Fatal(err)
				}
			case v.Venue != nil:
				p, err := ParseProtocol("v" + v.Venue.DomainVersion)
				if err != nil {
					t.Fatal(err)
				}
				venue = Venue{Protocol: p, Exchange: v.Venue.Exchange}
			default:
				t.Fatal("vector has neither route nor venue")
			}
			d := venue.Domain(v.ChainID)
			want := v.Expected.Domain
			if d.Name != want.Name || d.Version != want.Version || d.ChainID != want.ChainID || *d.VerifyingContract != want.VerifyingContract {
				t.Fatalf("domain %s v%s chain %d at %s; want %s v%s chain %d at %s", d.Name, d.Version, d.ChainID, d.VerifyingContract.Hex(),
					want.Name, want.Version, want.ChainID, want.VerifyingContract.Hex())
			}
			o := OrderV2{Salt: bigOf(t, v.Order.Salt), Maker: v.Order.Maker, Signer: v.Order.Signer, TokenID: bigOf(t, v.Order.TokenID),
				MakerAmount: bigOf(t, v.Order.MakerAmount), TakerAmount: bigOf(t, v.Order.TakerAmount), Side: Buy,
				SignatureType: SignatureType(v.Order.SignatureType), Timestamp: bigOf(t, v.Order.Timestamp), Expiration: new(big.Int)}
			for _, b := range []struct {
				in  string
				dst *[32]byte
			}{{v.Order.Metadata, &o.Metadata}, {v.Order.Builder, &o.Builder}} {
				raw, err := hexutil.Decode(b.in)
				if err != nil || len(raw) != 32 {
					t.Fatalf("metadata or builder %q is not 32 bytes of hex", b.in)
				}
				copy(b.dst[:], raw)
			}
			if v.Order.Side != "BUY" {
				t.Fatalf("side %q: the vectors are BUYs", v.Order.Side)
			}
			if a := v.Amounts; a != nil {
				var maker, taker *big.Int
				if a.Kind == "limit" {
					maker, taker, err = LimitAmounts(Buy, decimal.RequireFromString(a.Price), decimal.RequireFromString(a.Size), decimal.RequireFromString(a.Tick))
				} else {
					maker, taker, err = MarketAmounts(V2, Buy, decimal.RequireFromString(a.Price), decimal.RequireFromString(a.Amount), decimal.RequireFromString(a.Tick))
				}
				if err != nil {
					t.Fatal(err)
				}
				if maker.Cmp(o.MakerAmount) != 0 || taker.Cmp(o.TakerAmount) != 0 {
					t.Fatalf("%s amounts %s/%s, want %s/%s", a.Kind, maker, taker, o.MakerAmount, o.TakerAmount)
				}
			}
			sig, hash, err := SignV2(key, &o, d)
			if err != nil {
				t.Fatal(err)
			}
			if hash.Hex() != v.Expected.Hash {
				t.Errorf("order hash %s, want %s", hash.Hex(), v.Expected.Hash)
			}
			if got := hexutil.Encode(sig); got != v.Expected.Signature {
				t.Errorf("signature %s, want %s", got, v.Expected.Signature)
			}
			if v.Expected.Body == nil {
				return
			}
			typ, err := ParseOrderType(v.Expected.Body["orderType"].(string))
			if err != nil {
				t.Fatal(err)
			}
			body, err := SignedOrderV2{Order: o, Signature: sig}.PostOrderBody("key", typ, false)
			if err != nil {
				t.Fatal(err)
			}
			var env struct {
				Order     map[string]any `json:"order"`
				OrderType string         `json:"orderType"`
				PostOnly  bool           `json:"postOnly"`
			}
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatal(err)
			}
			if env.OrderType != v.Expected.Body["orderType"] || env.PostOnly != v.Expected.Body["postOnly"] {
				t.Errorf("envelope %s postOnly=%v, want %v postOnly=%v", env.OrderType, env.PostOnly, v.Expected.Body["orderType"], v.Expected.Body["postOnly"])
			}
			for _, k := range []string{"tokenId", "expiration", "side", "signatureType"} {
				if got, want := env.Order[k], v.Expected.Body[k]; got != want {
					t.Errorf("body order.%s = %v (%T), want %v (%T)", k, got, got, want, want)
				}
			}
			if env.Order["signature"] != v.Expected.Signature {
				t.Errorf("body signature %v, want %s", env.Order["signature"], v.Expected.Signature)
			}
		})
	}
}

// VenueFor needs an ExchangeV3 for a position id, and the live Polygon addresses route as the
// client's Polygon config does.
func TestVenueForPolygon(t *testing.T) {
	ex := Exchanges{CTF: polymarket.CTFExchangeV2, NegRisk: polymarket.NegRiskCTFExchangeV2, V3: polymarket.ExchangeV3}
	for _, c := range []struct {
		position, negRisk bool
		want              Venue
	}{
		{true, false, Venue{V3, polymarket.ExchangeV3}},
		{true, true, Venue{V3, polymarket.ExchangeV3}},
		{false, false, Venue{V2, polymarket.CTFExchangeV2}},
		{false, true, Venue{V2, polymarket.NegRiskCTFExchangeV2}},
	} {
		got, err := VenueFor(c.position, c.negRisk, ex)
		if err != nil || got != c.want {
			t.Errorf("VenueFor(position=%v, negRisk=%v) = %+v, %v; want %+v", c.position, c.negRisk, got, err, c.want)
		}
	}
	if _, err := VenueFor(true, false, Exchanges{CTF: ex.CTF, NegRisk: ex.NegRisk}); err == nil {
		t.Fatal("VenueFor signed a position order with no ExchangeV3")
	}
}
