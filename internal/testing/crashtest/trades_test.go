package crashtest

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/shopspring/decimal"
	"golang.org/x/time/rate"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// tradeBook reads what orders matched from GET /data/trades: the CLOB forgets an order once it
// filled (py-clob-client issue 217), so the check of each intent against the CLOB reads the
// order's trades when GET /data/order no longer lists it. One read per token.
type tradeBook struct {
	c     *clob.Client
	token map[string][]clob.Trade
}

// order is the order h of token as its trades tell it: its matched size (FAILED trades not
// counted), or clob.ErrOrderNotFound when no trade of it is listed.
func (b *tradeBook) order(ctx context.Context, token string, h common.Hash) (*clob.OpenOrder, error) {
	if b.token == nil {
		b.token = make(map[string][]clob.Trade)
	}
	ts, ok := b.token[token]
	if !ok {
		var err error
		if ts, err = b.c.Trades(ctx, clob.TradeParams{AssetID: token}); err != nil {
			return nil, fmt.Errorf("trades of token %s: %w", token, err)
		}
		b.token[token] = ts
	}
	found := false
	matched := decimal.Zero
	for _, t := range ts {
		var n decimal.Decimal
		if strings.EqualFold(t.TakerOrderID, h.Hex()) {
			n = t.Size
		}
		for _, m := range t.MakerOrders {
			if strings.EqualFold(m.OrderID, h.Hex()) {
				n = n.Add(m.MatchedAmount)
			}
		}
		if n.IsZero() {
			continue
		}
		found = true
		if clob.TradeStatus(t.Status) != clob.TradeFailed {
			matched = matched.Add(n)
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: %s has no trade either", clob.ErrOrderNotFound, h.Hex())
	}
	return &clob.OpenOrder{ID: h.Hex(), Status: "MATCHED", SizeMatched: matched}, nil
}

// The check reads a filled order's match from its trades once the CLOB has forgotten it, and
// still calls an order nobody knows unknown.
func TestTradeBookReadsAForgottenOrder(t *testing.T) {
	ctx := context.Background()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	addr := crypto.PubkeyToAddress(key.PublicKey)
	d := decimal.RequireFromString
	sim, err := clobsim.New(clobsim.Options{
		Markets:  []clobsim.Market{{TokenID: "7", TickSize: d("0.01"), MinSize: d("5"), Asks: []order.Level{{Price: d("0.50"), Size: d("100")}}}},
		Balances: map[common.Address]clobsim.Balance{addr: {Collateral: 100_000_000}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(""); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	c, err := clob.NewClient(clob.Options{BaseURL: sim.URL(), ChainID: 137, Key: key, RateLimit: rate.Inf})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	creds := clobsim.DeriveCredentials(addr, 0)
	if _, err := c.DeriveAPIKey(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.SetCredentials(creds); err != nil {
		t.Fatal(err)
	}
	maker, taker, err := order.MarketAmounts(order.V2, order.Buy, d("0.50"), d("5"), d("0.01"))
	if err != nil {
		t.Fatal(err)
	}
	o := order.OrderV2{Salt: big.NewInt(1), Maker: addr, Signer: addr, TokenID: big.NewInt(7), MakerAmount: maker, TakerAmount: taker,
		Side: order.Buy, SignatureType: order.EOA, Timestamp: big.NewInt(1), Expiration: new(big.Int)}
	sig, h, err := order.SignV2(key, &o, order.ExchangeDomain(order.V2, 137, clobsim.DefaultCTFExchange))
	if err != nil {
		t.Fatal(err)
	}
	body, err := order.SignedOrderV2{Order: o, Signature: sig}.PostOrderBody(creds.APIKey, order.FAK, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PostOrder(ctx, body); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetOrder(ctx, h.Hex()); !errors.Is(err, clob.ErrOrderNotFound) {
		t.Fatalf("GetOrder of the filled order: %v, want not found", err)
	}
	b := &tradeBook{c: c}
	oo, err := b.order(ctx, "7", h)
	if err != nil || !oo.SizeMatched.Equal(d("10")) {
		t.Fatalf("order from its trades: %+v %v; want 10 matched", oo, err)
	}
	if _, err := b.order(ctx, "7", common.HexToHash("0x01")); !errors.Is(err, clob.ErrOrderNotFound) {
		t.Fatalf("an order nobody knows: %v, want not found", err)
	}
}
