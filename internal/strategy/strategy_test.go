package strategy

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"
	"go.uber.org/goleak"

	"github.com/polybot/polybot/internal/money"
	"github.com/polybot/polybot/internal/polymarket"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const usdc = Unit // one USDC, one share

var (
	leaderAddr = common.HexToAddress("0x1000000000000000000000000000000000000001")
	token      = big.NewInt(123)
	now        = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
)

// base is a leader BUY of 100 shares for 50 USDC (price 0.5), one minute old, under the
// default config's settings, with nothing held.
func base() Input {
	return Input{
		Fill: polymarket.Fill{Maker: leaderAddr, Side: polymarket.Buy, TokenID: token,
			Shares: 100 * usdc, Collateral: 50 * usdc},
		FillTime: now.Add(-time.Minute),
		Now:      now,
		Leader: Leader{Enabled: true, Mode: Proportional, Ratio: decimal.RequireFromString("0.1"),
			Fixed: 10 * usdc, Percent: decimal.NewFromInt(1), MinTrade: 1 * usdc, MaxTrade: 25 * usdc},
		Rules: Rules{MinShares: 5 * usdc, MinPrice: 30_000, MaxPrice: 970_000, MaxFillAge: 2 * time.Minute,
			MaxMarketExposure: 100 * usdc, MaxLeaderExposure: 500 * usdc, MaxTotalExposure: 1000 * usdc,
			MaxDailySpend: 1000 * usdc, DailyLossLimit: 200 * usdc, MaxOpenPositions: 50},
		State: State{Balance: 1000 * usdc},
	}
}

func ratio(s string) decimal.Decimal { return decimal.RequireFromString(s) }

type decideCase struct {
	name   string
	edit   func(in *Input)
	action Action
	shares uint64
	cost   uint64
	limit  string
	trip   bool
}

func runDecide(t *testing.T, tests []decideCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			if tt.edit != nil {
				tt.edit(&in)
			}
			d := Decide(in)
			if d.Action != tt.action || d.Shares != tt.shares || d.Collateral != tt.cost || d.Limit != tt.limit || d.TripBreaker != tt.trip {
				t.Fatalf("Decide = %s %s shares for %s USDC, limit %q, trip %v (%s);\nwant %s %s shares for %s USDC, limit %q, trip %v",
					d.Action, Units(d.Shares), Units(d.Collateral), d.Limit, d.TripBreaker, d.Reason,
					tt.action, Units(tt.shares), Units(tt.cost), tt.limit, tt.trip)
			}
			if d.Reason == "" {
				t.Error("decision without a reason")
			}
			if d.Side != in.Fill.Side {
				t.Errorf("side %s, want the leader's %s", d.Side, in.Fill.Side)
			}
			if d.Action == Skip && (d.Shares != 0 || d.Collateral != 0) {
				t.Error("a skip carries an order size")
			}
		})
	}
}

func TestBuySizingModes(t *testing.T) {
	runDecide(t, []decideCase{
		{"proportional copies ratio x leader shares at the leader's price", nil, Copy, 10 * usdc, 5 * usdc, "", false},
		{"proportional truncates to 0.01 share, never rounds up", func(in *Input) {
			in.Leader.Ratio = ratio("0.10009999") // 10.009999 shares
		}, Copy, 10_000_000, 5 * usdc, "", false},
		{"fixed_usdc buys the same USDC", func(in *Input) { in.Leader.Mode = FixedUSDC }, Copy, 20 * usdc, 10 * usdc, "", false},
		{"fixed_usdc at price 0.3 buys the most whole 0.01 shares within the amount", func(in *Input) {
			in.Leader.Mode = FixedUSDC
			in.Fill.Collateral = 30 * usdc
		}, Copy, 33_330_000, 9_999_000, "", false},
		{"percent_balance takes a percentage of the balance", func(in *Input) {
			in.Leader.Mode = PercentBalance // 1% of 1000
		}, Copy, 20 * usdc, 10 * usdc, "", false},
		{"percent_balance with a fractional percent", func(in *Input) {
			in.Leader.Mode, in.Leader.Percent = PercentBalance, ratio("0.55") // 5.5 USDC
		}, Copy, 11 * usdc, 5_500_000, "", false},
		{"percent_balance with no balance skips", func(in *Input) {
			in.Leader.Mode, in.State.Balance = PercentBalance, 0
		}, Skip, 0, 0, "", false},
		{"unknown mode skips", func(in *Input) { in.Leader.Mode = "double" }, Skip, 0, 0, "", false},
	})
}

func TestBuyMinimumsAndMaximumPerTrade(t *testing.T) {
	runDecide(t, []decideCase{
		{"exactly max per trade is copied in full", func(in *Input) {
			in.Leader.Ratio, in.Leader.MaxTrade = ratio("1"), 50*usdc
		}, Copy, 100 * usdc, 50 * usdc, "", false},
		{"one base unit over max per trade is reduced to fit", func(in *Input) {
			in.Leader.Ratio, in.Leader.MaxTrade = ratio("1"), 50*usdc-1
		}, Reduce, 99_990_000, 49_995_000, LimitMaxTrade, false},
		{"max per trade cuts a big copy to its amount", func(in *Input) {
			in.Leader.Ratio = ratio("1")
		}, Reduce, 50 * usdc, 25 * usdc, LimitMaxTrade, false},
		{"exactly the minimum order size is copied", func(in *Input) {
			in.Leader.Ratio, in.Leader.MinTrade = ratio("0.05"), 1
		}, Copy, 5 * usdc, 2_500_000, "", false},
		{"0.01 share below the minimum order size is skipped, not rounded up", func(in *Input) {
			in.Leader.Ratio, in.Leader.MinTrade = ratio("0.0499"), 1
		}, Skip, 0, 0, LimitMinShares, false},
		{"dust below 0.01 share is skipped", func(in *Input) {
			in.Leader.Ratio, in.Rules.MinShares = ratio("0.00009"), 0
		}, Skip, 0, 0, LimitMinShares, false},
		{"exactly the minimum trade is copied", func(in *Input) {
			in.Leader.MinTrade = 5 * usdc
		}, Copy, 10 * usdc, 5 * usdc, "", false},
		{"one base unit below the minimum trade is skipped", func(in *Input) {
			in.Leader.MinTrade = 5*usdc + 1
		}, Skip, 0, 0, LimitMinTrade, false},
	})
}

func TestBuyFilters(t *testing.T) {
	runDecide(t, []decideCase{
		{"price exactly at min_price is copied", func(in *Input) {
			in.Fill.Collateral, in.Leader.Ratio = 3*usdc, ratio("1") // 0.03
		}, Copy, 100 * usdc, 3 * usdc, "", false},
		{"price one micro-USDC under min_price is skipped", func(in *Input) {
			in.Fill.Collateral, in.Leader.Ratio = 2_999_900, ratio("1") // 0.029999
		}, Skip, 0, 0, LimitMinPrice, false},
		{"price exactly at max_price is copied", func(in *Input) {
			in.Fill.Collateral = 97 * usdc
		}, Copy, 10 * usdc, 9_700_000, "", false},
		{"price one micro-USDC over max_price is skipped", func(in *Input) {
			in.Fill.Collateral = 97_000_100 // 0.970001
		}, Skip, 0, 0, LimitMaxPrice, false},
		{"a denied token is skipped", func(in *Input) {
			in.Rules.Deny = map[string]bool{"123": true}
		}, Skip, 0, 0, LimitDenyTokens, false},
		{"a token off a non-empty allow list is skipped", func(in *Input) {
			in.Rules.Allow = map[string]bool{"124": true}
		}, Skip, 0, 0, LimitAllowTokens, false},
		{"a token on the allow list is copied", func(in *Input) {
			in.Rules.Allow = map[string]bool{"123": true}
		}, Copy, 10 * usdc, 5 * usdc, "", false},
		{"a fill exactly max_fill_age old is copied", func(in *Input) {
			in.FillTime = now.Add(-2 * time.Minute)
		}, Copy, 10 * usdc, 5 * usdc, "", false},
		{"a fill 1ns older than max_fill_age is skipped", func(in *Input) {
			in.FillTime = now.Add(-2*time.Minute - 1)
		}, Skip, 0, 0, LimitMaxFillAge, false},
		{"a fill without a block time is skipped", func(in *Input) {
			in.FillTime = time.Time{}
		}, Skip, 0, 0, LimitMaxFillAge, false},
		{"a disabled leader is not copied", func(in *Input) {
			in.Leader.Enabled = false
		}, Skip, 0, 0, LimitEnabled, false},
		{"a removed fill is skipped", func(in *Input) { in.Fill.Removed = true }, Skip, 0, 0, "", false},
		{"a fill without shares is skipped", func(in *Input) { in.Fill.Shares = 0 }, Skip, 0, 0, "", false},
		{"a fill without collateral is skipped", func(in *Input) { in.Fill.Collateral = 0 }, Skip, 0, 0, "", false},
		{"a fill without a token is skipped", func(in *Input) { in.Fill.TokenID = nil }, Skip, 0, 0, "", false},
		{"a fill with an unknown side is skipped", func(in *Input) { in.Fill.Side = 7 }, Skip, 0, 0, "", false},
	})
}

func TestBuyRiskLimits(t *testing.T) {
	exposure := []struct {
		name  string
		limit string
		set   func(s *State, v uint64)
		max   uint64
	}{
		{"market exposure", LimitMarket, func(s *State, v uint64) { s.MarketExposure, s.MarketShares = v, 1 }, 100 * usdc},
		{"leader exposure", LimitLeader, func(s *State, v uint64) { s.LeaderExposure = v }, 500 * usdc},
		{"total exposure", LimitTotal, func(s *State, v uint64) { s.TotalExposure = v }, 1000 * usdc},
		{"daily spend", LimitDailySpend, func(s *State, v uint64) { s.SpentToday = v }, 1000 * usdc},
	}
	var tests []decideCase
	for _, e := range exposure {
		tests = append(tests,
			decideCase{"a copy reaching exactly the " + e.name + " limit is copied", func(in *Input) {
				e.set(&in.State, e.max-5*usdc)
			}, Copy, 10 * usdc, 5 * usdc, "", false},
			decideCase{"a copy one base unit over the " + e.name + " limit is reduced", func(in *Input) {
				e.set(&in.State, e.max-5*usdc+1)
			}, Reduce, 9_990_000, 4_995_000, e.limit, false},
			decideCase{"a copy whose room under the " + e.name + " limit is below the minimum is skipped", func(in *Input) {
				e.set(&in.State, e.max-2_499_999) // room for 4.99 shares
			}, Skip, 0, 0, e.limit, false},
			decideCase{"at the " + e.name + " limit nothing is bought", func(in *Input) {
				e.set(&in.State, e.max)
			}, Skip, 0, 0, e.limit, false},
			decideCase{"over the " + e.name + " limit nothing is bought", func(in *Input) {
				e.set(&in.State, e.max+1)
			}, Skip, 0, 0, e.limit, false},
		)
	}
	tests = append(tests,
		decideCase{"the tightest limit is the one named", func(in *Input) {
			in.State.TotalExposure = 1000*usdc - 4*usdc // room 4
			in.State.SpentToday = 1000*usdc - 3*usdc    // room 3
		}, Reduce, 6 * usdc, 3 * usdc, LimitDailySpend, false},
		decideCase{"a reduced copy below min_trade_usdc is skipped naming the limit", func(in *Input) {
			in.Leader.MinTrade = 5 * usdc
			in.State.SpentToday = 1000*usdc - 4*usdc
		}, Skip, 0, 0, LimitDailySpend, false},
		decideCase{"a new position when max_open_positions are open is skipped", func(in *Input) {
			in.State.OpenPositions = 50
		}, Skip, 0, 0, LimitOpenPositions, false},
		decideCase{"a new position reaching exactly max_open_positions is copied", func(in *Input) {
			in.State.OpenPositions = 49
		}, Copy, 10 * usdc, 5 * usdc, "", false},
		decideCase{"adding to an open position is allowed at max_open_positions", func(in *Input) {
			in.State.OpenPositions, in.State.MarketShares, in.State.MarketExposure = 50, 10*usdc, 5*usdc
		}, Copy, 10 * usdc, 5 * usdc, "", false},
		decideCase{"a loss of exactly the daily loss limit still copies", func(in *Input) {
			in.State.PnLToday = -200 * usdc
		}, Copy, 10 * usdc, 5 * usdc, "", false},
		decideCase{"a loss one base unit beyond the limit trips the breaker", func(in *Input) {
			in.State.PnLToday = -200*usdc - 1
		}, Skip, 0, 0, LimitDailyLoss, true},
		decideCase{"the largest possible loss trips the breaker", func(in *Input) {
			in.State.PnLToday = -1 << 63
		}, Skip, 0, 0, LimitDailyLoss, true},
		decideCase{"a tripped breaker skips buys", func(in *Input) {
			in.State.BreakerTripped = true
		}, Skip, 0, 0, LimitDailyLoss, false},
	)
	runDecide(t, tests)
}

// sell is the base input turned into a leader SELL of 50 of 100 shares, with 10 held.
func sell(edit func(in *Input)) func(in *Input) {
	return func(in *Input) {
		in.Fill.Side, in.Fill.Shares, in.Fill.Collateral = polymarket.Sell, 50*usdc, 25*usdc
		in.State.Held, in.State.MarketShares, in.State.MarketExposure = 10*usdc, 10*usdc, 5*usdc
		in.State.LeaderHeld, in.State.LeaderKnown = 100*usdc, true
		if edit != nil {
			edit(in)
		}
	}
}

func TestSells(t *testing.T) {
	runDecide(t, []decideCase{
		{"the same fraction of ours as the leader sold of theirs", sell(nil), Copy, 5 * usdc, 2_500_000, "", false},
		{"the leader selling out sells all we hold", sell(func(in *Input) {
			in.Fill.Shares, in.Fill.Collateral = 100*usdc, 50*usdc
		}), Copy, 10 * usdc, 5 * usdc, "", false},
		{"a remainder below the minimum order is sold too", sell(func(in *Input) {
			in.Fill.Shares, in.Fill.Collateral = 60*usdc, 30*usdc // 6 of 10, 4 would remain
		}), Copy, 10 * usdc, 5 * usdc, "", false},
		{"an unknown leader position sells ratio x leader shares", sell(func(in *Input) {
			in.State.LeaderKnown, in.State.LeaderHeld = false, 0
		}), Copy, 5 * usdc, 2_500_000, "", false},
		{"a leader selling more than we saw it buy sells ratio x leader shares", sell(func(in *Input) {
			in.State.LeaderHeld = 49 * usdc
		}), Copy, 5 * usdc, 2_500_000, "", false},
		{"ratio x leader shares is capped at what we hold", sell(func(in *Input) {
			in.State.LeaderKnown = false
			in.Fill.Shares, in.Fill.Collateral = 500*usdc, 250*usdc
		}), Copy, 10 * usdc, 5 * usdc, "", false},
		{"nothing held, nothing sold", sell(func(in *Input) { in.State.Held = 0 }), Skip, 0, 0, "", false},
		{"a position below the minimum order cannot be sold", sell(func(in *Input) {
			in.State.Held = 5*usdc - ShareStep
		}), Skip, 0, 0, LimitMinShares, false},
		{"a position of exactly the minimum order is sold whole", sell(func(in *Input) {
			in.State.Held = 5 * usdc
		}), Copy, 5 * usdc, 2_500_000, "", false},
		{"sells are never blocked by exposure, spend, breaker, price or lists", sell(func(in *Input) {
			in.State.MarketExposure, in.State.LeaderExposure, in.State.TotalExposure = 1e12, 1e12, 1e12
			in.State.SpentToday, in.State.PnLToday, in.State.BreakerTripped = 1e12, -1e12, true
			in.State.OpenPositions = 1000
			in.Fill.Collateral = 49_500_000 // price 0.99
			in.Rules.Deny = map[string]bool{"123": true}
			in.Rules.Allow = map[string]bool{"1": true}
		}), Copy, 5 * usdc, 4_950_000, "", false},
		{"a sell older than copy.max_exit_age is skipped", sell(func(in *Input) {
			in.FillTime, in.Rules.MaxExitAge = now.Add(-time.Hour), 2*time.Minute
		}), Skip, 0, 0, LimitMaxExitAge, false},
		{"a disabled leader's sell is not copied", sell(func(in *Input) {
			in.Leader.Enabled = false
		}), Skip, 0, 0, LimitEnabled, false},
	})
}

func TestSellNeverExceedsHeld(t *testing.T) {
	// Whatever the leader sells, a copied SELL is within what we hold.
	for _, held := range []uint64{1, ShareStep, 5 * usdc, 7_777_777, 1e12} {
		for _, leaderSold := range []uint64{1, 3 * usdc, 50 * usdc, 1e15} {
			for _, known := range []bool{false, true} {
				in := base()
				sell(nil)(&in)
				in.Rules.MinShares = 0
				in.State.Held, in.State.LeaderKnown, in.State.LeaderHeld = held, known, 1e14
				in.Fill.Shares, in.Fill.Collateral = leaderSold, leaderSold/2+1
				d := Decide(in)
				if d.Shares > held {
					t.Fatalf("held %d, leader sold %d (known %v): sells %d", held, leaderSold, known, d.Shares)
				}
			}
		}
	}
}

func TestActionNames(t *testing.T) {
	for a, want := range map[Action]string{Skip: "skip", Copy: "copy", Reduce: "reduce", 9: "Action(9)"} {
		if a.String() != want {
			t.Errorf("%d.String() = %q, want %q", a, a.String(), want)
		}
	}
	if Skip.Places() || !Copy.Places() || !Reduce.Places() {
		t.Error("only copy and reduce place orders")
	}
}

func TestReasonsReadAsSentences(t *testing.T) {
	in := base()
	in.State.SpentToday = 1000*usdc - 3*usdc
	d := Decide(in)
	if !strings.Contains(d.Reason, "reduced from 10 to 6 shares") || !strings.Contains(d.Reason, LimitDailySpend) {
		t.Fatalf("reason %q does not say what was reduced and why", d.Reason)
	}
}

// slipped is base() on a broker that signs BUYs up to 0.02 above the leader's price.
func slipped(edit func(in *Input)) func(in *Input) {
	return func(in *Input) {
		in.Rules.Slippage = 20_000
		if edit != nil {
			edit(in)
		}
	}
}

func TestCapsUseTheWorstPriceSigned(t *testing.T) {
	// At a leader price of 0.05 with 0.02 slippage an order may be signed at 0.07: 500
	// shares for max_trade_usdc 25 would pay up to 35 USDC.
	at005 := func(edit func(in *Input)) func(in *Input) {
		return slipped(func(in *Input) {
			in.Fill.Shares, in.Fill.Collateral = 10_000*usdc, 500*usdc // price 0.05
			if edit != nil {
				edit(in)
			}
		})
	}
	cases := []struct {
		name   string
		edit   func(in *Input)
		action Action
		shares uint64
		cost   uint64 // worst cost: what the caps and reservations see
		limit  string
	}{
		{"max per trade caps the worst cost, not the cost at the leader's price", at005(func(in *Input) {
			in.Leader.Ratio = ratio("0.05") // 500 shares
		}), Reduce, 357_140_000, 24_999_800, LimitMaxTrade},
		{"fixed_usdc pays at most its amount at the worst price", at005(func(in *Input) {
			in.Leader.Mode = FixedUSDC // 10 USDC
		}), Copy, 142_850_000, 9_999_500, ""},
		{"market exposure room is measured at the worst price", at005(func(in *Input) {
			in.Leader.Ratio = ratio("0.02") // 200 shares, 14 USDC at worst
			in.State.MarketExposure = 90 * usdc
		}), Reduce, 142_850_000, 9_999_500, LimitMarket},
		{"daily spend room is measured at the worst price", at005(func(in *Input) {
			in.Leader.Ratio = ratio("0.02")
			in.State.SpentToday = 993 * usdc
		}), Reduce, 100 * usdc, 7 * usdc, LimitDailySpend},
		{"a copy within every cap at the worst price is copied in full", at005(func(in *Input) {
			in.Leader.Ratio = ratio("0.01") // 100 shares, 7 USDC at worst
		}), Copy, 100 * usdc, 7 * usdc, ""},
		{"the worst price is never above 1", slipped(func(in *Input) {
			in.Fill.Collateral = 99 * usdc // price 0.99
			in.Rules.MaxPrice = 0
			in.Leader.Ratio = ratio("0.2") // 20 shares, at most 20 USDC
		}), Copy, 20 * usdc, 20 * usdc, ""},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			tt.edit(&in)
			d := Decide(in)
			if d.Action != tt.action || d.Shares != tt.shares || d.Cost != tt.cost || d.Limit != tt.limit {
				t.Fatalf("Decide = %s %s shares costing at most %s USDC, limit %q (%s);\nwant %s %s shares costing at most %s USDC, limit %q",
					d.Action, Units(d.Shares), Units(d.Cost), d.Limit, d.Reason, tt.action, Units(tt.shares), Units(tt.cost), tt.limit)
			}
			// The order signed at leader price + slippage never pays more than Cost.
			signed := new(big.Int).Mul(new(big.Int).SetUint64(d.Shares), new(big.Int).SetUint64(min(Unit,
				money.MulDiv(in.Fill.Collateral, Unit, in.Fill.Shares)+in.Rules.Slippage)))
			signed.Quo(signed, big.NewInt(Unit))
			if signed.Uint64() > d.Cost {
				t.Fatalf("signed at the worst price the order pays %s USDC, more than its cost %s", Units(signed.Uint64()), Units(d.Cost))
			}
		})
	}
}

func TestOldExitsAreMirrored(t *testing.T) {
	runDecide(t, []decideCase{
		{"a leader exit hours old is still mirrored while we hold the token", sell(func(in *Input) {
			in.FillTime = now.Add(-6 * time.Hour)
			in.Rules.MaxExitAge = 0
		}), Copy, 5 * usdc, 2_500_000, "", false},
		{"an exit of unknown time is mirrored", sell(func(in *Input) {
			in.FillTime = time.Time{}
		}), Copy, 5 * usdc, 2_500_000, "", false},
		{"copy.max_exit_age, when set, skips older exits", sell(func(in *Input) {
			in.FillTime = now.Add(-6 * time.Hour)
			in.Rules.MaxExitAge = time.Hour
		}), Skip, 0, 0, LimitMaxExitAge, false},
		{"a BUY as old is still skipped by copy.max_fill_age", func(in *Input) {
			in.FillTime = now.Add(-6 * time.Hour)
		}, Skip, 0, 0, LimitMaxFillAge, false},
	})
}

func TestDustIsSoldWholeWhenTheLeaderExits(t *testing.T) {
	dust := func(edit func(in *Input)) func(in *Input) {
		return sell(func(in *Input) {
			in.State.Held = 3 * usdc // below the 5-share minimum
			if edit != nil {
				edit(in)
			}
		})
	}
	runDecide(t, []decideCase{
		{"a partial exit leaves dust held, reported as such", dust(nil), Skip, 0, 0, LimitMinShares, false},
		{"the leader's full exit sells the dust whole", dust(func(in *Input) {
			in.Fill.Shares, in.Fill.Collateral = 100*usdc, 50*usdc
		}), Copy, 3 * usdc, 1_500_000, "", false},
	})
	in := base()
	dust(func(in *Input) { in.Fill.Shares, in.Fill.Collateral = 100*usdc, 50*usdc })(&in)
	if d := Decide(in); !d.Whole {
		t.Fatalf("the sale of the whole remainder is not marked whole: %+v", d)
	}
	in = base()
	dust(nil)(&in)
	if d := Decide(in); !strings.Contains(d.Reason, "dust") {
		t.Fatalf("skip reason %q does not say dust", d.Reason)
	}
}
