package config

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Limits of the copy, risk and store sections.
const (
	maxDecisions  = 10_000_000
	usdcPlaces    = 6 // USDC has 6 decimals: an amount must be a whole number of base units
	sharePlaces   = 2 // orders are sized on a 0.01-share grid
	wantAmount    = "an amount > 0 with at most 6 decimals, such as 25 or 0.5"
	wantTokenID   = "a decimal outcome token id (fills name tokens only; condition ids and slugs cannot be matched)"
	minStoreAge   = time.Hour
	wantStoreAge  = "a duration of at least 1h"
	maxResetHour  = 23
	maxPercentage = 100
)

var (
	sizeModes    = []string{SizeProportional, SizeFixedUSDC, SizePercentBalance}
	hundred      = decimal.NewFromInt(maxPercentage)
	one          = decimal.NewFromInt(1)
	maxTokenID   = new(big.Int).Lsh(big.NewInt(1), 256)
	wantSizeMode = "one of " + strings.Join(sizeModes, ", ")
)

// validAmount reports whether d is a positive USDC amount exact in base units.
func validAmount(d decimal.Decimal) bool {
	return d.IsPositive() && d.Equal(d.Truncate(usdcPlaces))
}

func validPercent(d decimal.Decimal) bool {
	return d.IsPositive() && d.LessThanOrEqual(hundred) && d.Equal(d.Truncate(usdcPlaces))
}

// validTokenID reports whether s is a decimal uint256.
func validTokenID(s string) bool {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return false
	}
	n, ok := new(big.Int).SetString(s, 10)
	return ok && n.Cmp(maxTokenID) < 0
}

// copyProblems checks the copy, risk and store sections.
func (c *Config) copyProblems() []Problem {
	var ps []Problem
	add := func(key, value, want string) {
		ps = append(ps, Problem{Key: key, Value: value, Want: want})
	}
	amount := func(key string, d decimal.Decimal) bool {
		if !validAmount(d) {
			add(key, d.String(), wantAmount)
			return false
		}
		return true
	}

	// copy
	cp := c.Copy
	if !oneOf(cp.Mode, sizeModes) {
		add("copy.mode", cp.Mode, wantSizeMode)
	}
	if !validRatio(cp.CopyRatio) {
		add("copy.copy_ratio", cp.CopyRatio.String(), "a ratio > 0 and <= 10")
	}
	amount("copy.fixed_usdc", cp.FixedUSDC)
	if !validPercent(cp.PercentBalance) {
		add("copy.percent_balance", cp.PercentBalance.String(), "a percentage > 0 and <= 100, such as 2.5")
	}
	okMin := amount("copy.min_trade_usdc", cp.MinTradeUSDC)
	if !validAmount(cp.MaxTradeUSDC) {
		add("copy.max_trade_usdc", cp.MaxTradeUSDC.String(), wantAmount)
	} else if okMin && cp.MinTradeUSDC.GreaterThan(cp.MaxTradeUSDC) {
		add("copy.max_trade_usdc", cp.MaxTradeUSDC.String(), "an amount >= copy.min_trade_usdc ("+cp.MinTradeUSDC.String()+")")
	}
	if !cp.MinOrderShares.IsPositive() || !cp.MinOrderShares.Equal(cp.MinOrderShares.Truncate(sharePlaces)) {
		add("copy.min_order_shares", cp.MinOrderShares.String(), "a share count > 0 on the 0.01 grid, such as 5")
	}
	price := func(key string, d decimal.Decimal) bool {
		if !d.IsPositive() || !d.LessThan(one) || !d.Equal(d.Truncate(usdcPlaces)) {
			add(key, d.String(), "a price > 0 and < 1 with at most 6 decimals, such as 0.03")
			return false
		}
		return true
	}
	if price("copy.min_price", cp.MinPrice) && price("copy.max_price", cp.MaxPrice) && cp.MaxPrice.LessThan(cp.MinPrice) {
		add("copy.max_price", cp.MaxPrice.String(), "a price >= copy.min_price ("+cp.MinPrice.String()+")")
	}
	if cp.MaxFillAge <= 0 {
		add("copy.max_fill_age", cp.MaxFillAge.String(), "a positive duration, such as 2m")
	}
	if cp.MaxExitAge < 0 {
		add("copy.max_exit_age", cp.MaxExitAge.String(), "0s (mirror exits of any age) or a positive duration, such as 1h")
	}
	for _, l := range []struct {
		name string
		ids  []string
	}{{"allow_tokens", cp.AllowTokens}, {"deny_tokens", cp.DenyTokens}} {
		for i, id := range l.ids {
			if !validTokenID(id) {
				add(fmt.Sprintf("copy.%s[%d]", l.name, i), id, wantTokenID)
			}
		}
	}

	// risk
	r := c.Risk
	okTotal := amount("risk.max_total_exposure_usdc", r.MaxTotalExposureUSDC)
	for _, l := range []struct {
		key string
		val decimal.Decimal
	}{{"risk.max_market_exposure_usdc", r.MaxMarketExposureUSDC}, {"risk.max_leader_exposure_usdc", r.MaxLeaderExposureUSDC}} {
		if amount(l.key, l.val) && okTotal && l.val.GreaterThan(r.MaxTotalExposureUSDC) {
			add(l.key, l.val.String(), "an amount <= risk.max_total_exposure_usdc ("+r.MaxTotalExposureUSDC.String()+")")
		}
	}
	amount("risk.max_daily_spend_usdc", r.MaxDailySpendUSDC)
	amount("risk.daily_loss_limit_usdc", r.DailyLossLimitUSDC)
	if r.MaxOpenPositions < 1 {
		add("risk.max_open_positions", fmt.Sprint(r.MaxOpenPositions), "a count of at least 1")
	}
	if r.ResetHourUTC < 0 || r.ResetHourUTC > maxResetHour {
		add("risk.reset_hour_utc", fmt.Sprint(r.ResetHourUTC), "an hour from 0 to 23 (UTC)")
	}

	// store
	s := c.Store
	if s.DecisionsMax < 1 || s.DecisionsMax > maxDecisions {
		add("store.decisions_max", fmt.Sprint(s.DecisionsMax), fmt.Sprintf("a count from 1 to %d", maxDecisions))
	}
	if s.DecisionsMaxAge < minStoreAge {
		add("store.decisions_max_age", s.DecisionsMaxAge.String(), wantStoreAge)
	}
	// A fill replayed after a restart must still find its intent.
	if floor := max(minStoreAge, 2*c.Dedup.TTL); s.IntentsMaxAge < floor {
		add("store.intents_max_age", s.IntentsMaxAge.String(), fmt.Sprintf("a duration of at least %s (1h, and twice dedup.ttl)", floor))
	}
	if s.ClosedPositionsMaxAge < minStoreAge {
		add("store.closed_positions_max_age", s.ClosedPositionsMaxAge.String(), wantStoreAge)
	}
	return ps
}

// leaderSizingProblems checks a leader's sizing overrides; key is "leaders[i]".
func leaderSizingProblems(key string, l Leader, cp Copy) []Problem {
	var ps []Problem
	add := func(k, value, want string) {
		ps = append(ps, Problem{Key: key + "." + k, Value: value, Want: want})
	}
	if l.Mode != "" && !oneOf(l.Mode, sizeModes) {
		add("mode", l.Mode, wantSizeMode+", or no value to use copy.mode")
	}
	ok := true
	for _, o := range []struct {
		key string
		val decimal.Decimal
	}{{"fixed_usdc", l.FixedUSDC}, {"min_trade_usdc", l.MinTradeUSDC}, {"max_trade_usdc", l.MaxTradeUSDC}} {
		if !o.val.IsZero() && !validAmount(o.val) {
			add(o.key, o.val.String(), wantAmount+", or no value to use copy."+o.key)
			ok = false
		}
	}
	if !l.PercentBalance.IsZero() && !validPercent(l.PercentBalance) {
		add("percent_balance", l.PercentBalance.String(), "a percentage > 0 and <= 100, or no value to use copy.percent_balance")
	}
	if s := l.Sizing(cp); ok && (!l.MinTradeUSDC.IsZero() || !l.MaxTradeUSDC.IsZero()) && s.MinTradeUSDC.GreaterThan(s.MaxTradeUSDC) {
		add("max_trade_usdc", s.MaxTradeUSDC.String(), "an amount >= the leader's min_trade_usdc ("+s.MinTradeUSDC.String()+")")
	}
	return ps
}
