package broker

import (
	"context"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// positionID is a Protocol V2 position id as the official client's namespace rule has them
// (clob-client-v2 src/protocol.ts: bits 40 to 103 zero): high bits and a low index.
var positionID = new(big.Int).Add(new(big.Int).Lsh(big.NewInt(0x5eed_cafe), 104), big.NewInt(1))

// v3Fixture is a clobsim with a Protocol V2 market (neg_risk set, which ExchangeV3 orders
// ignore) whose outcome id is positionID, and a live broker on it.
func v3Fixture(t *testing.T) *fixture {
	t.Helper()
	return newFixture(t, func(so *clobsim.Options, _ *CLOBOptions) {
		so.Markets = append(so.Markets, clobsim.Market{TokenID: positionID.String(), TickSize: d("0.01"), MinSize: d("5"),
			NegRisk: true, ProtocolV2: true, Asks: []order.Level{{Price: d("0.40"), Size: d("100")}}})
	})
}

// leaderFillLog is the OrderFilled log an exchange emits for a leader's BUY taker fill of
// shares for collateral of token: the V2 event, which ExchangeV3 emits unchanged.
func leaderFillLog(exchange common.Address, token *big.Int, shares, collateral uint64) *types.Log {
	word := func(v *big.Int) []byte { return common.LeftPadBytes(v.Bytes(), 32) }
	u := func(x uint64) []byte { return word(new(big.Int).SetUint64(x)) }
	var data []byte
	for _, w := range [][]byte{u(0), word(token), u(collateral), u(shares), u(0), make([]byte, 32), make([]byte, 32)} {
		data = append(data, w...)
	}
	return &types.Log{Address: exchange, Data: data, BlockNumber: 7, TxHash: common.HexToHash("0xbeef"), Index: 4,
		Topics: []common.Hash{polymarket.OrderFilledV2Topic, common.HexToHash("0x0a"),
			polymarket.LeaderTopic(common.HexToAddress("0x10")), polymarket.LeaderTopic(exchange)}}
}

func copyOf(f polymarket.Fill) Order {
	return Order{Leader: f.Maker, Market: f.Market(), TokenID: f.TokenID, Side: f.Side, Shares: f.Shares, Collateral: f.Collateral, Source: &f}
}

// A leader's fill on ExchangeV3 names the position id in its tokenId; the copy trades that very
// id, signed for ExchangeV3 under EIP-712 domain version "3" (not the neg-risk exchange the
// market's neg_risk would pick), and clobsim, which checks the signature under the domain of
// the market's protocol with its own encoder, accepts it and fills it.
func TestCopyOfAnExchangeV3FillIsSignedUnderDomain3AndFills(t *testing.T) {
	f := v3Fixture(t)
	fill, err := polymarket.DecodeOrderFilled(leaderFillLog(polymarket.ExchangeV3, positionID, 10_000_000, 3_900_000))
	if err != nil {
		t.Fatal(err)
	}
	if fill.TokenID.Cmp(positionID) != 0 || fill.Exchange != polymarket.ExchangeV3 || fill.Side != polymarket.Buy {
		t.Fatalf("decoded fill %+v; want a BUY of position %s on ExchangeV3", fill, positionID)
	}
	o := copyOf(fill)
	p, err := f.broker.Prepare(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	ov := p.Order.Order
	v3 := ov.Hash(order.ExchangeDomain(order.V3, 137, polymarket.ExchangeV3))
	if p.Hash != v3 {
		t.Fatalf("copy hash %s; want the ExchangeV3 domain-3 hash %s (the V2 neg-risk hash is %s)", p.Hash.Hex(), v3.Hex(),
			ov.Hash(order.ExchangeDomain(order.V2, 137, polymarket.NegRiskCTFExchangeV2)).Hex())
	}
	var body struct {
		Order struct {
			TokenID string `json:"tokenId"`
		} `json:"order"`
	}
	if err := json.Unmarshal(p.Body, &body); err != nil || body.Order.TokenID != positionID.String() {
		t.Fatalf("body tokenId %q (%v); want the position id %s", body.Order.TokenID, err, positionID)
	}
	o.Prepared = p
	e, err := f.broker.PlaceOrder(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// A market BUY spends its collateral (10 × 0.41, cut to cents) at the 0.40 ask.
	if e.Shares != 10_250_000 || e.Collateral != 4_100_000 {
		t.Fatalf("copy filled %d shares for %d, want 10.25 for 4.10", e.Shares, e.Collateral)
	}
	if st, ok := f.srv.Order(p.Hash); !ok || st.TokenID != positionID.String() {
		t.Fatalf("clobsim knows the order as %+v (%v); want it on the position", st, ok)
	}
	if bal := f.srv.Balance(f.addr); bal.Tokens[positionID.String()] != int64(e.Shares) {
		t.Fatalf("holder's position balance %d, want the %d shares filled", bal.Tokens[positionID.String()], e.Shares)
	}
}

// clobsim refuses a Protocol V2 market's order signed under the V2 domain, as a CLOB that
// verifies against ExchangeV3 would: the signature recovers another address.
func TestClobsimRefusesAPositionOrderSignedForTheV2Exchange(t *testing.T) {
	f := v3Fixture(t)
	fill, err := polymarket.DecodeOrderFilled(leaderFillLog(polymarket.NegRiskCTFExchangeV2, positionID, 10_000_000, 3_900_000))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.broker.PlaceOrder(context.Background(), copyOf(fill))
	if err == nil || !strings.Contains(err.Error(), "invalid signature") {
		t.Fatalf("a domain-2 order on a Protocol V2 market: %v; want invalid signature", err)
	}
}

// A CTF token keeps its V2 signing next to a Protocol V2 market: a fill on a V2 exchange, or a
// copy whose source does not name its exchange, is signed for the CTF or neg-risk exchange under
// domain version "2", after a position copy and even for a small id that lies in the position
// namespace (1001: polybot does not route by the id's bits).
func TestTokenCopiesStillSignUnderDomain2(t *testing.T) {
	f := v3Fixture(t)
	fill, err := polymarket.DecodeOrderFilled(leaderFillLog(polymarket.ExchangeV3, positionID, 10_000_000, 3_900_000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.broker.PlaceOrder(context.Background(), copyOf(fill)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		token    string
		exchange common.Address
		want     common.Address
	}{
		{"normal market, fill on the CTF exchange", tokenNormal, polymarket.CTFExchangeV2, polymarket.CTFExchangeV2},
		{"neg-risk market, fill on the neg-risk exchange", tokenNeg, polymarket.NegRiskCTFExchangeV2, polymarket.NegRiskCTFExchangeV2},
		{"normal market, source exchange unknown", tokenNormal, common.Address{}, polymarket.CTFExchangeV2},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := copyOrder(c.token, polymarket.Buy, 10*unit, 5*unit)
			o.Source.Exchange = c.exchange
			p, err := f.broker.Prepare(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if want := p.Order.Order.Hash(order.ExchangeDomain(order.V2, 137, c.want)); p.Hash != want {
				t.Fatalf("hash %s, want the domain-2 hash at %s: %s", p.Hash.Hex(), c.want.Hex(), want.Hex())
			}
			o.Prepared = p
			if _, err := f.broker.PlaceOrder(context.Background(), o); err != nil {
				t.Fatalf("clobsim refused the V2 copy: %v", err)
			}
		})
	}
}

// After a restart the intent's order is rebuilt without the exchange of its source fill: a
// journaled ExchangeV3 order restores under domain "3", and teaches the broker that its id is a
// position, so a later copy rebuilt the same way is signed for ExchangeV3 too.
func TestJournaledExchangeV3OrderRestoresAndTeachesThePosition(t *testing.T) {
	f := v3Fixture(t)
	fill, err := polymarket.DecodeOrderFilled(leaderFillLog(polymarket.ExchangeV3, positionID, 10_000_000, 3_900_000))
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.broker.Prepare(context.Background(), copyOf(fill))
	if err != nil {
		t.Fatal(err)
	}
	j, err := p.Journal()
	if err != nil {
		t.Fatal(err)
	}
	g := newFixture(t, func(so *clobsim.Options, _ *CLOBOptions) {
		so.Markets = append(so.Markets, clobsim.Market{TokenID: positionID.String(), TickSize: d("0.01"), MinSize: d("5"),
			ProtocolV2: true, Asks: []order.Level{{Price: d("0.40"), Size: d("100")}}})
	})
	g.broker.maker, g.broker.signer = f.broker.maker, f.broker.signer // the same wallet after a restart
	r, err := g.broker.Restore(j, p.Hash)
	if err != nil {
		t.Fatalf("restore of a journaled ExchangeV3 order: %v", err)
	}
	if r.Hash != p.Hash || string(r.Order.Signature) != string(p.Order.Signature) {
		t.Fatal("the restored order is not the journaled one")
	}
	rebuilt := copyOf(fill)
	rebuilt.Source = &polymarket.Fill{Maker: fill.Maker, Side: fill.Side, TokenID: fill.TokenID, Shares: fill.Shares,
		Collateral: fill.Collateral, TxHash: common.HexToHash("0xbeef02"), LogIndex: 1}
	q, err := g.broker.Prepare(context.Background(), rebuilt)
	if err != nil {
		t.Fatal(err)
	}
	if want := q.Order.Order.Hash(order.ExchangeDomain(order.V3, 137, polymarket.ExchangeV3)); q.Hash != want {
		t.Fatalf("a rebuilt copy of a known position signed as %s, want the domain-3 hash %s", q.Hash.Hex(), want.Hex())
	}
}

// A position's balance is CONDITIONAL-V2 at the CLOB: the broker knows a position it copied
// is one, and clobsim refreshes a position's balance only under that asset type.
func TestAPositionsBalanceIsConditionalV2(t *testing.T) {
	f := v3Fixture(t)
	if f.broker.IsPosition(positionID) {
		t.Fatal("the broker knows the position before any fill on ExchangeV3")
	}
	fill, err := polymarket.DecodeOrderFilled(leaderFillLog(polymarket.ExchangeV3, positionID, 10_000_000, 3_900_000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.broker.PlaceOrder(context.Background(), copyOf(fill)); err != nil {
		t.Fatal(err)
	}
	if !f.broker.IsPosition(positionID) || f.broker.IsPosition(big.NewInt(1001)) {
		t.Fatal("after a copy on ExchangeV3 the broker should know the position, and only it")
	}
	c := f.broker.Client()
	if err := c.UpdateBalanceAllowance(context.Background(), clob.AssetConditionalV2, positionID.String(), 0); err != nil {
		t.Fatalf("CONDITIONAL-V2 refresh of a position: %v", err)
	}
	if err := c.UpdateBalanceAllowance(context.Background(), clob.AssetConditional, positionID.String(), 0); err == nil {
		t.Fatal("clobsim refreshed a position's balance as CONDITIONAL")
	}
	if err := c.UpdateBalanceAllowance(context.Background(), clob.AssetConditional, tokenNormal, 0); err != nil {
		t.Fatalf("CONDITIONAL refresh of a CTF token: %v", err)
	}
}
