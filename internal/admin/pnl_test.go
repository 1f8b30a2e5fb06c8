package admin

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/store"
)

// Open lots are valued at the watcher's mark when it knows one, else at polybot's last fill
// price, per leader and in total, and the view says which; realised, fees, redeemed and copies
// come from the ledger, and realised today from the day.
func TestPnLMarksAtTheWatchersPriceElseTheLastFill(t *testing.T) {
	alice, bob := common.HexToAddress("0xa1"), common.HexToAddress("0xb0")
	in := PnLInput{PnLBook: store.PnLBook{
		Daily: store.Daily{Realised: -250_000},
		Ledger: []store.LeaderPnL{
			{Leader: alice, Realised: 1_500_000, Fees: 30_000, Redeemed: 5_000_000, Copies: 4},
			{Leader: bob, Realised: -2_000_000, Fees: 10_000, Copies: 1},
		},
		Positions: []store.Position{
			{Token: "7", Shares: 10_000_000, Cost: 4_000_000, LastPrice: 400_000},
			{Token: "8", Shares: 2_000_000, Cost: 1_000_000, LastPrice: 450_000},
		},
		Lots: []store.Lot{
			{Leader: alice, Token: "7", Shares: 6_000_000, Cost: 2_400_000},
			{Leader: bob, Token: "7", Shares: 4_000_000, Cost: 1_600_000},
			{Leader: bob, Token: "8", Shares: 2_000_000, Cost: 1_000_000},
		},
	}}
	in.Mark = func(token string) (uint64, bool) { return 550_000, token == "7" }
	p := PnLOf(in)
	// "7" at the mark 0.55: alice 3.3 - 2.4, bob 2.2 - 1.6; "8" at its last fill 0.45: 0.9 - 1.
	if p.UnrealisedUSDC != "1.4" || p.Marked != 1 || p.AtLastFill != 1 || p.RealisedTodayUSDC != "-0.25" ||
		p.RealisedAllTimeUSDC != "-0.5" || p.FeesUSDC != "0.04" || p.RedeemedUSDC != "5" || p.Copies != 5 {
		t.Fatalf("totals: %+v", p)
	}
	if len(p.Leaders) != 2 {
		t.Fatalf("leaders: %+v", p.Leaders)
	}
	a, b := p.Leaders[0], p.Leaders[1]
	if a.Leader != alice.Hex() {
		a, b = b, a
	}
	if a.UnrealisedUSDC != "0.9" || a.RealisedAllTimeUSDC != "1.5" || a.OpenCostUSDC != "2.4" || a.Copies != 4 {
		t.Errorf("alice: %+v", a)
	}
	if b.UnrealisedUSDC != "0.5" || b.RealisedAllTimeUSDC != "-2" || b.OpenCostUSDC != "2.6" {
		t.Errorf("bob: %+v", b)
	}
	if got := p.Basis(); got != "1 at the watcher's marks, 1 at polybot's last fill prices" {
		t.Errorf("basis %q", got)
	}
	in.Mark = nil
	if p := PnLOf(in); p.UnrealisedUSDC != "-0.1" || p.Basis() != "all at polybot's last fill prices (no mark known)" {
		t.Errorf("without marks: %s, %q", p.UnrealisedUSDC, p.Basis())
	}
}
