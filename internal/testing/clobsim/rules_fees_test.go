package clobsim

import (
	"context"
	"strings"
	"testing"
)

// The fee a market charges is announced where the V2 clients read it: GET
// /clob-markets/{condition_id} "fd" {r, e, to}. GET /fee-rate answers only the legacy base_fee
// (1000 on a fee-charging market, 0 on the others), as py-clob-client issue 317 reports.
func TestTheFeeIsAnnouncedByTheMarketDetailsAndFeeRateIsLegacy(t *testing.T) {
	const cond = "0x3333333333333333333333333333333333333333333333333333333333333333"
	s := start(t, Options{Markets: []Market{
		{TokenID: "1", ConditionID: cond, OutcomeName: "Yes", TickSize: d("0.01"), MinSize: d("5"), FeeRateBps: 700, FeeExponent: 2},
		{TokenID: "2", ConditionID: cond, Outcome: 1, OutcomeName: "No", TickSize: d("0.01"), MinSize: d("5"), FeeRateBps: 700, FeeExponent: 2},
		{TokenID: "3", ConditionID: "0x44", TickSize: d("0.01"), MinSize: d("5")},
	}})
	ctx := context.Background()
	code, body := get(t, ctx, s.URL()+"/clob-markets/"+cond, nil)
	for _, want := range []string{`"fd":{"e":2,"r":0.07,"to":true}`, `"mts":0.01`, `"mos":5`, `"t":[{"o":"Yes","t":"1"},{"o":"No","t":"2"}]`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET /clob-markets = %d %s; want %s", code, body, want)
		}
	}
	if code, body := get(t, ctx, s.URL()+"/fee-rate?token_id=1", nil); code != 200 || body != `{"base_fee":1000}` {
		t.Errorf("GET /fee-rate of a fee-charging market = %d %s; want the legacy 1000", code, body)
	}
	if code, body := get(t, ctx, s.URL()+"/fee-rate?token_id=3", nil); code != 200 || body != `{"base_fee":0}` {
		t.Errorf("GET /fee-rate of a fee-free market = %d %s", code, body)
	}
	if code, body := get(t, ctx, s.URL()+"/clob-markets/0x44", nil); code != 200 || strings.Contains(body, `"fd"`) {
		t.Errorf("GET /clob-markets of a fee-free market = %d %s; want no fd", code, body)
	}
	if code, _ := get(t, ctx, s.URL()+"/clob-markets/0x55", nil); code != 404 {
		t.Errorf("GET /clob-markets of an unknown market = %d, want 404", code)
	}
}
