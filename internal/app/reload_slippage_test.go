package app

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"
)

// TestReloadKeepsTheSlippageTheBrokerSignsWith: live.* takes effect on restart, so the broker
// keeps signing at the start's slippage; a reload that changes live.slippage (or turns on
// live.paper_book) must not make the limits reserve a BUY's worst cost at another price.
func TestReloadKeepsTheSlippageTheBrokerSignsWith(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	cfg.Live.PaperBook = false // plain paper: copies fill at the leader's price, slippage 0
	a, err := New(context.Background(), Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	before := a.Executor().Strategy().Rules.Slippage

	next := *cfg
	next.Live.PaperBook = true
	next.Live.Slippage = decimal.RequireFromString("0.05")
	next.Copy.CopyRatio = decimal.RequireFromString("0.5") // applies at once
	if err := a.Apply(&next); err != nil {
		t.Fatal(err)
	}
	p := a.Executor().Strategy()
	if p.Rules.Slippage != before {
		t.Fatalf("slippage of the limits after a reload: %d, want the %d the broker signs with until a restart", p.Rules.Slippage, before)
	}
	if got := a.Config().Copy.CopyRatio.String(); got != "0.5" {
		t.Fatalf("copy ratio after reload %s, want 0.5 (the reload applied)", got)
	}
}
