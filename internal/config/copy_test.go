package config

import (
	"errors"
	"testing"
)

func TestLeaderSizingOverridesTheCopySection(t *testing.T) {
	cfg, err := Parse([]byte(`
leaders:
  - address: 0x1000000000000000000000000000000000000001
  - address: 0x1000000000000000000000000000000000000002
    mode: percent_balance
    copy_ratio: 0.5
    fixed_usdc: 3
    percent_balance: 2.5
    min_trade_usdc: 2
    max_trade_usdc: 40
copy:
  mode: fixed_usdc
`))
	if err != nil {
		t.Fatal(err)
	}
	plain := cfg.Leaders[0].Sizing(cfg.Copy)
	if plain.Mode != SizeFixedUSDC || plain.CopyRatio.String() != "0.1" || plain.FixedUSDC.String() != "10" ||
		plain.PercentBalance.String() != "1" || plain.MinTradeUSDC.String() != "1" || plain.MaxTradeUSDC.String() != "25" {
		t.Fatalf("leader without overrides: %+v", plain)
	}
	own := cfg.Leaders[1].Sizing(cfg.Copy)
	if own.Mode != SizePercentBalance || own.CopyRatio.String() != "0.5" || own.FixedUSDC.String() != "3" ||
		own.PercentBalance.String() != "2.5" || own.MinTradeUSDC.String() != "2" || own.MaxTradeUSDC.String() != "40" {
		t.Fatalf("leader with overrides: %+v", own)
	}
	// The overrides print back and reload as the same config.
	again, err := Parse([]byte(cfg.Redacted()))
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(cfg, again); len(d) != 0 {
		t.Fatalf("round trip changed %v", d)
	}
}

func TestCopyAndRiskBoundaries(t *testing.T) {
	tests := []struct {
		name, yaml string
		bad        string // "" when valid
	}{
		{"min_trade equal to max_trade", "copy:\n  min_trade_usdc: 25\n  max_trade_usdc: 25\n", ""},
		{"min_price equal to max_price", "copy:\n  min_price: 0.5\n  max_price: 0.5\n", ""},
		{"max_price just under 1", "copy:\n  max_price: 0.999999\n", ""},
		{"percent_balance of exactly 100", "copy:\n  percent_balance: 100\n", ""},
		{"min_order_shares of 0.01", "copy:\n  min_order_shares: 0.01\n", ""},
		{"a 77-digit token id", "copy:\n  allow_tokens: [\"71321045679252212594626385532706912750332728571942532289631379312455583992563\"]\n", ""},
		{"a token id of 2^256", "copy:\n  allow_tokens: [\"115792089237316195423570985008687907853269984665640564039457584007913129639936\"]\n", "copy.allow_tokens[0]"},
		{"market exposure equal to total", "risk:\n  max_market_exposure_usdc: 1000\n", ""},
		{"reset hour 23", "risk:\n  reset_hour_utc: 23\n", ""},
		{"reset hour -1", "risk:\n  reset_hour_utc: -1\n", "risk.reset_hour_utc"},
		{"intents kept exactly twice the dedup ttl", "dedup:\n  ttl: 1h\nstore:\n  intents_max_age: 2h\n", ""},
		{"decisions_max at its bound", "store:\n  decisions_max: 10000000\n", ""},
		{"decisions_max one over", "store:\n  decisions_max: 10000001\n", "store.decisions_max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(oneLeader + tt.yaml))
			var verr *ValidationError
			switch {
			case tt.bad == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case tt.bad != "" && (!errors.As(err, &verr) || !verr.Has(tt.bad)):
				t.Fatalf("err = %v, want a problem with %s", err, tt.bad)
			}
		})
	}
}
