package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/shopspring/decimal"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/secrets"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// A leader's BUY on ExchangeV3, read from the chain by polybot's monitor, is copied by the live
// broker on the same id as a Protocol V2 position order: clobsim, which takes that market's
// orders only when signed for ExchangeV3 under domain "3" (whatever neg_risk says), accepts the
// copy and fills it.
func TestAnExchangeV3LeaderFillIsCopiedOnClobsimUnderDomain3(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	token := s.Markets()[0].String()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	addr := crypto.PubkeyToAddress(key.PublicKey)
	d := decimal.RequireFromString
	srv, err := clobsim.New(clobsim.Options{
		Markets: []clobsim.Market{{TokenID: token, TickSize: d("0.01"), MinSize: d("5"), NegRisk: true, ProtocolV2: true,
			Asks: []order.Level{{Price: d("0.50"), Size: d("100")}}}},
		Balances: map[common.Address]clobsim.Balance{addr: {Collateral: 1000_000_000}},
		Log:      zaptest.NewLogger(t).Named("clobsim"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	live, err := broker.NewCLOB(context.Background(), broker.CLOBOptions{BaseURL: srv.URL(), ChainID: 137,
		CTFExchange: clobsim.DefaultCTFExchange, NegRiskExchange: clobsim.DefaultNegRiskExchange, Key: key,
		LoadCredentials: secrets.CredentialSource(filepath.Join(t.TempDir(), "api.json")), Slippage: d("0.02"),
		OrderType: order.FAK, Timeout: 5 * time.Second, Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(live.Close)
	r := start(t, Options{Config: cfg, Broker: live})
	t.Cleanup(func() { r.stop(t) })

	emitBuy(t, s, polymarket.ExchangeV3)
	waitFor(t, "the ExchangeV3 fill to be copied", 30*time.Second, func() bool { return r.app.Executor().Stats().Copied == 1 })
	if n := srv.Requests(clobsim.RoutePostOrder); n != 1 {
		t.Fatalf("%d orders posted, want the one copy", n)
	}
	if got := srv.Balance(addr).Tokens[token]; got < 10_000_000 {
		t.Fatalf("the copy left %d base units of the position, want at least the leader's 10 shares", got)
	}
	if !live.IsPosition(s.Markets()[0]) {
		t.Fatal("the broker did not learn that the id it copied on ExchangeV3 is a position")
	}
}
