package strategy

import (
	"testing"

	"github.com/polybot/polybot/internal/order"
)

// The market's taker fee counts in every cap: 10 shares for 5 USDC fit a 5 USDC per-trade cap
// alone, not with a 7% fee, so the copy is cut to the most shares whose cost and worst fee fit.
func TestTheFeeCountsInTheCaps(t *testing.T) {
	runDecide(t, []decideCase{
		{"without a fee the copy fits the cap", func(in *Input) { in.Leader.MaxTrade = 5 * usdc }, Copy, 10 * usdc, 5 * usdc, "", false},
		{"with a 7% fee it is cut until cost and fee fit", func(in *Input) {
			in.Leader.MaxTrade = 5 * usdc
			in.Market.FeeRateBps = 700
		}, Reduce, 9_340_000, 4_670_000, LimitMaxTrade, false},
		{"the fee counts against the market exposure too", func(in *Input) {
			in.State.MarketExposure = 95 * usdc // 5 USDC of room
			in.Market.FeeRateBps = 700
		}, Reduce, 9_340_000, 4_670_000, LimitMarket, false},
	})
}

// Decision.Cost, which the executor reserves while the order is under way, is the worst cost
// plus the most the fee can be.
func TestTheCostReservedIncludesTheWorstFee(t *testing.T) {
	in := base()
	in.Market.FeeRateBps = 700
	d := Decide(in)
	if d.Action != Copy || d.Cost != 5*usdc+order.MaxFee(5*usdc, 700) || d.Cost != 5_350_000 {
		t.Fatalf("Decide = %+v; want a cost of 5.35: 5 and a fee of at most 0.35", d)
	}
}

// A BUY below the CLOB's minimum is raised to it when copy.raise_to_minimum is on, within every
// cap and the balance, and skipped naming the key that decided otherwise.
func TestACopyBelowTheCLOBsMinimumIsRaisedOrSkipped(t *testing.T) {
	dollar := func(raise bool) func(in *Input) {
		return func(in *Input) {
			in.Fill.Shares, in.Fill.Collateral = 100*usdc, 10*usdc // price 0.10
			in.Leader.Ratio, in.Leader.MinTrade, in.Rules.MinShares = ratio("0.05"), 0, 0
			in.Market.MinNotional = order.MinMarketableBuy // 5 shares at 0.10: $0.50
			in.Rules.RaiseToMinimum = raise
		}
	}
	with := func(base func(*Input), more func(*Input)) func(*Input) {
		return func(in *Input) { base(in); more(in) }
	}
	runDecide(t, []decideCase{
		{"below $1 with the setting off: skipped, naming it", dollar(false), Skip, 0, 0, LimitRaise, false},
		{"below $1 with the setting on: raised to $1", dollar(true), Copy, 10 * usdc, 1 * usdc, LimitRaise, false},
		{"raised at the price signed, cut to cents", with(dollar(true), func(in *Input) { in.Market.Price = 110_000 }),
			Copy, 9_100_000, 910_000, LimitRaise, false},
		{"a raise past the per-trade cap is skipped, naming the cap", with(dollar(true), func(in *Input) { in.Leader.MaxTrade = 900_000 }),
			Skip, 0, 0, LimitMaxTrade, false},
		{"a raise past the daily spend is skipped, naming it", with(dollar(true), func(in *Input) { in.State.SpentToday = 999_500 * usdc / 1000 }),
			Skip, 0, 0, LimitDailySpend, false},
		{"a raise past the balance is skipped", with(dollar(true), func(in *Input) { in.State.Balance = 999_999 }),
			Skip, 0, 0, LimitRaise, false},
		{"a raise counts its fee in the cap", with(dollar(true), func(in *Input) {
			in.Leader.MaxTrade = 1 * usdc
			in.Market.FeeRateBps = 100
		}), Skip, 0, 0, LimitMaxTrade, false},
		{"below the market's min_order_size: raised to it", with(dollar(true), func(in *Input) {
			in.Market.MinNotional, in.Market.MinShares = 0, 7*usdc
		}), Copy, 7 * usdc, 700_000, LimitRaise, false},
		{"at the minimum nothing is raised", with(dollar(true), func(in *Input) { in.Leader.Ratio = ratio("0.1") }),
			Copy, 10 * usdc, 1 * usdc, "", false},
	})
}
