package resolution

import (
	"context"
	"net/http"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// The market of a token comes from the CLOB: the book's condition id and the token's index in
// GET /markets/{condition_id}.
func TestCLOBMarketsFindsTheConditionAndOutcomeSlot(t *testing.T) {
	cid := "0x" + common.Bytes2Hex(common.HexToHash("0xc0ffee").Bytes())
	tick, size := decimal.RequireFromString("0.01"), decimal.NewFromInt(5)
	srv, err := clobsim.New(clobsim.Options{ChainID: 137, Markets: []clobsim.Market{
		{TokenID: "111", ConditionID: cid, Outcome: 0, TickSize: tick, MinSize: size, Question: "Will it rain in Paris on 1 May?", OutcomeName: "Yes"},
		{TokenID: "222", ConditionID: cid, Outcome: 1, TickSize: tick, MinSize: size, NegRisk: true, OutcomeName: "No"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := clob.NewClient(clob.Options{BaseURL: srv.URL(), ChainID: 137})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	labels := NewLabels(0)
	if _, _, ok := labels.Label("111"); ok {
		t.Fatal("a label before the market was read")
	}
	m, err := CLOBMarkets{Client: c, Labels: labels}.MarketOf(context.Background(), "222")
	if err != nil {
		t.Fatal(err)
	}
	// Reading one token's market labels every token of it, for the copy log lines.
	for token, want := range map[string]string{"111": "Yes", "222": "No"} {
		if q, o, ok := labels.Label(token); !ok || q != "Will it rain in Paris on 1 May?" || o != want {
			t.Errorf("label of %s: %q %q %v, want the question and %q", token, q, o, ok, want)
		}
	}
	if m.Condition != common.HexToHash(cid) || m.Outcome != 1 || m.Slots != 2 || !m.NegRisk {
		t.Fatalf("market %+v", m)
	}
	if _, err := (CLOBMarkets{Client: c}).MarketOf(context.Background(), "333"); err == nil {
		t.Fatal("a token without a book has a market")
	}
}

// A short market that closes before the watcher looks: the CLOB answers /book for it with 404
// ("No orderbook exists for the requested token id", the answer clobsim gives a token without a
// book). The condition id the broker read from its first book read is kept (Conditions, fed
// by clob.Options.OnBook), so the watcher still learns the market from GET /markets, which
// lists closed markets, and can resolve the position and free its limits.
func TestTheConditionIsKeptFromTheFirstBookRead(t *testing.T) {
	cid := "0x" + common.Bytes2Hex(common.HexToHash("0xbeef").Bytes())
	tick, size := decimal.RequireFromString("0.01"), decimal.NewFromInt(5)
	srv, err := clobsim.New(clobsim.Options{ChainID: 137, Markets: []clobsim.Market{
		{TokenID: "111", ConditionID: cid, Outcome: 0, TickSize: tick, MinSize: size},
		{TokenID: "222", ConditionID: cid, Outcome: 1, TickSize: tick, MinSize: size, NegRisk: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	known := NewConditions()
	brokerSide, err := clob.NewClient(clob.Options{BaseURL: srv.URL(), ChainID: 137, OnBook: known.Note})
	if err != nil {
		t.Fatal(err)
	}
	defer brokerSide.Close()
	if _, err := brokerSide.Market(context.Background(), "222"); err != nil { // the copy's first look
		t.Fatal(err)
	}
	// The market closes: its book is gone.
	srv.Override(clobsim.RouteBook, func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"No orderbook exists for the requested token id"}`))
	})
	c, err := clob.NewClient(clob.Options{BaseURL: srv.URL(), ChainID: 137, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := (CLOBMarkets{Client: c}).MarketOf(context.Background(), "222"); err == nil {
		t.Fatal("the closed market's book was read: the test does not close it")
	}
	m, err := CLOBMarkets{Client: c, Known: known}.MarketOf(context.Background(), "222")
	if err != nil {
		t.Fatalf("the market of a closed market's token: %v", err)
	}
	if m.Condition != common.HexToHash(cid) || m.Outcome != 1 || m.Slots != 2 || !m.NegRisk {
		t.Fatalf("market %+v", m)
	}
}
