package strategy

import (
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/config"
)

func TestPolicyFromConfig(t *testing.T) {
	cfg, err := config.Parse([]byte(`
leaders:
  - address: 0x1000000000000000000000000000000000000001
  - address: 0x1000000000000000000000000000000000000002
    enabled: false
    mode: fixed_usdc
    fixed_usdc: 2.5
    min_trade_usdc: 0.5
    max_trade_usdc: 3.000001
copy:
  deny_tokens: ["0042"]
  min_price: 0.05
risk:
  max_open_positions: 7
  daily_loss_limit_usdc: 12.345678
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := PolicyFromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := p.Rules
	if r.MinShares != 5*usdc || r.MinPrice != 50_000 || r.MaxPrice != 970_000 || r.MaxFillAge != 2*time.Minute ||
		r.MaxMarketExposure != 100*usdc || r.MaxLeaderExposure != 500*usdc || r.MaxTotalExposure != 1000*usdc ||
		r.MaxDailySpend != 1000*usdc || r.DailyLossLimit != 12_345_678 || r.MaxOpenPositions != 7 {
		t.Fatalf("rules %+v", r)
	}
	if !r.Deny["42"] || len(r.Allow) != 0 {
		t.Fatalf("a token id with leading zeros must match the fill's: deny %v allow %v", r.Deny, r.Allow)
	}
	a := p.Leader(common.HexToAddress("0x1000000000000000000000000000000000000001"))
	if !a.Enabled || a.Mode != Proportional || a.Ratio.String() != "0.1" || a.Fixed != 10*usdc ||
		a.Percent.String() != "1" || a.MinTrade != usdc || a.MaxTrade != 25*usdc {
		t.Fatalf("leader with defaults %+v", a)
	}
	b := p.Leader(common.HexToAddress("0x1000000000000000000000000000000000000002"))
	if b.Enabled || b.Mode != FixedUSDC || b.Fixed != 2_500_000 || b.MinTrade != 500_000 || b.MaxTrade != 3_000_001 {
		t.Fatalf("leader with overrides %+v", b)
	}
	if p.Leader(common.HexToAddress("0x1000000000000000000000000000000000000003")).Enabled {
		t.Fatal("a leader not in the config is copied")
	}
}

func TestPolicySlippageFollowsTheBroker(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want uint64
	}{
		{"paper fills at the leader's price", "", 0},
		{"paper against the book signs with slippage", "live:\n  paper_book: true\n  slippage: 0.03\n", 30_000},
		{"live signs with slippage", "mode: live\nlive:\n  slippage: 0.02\n", 20_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte("leaders:\n  - address: 0x1000000000000000000000000000000000000001\n" + tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			p, err := PolicyFromConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if p.Rules.Slippage != tc.want || p.Rules.MaxExitAge != 0 {
				t.Fatalf("slippage %d, max exit age %s; want %d and 0", p.Rules.Slippage, p.Rules.MaxExitAge, tc.want)
			}
		})
	}
}
