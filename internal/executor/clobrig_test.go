package executor

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
	"github.com/polybot/polybot/internal/secrets"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// clobToken is the one market of the fake CLOB the executor's live-broker tests trade on.
const (
	clobToken     = "1001"
	clobCondition = "0x1111111111111111111111111111111111111111111111111111111111111111"
)

// startLiveCLOB starts clobsim with clobToken asking askShares at 0.50 and an account holding
// 1,000 USDC, and the live broker (FAK, slippage 0.02) trading on it as that account. edit, if
// set, adjusts both options before anything starts.
func startLiveCLOB(t *testing.T, askShares string, edit func(*clobsim.Options, *broker.CLOBOptions)) (*clobsim.Server, *broker.CLOB, common.Address) {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	addr := crypto.PubkeyToAddress(key.PublicKey)
	d := decimal.RequireFromString
	so := clobsim.Options{
		Markets: []clobsim.Market{{TokenID: clobToken, ConditionID: clobCondition, TickSize: d("0.01"), MinSize: d("5"),
			Asks: []order.Level{{Price: d("0.50"), Size: d(askShares)}}}},
		Balances: map[common.Address]clobsim.Balance{addr: {Collateral: 1000_000_000}},
		Log:      zaptest.NewLogger(t).Named("clobsim"),
	}
	bo := broker.CLOBOptions{
		ChainID: 137, CTFExchange: clobsim.DefaultCTFExchange, NegRiskExchange: clobsim.DefaultNegRiskExchange,
		Key: key, LoadCredentials: secrets.CredentialSource(filepath.Join(t.TempDir(), "api.json")), Slippage: d("0.02"),
		OrderType: order.FAK, Timeout: 5 * time.Second, Log: zaptest.NewLogger(t),
	}
	if edit != nil {
		edit(&so, &bo)
	}
	srv, err := clobsim.New(so)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	bo.BaseURL = srv.URL()
	live, err := broker.NewCLOB(context.Background(), bo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(live.Close)
	return srv, live, addr
}
