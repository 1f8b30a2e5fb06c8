package resolution

import (
	"context"
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
