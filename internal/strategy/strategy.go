// Package strategy decides what polybot does with one leader fill: copy it (sized by the
// leader's sizing mode), copy less of it to stay within a risk limit, or skip it, and why.
//
// Decide is a pure function: the caller gathers the leader's settings, the global rules and
// polybot's own state (positions, exposure, daily counters, circuit breaker) and passes them
// in; nothing here reads a clock, a file or the network. Amounts are 6-decimal base units:
// 1_000_000 is one share or one USDC.
package strategy

import (
	"fmt"
	"math/big"
	"math/bits"
	"time"

	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/money"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
)

// Unit is one share or one USDC in base units.
const Unit = 1_000_000

// ShareStep is the order size grid: 0.01 share. Copies are truncated to it, never rounded up.
const ShareStep = 10_000

// Mode is how a leader's BUY is sized.
type Mode string

const (
	Proportional   Mode = "proportional"    // Ratio x the leader's shares
	FixedUSDC      Mode = "fixed_usdc"      // Fixed collateral per BUY
	PercentBalance Mode = "percent_balance" // Percent of State.Balance per BUY
)

// Action is what to do with a leader fill. Copy and Reduce both place an order.
type Action uint8

const (
	Skip   Action = iota // place nothing; Reason (and Limit when a limit caused it) say why
	Copy                 // place the order as the leader's sizing asks
	Reduce               // place a smaller order than the sizing asks, to stay within Limit
)

func (a Action) String() string {
	switch a {
	case Skip:
		return "skip"
	case Copy:
		return "copy"
	case Reduce:
		return "reduce"
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// Places reports whether the decision places an order.
func (a Action) Places() bool { return a == Copy || a == Reduce }

// Limits named in Decision.Limit: the config key of the setting that reduced or skipped a
// copy (for the sizing keys, the leader's override when it has one).
const (
	LimitEnabled       = "leaders[].enabled"
	LimitMinTrade      = "copy.min_trade_usdc"
	LimitMaxTrade      = "copy.max_trade_usdc"
	LimitMinShares     = "copy.min_order_shares"
	LimitMinPrice      = "copy.min_price"
	LimitMaxPrice      = "copy.max_price"
	LimitMaxFillAge    = "copy.max_fill_age"
	LimitMaxExitAge    = "copy.max_exit_age"
	LimitAllowTokens   = "copy.allow_tokens"
	LimitDenyTokens    = "copy.deny_tokens"
	LimitMarket        = "risk.max_market_exposure_usdc"
	LimitLeader        = "risk.max_leader_exposure_usdc"
	LimitTotal         = "risk.max_total_exposure_usdc"
	LimitDailySpend    = "risk.max_daily_spend_usdc"
	LimitDailyLoss     = "risk.daily_loss_limit_usdc"
	LimitOpenPositions = "risk.max_open_positions"
	// LimitRaise names a copy raised to the CLOB's minimum, or skipped below it because the
	// setting is off or because raising it would break another limit (Decision.Reason says
	// which).
	LimitRaise = "copy.raise_to_minimum"
)

// Leader is one leader's effective sizing, amounts in base units.
type Leader struct {
	Name    string // the config's label (leaders[].name), for logs; "" when none
	Enabled bool
	Mode    Mode
	// Ratio sizes proportional BUYs, and SELLs whose fraction of the leader's position is
	// unknown, in every mode.
	Ratio    decimal.Decimal
	Fixed    uint64          // collateral per BUY in mode FixedUSDC
	Percent  decimal.Decimal // percent (0, 100] of State.Balance per BUY in mode PercentBalance
	MinTrade uint64          // a smaller BUY is skipped
	MaxTrade uint64          // a larger BUY is reduced to it; 0 means no cap
}

// Rules are the global filters and limits. A zero limit means no limit (config validation
// requires every configured limit to be positive).
type Rules struct {
	MinShares  uint64        // smallest order, base units (copy.min_order_shares)
	MinPrice   uint64        // micro-USDC per share; BUYs below are skipped
	MaxPrice   uint64        // micro-USDC per share; BUYs above are skipped; 0 means no bound
	MaxFillAge time.Duration // BUYs whose fill is older are skipped
	// MaxExitAge skips SELLs whose fill is older; 0 mirrors a leader's exit of any age while
	// polybot holds the token (an exit missed during an outage is still followed).
	MaxExitAge time.Duration
	// Slippage is how far above the leader's price a BUY copy may be signed, micro-USDC per
	// share (live.slippage on a broker that applies it, else 0). Sizing, every cap and
	// Decision.Cost use this worst price, never the leader's.
	Slippage uint64
	Allow    map[string]bool // decimal token ids; when not empty, only these are bought
	Deny     map[string]bool // decimal token ids never bought

	MaxMarketExposure uint64
	MaxLeaderExposure uint64
	MaxTotalExposure  uint64
	MaxDailySpend     uint64
	DailyLossLimit    uint64 // the breaker trips when State.PnLToday < -DailyLossLimit
	MaxOpenPositions  int

	// RaiseToMinimum raises a BUY copy below the market's minimum (Market) to it, within every
	// limit above and the balance; off, such a copy is skipped (copy.raise_to_minimum).
	RaiseToMinimum bool
}

// Market is what the exchange asks of a BUY copy in the fill's token and what it charges, as
// the broker reads it (broker.Terms). The zero Market asks nothing and charges no fee.
type Market struct {
	// Price is the price the copy is signed at, micro-USDC per share; 0: the leader's price
	// plus Rules.Slippage.
	Price uint64
	// MinShares is the least size of an order (the market's min_order_size), base units.
	MinShares uint64
	// MinNotional is the least collateral a BUY may spend ($1 on the CLOB), base units; the
	// order's collateral is counted in whole cents, as a market BUY's amount is.
	MinNotional uint64
	// FeeRateBps is the market's taker fee rate. Every cap counts a BUY's worst cost plus the
	// most its fee can be (order.MaxFee: the rate times what it spends), and so does
	// Decision.Cost, which the executor reserves.
	FeeRateBps int
}

// State is polybot's own state when the fill is decided, as the store reports it.
type State struct {
	// Held is what polybot holds in the fill's token from copies of this leader: what a SELL
	// of this leader may sell.
	Held uint64
	// MarketShares and MarketExposure are polybot's whole position in the token (all
	// leaders): shares and cost basis.
	MarketShares   uint64
	MarketExposure uint64
	LeaderExposure uint64 // cost basis of open positions copied from this leader
	TotalExposure  uint64 // cost basis of all open positions
	OpenPositions  int
	SpentToday     uint64 // collateral paid for BUYs this trading day
	PnLToday       int64  // realised today plus marked P&L of open positions (see MarkedPnL)
	BreakerTripped bool   // the circuit breaker has tripped this trading day
	Balance        uint64 // available collateral, used by mode PercentBalance

	// LeaderHeld is the leader's position in the token before this fill, as LeaderBook saw
	// it; LeaderKnown is false when polybot has not seen it (see LeaderBook.Apply).
	LeaderHeld  uint64
	LeaderKnown bool
}

// Input is everything Decide looks at.
type Input struct {
	Fill     polymarket.Fill
	FillTime time.Time // the timestamp of the fill's block
	Now      time.Time
	Leader   Leader
	Rules    Rules
	State    State
	Market   Market
}

// Decision is what to do with a fill. Shares and Collateral are the order's size and its
// notional at the leader's price (from which the broker derives the limit price); Cost is the
// most the order may pay: for a BUY its notional at the leader's price plus Rules.Slippage (the
// worst price signed) plus the most its taker fee can be (Market.FeeRateBps), for a SELL equal
// to Collateral. All three are zero when Action is Skip.
type Decision struct {
	Action     Action
	Side       polymarket.Side
	Shares     uint64
	Collateral uint64
	Cost       uint64
	Reason     string
	Limit      string // the setting that reduced or skipped the copy; "" when none did
	// TripBreaker asks the caller to record the circuit breaker as tripped: this fill found
	// the day's loss beyond risk.daily_loss_limit_usdc.
	TripBreaker bool
	// Whole marks a SELL of the whole position held from this leader. Below the minimum
	// order size it is a leader's full exit: the broker may then sell what remains with a
	// market order (FAK or FOK), which the CLOB takes below the market's minimum size.
	Whole bool
}

func skip(side polymarket.Side, limit, format string, args ...any) Decision {
	return Decision{Action: Skip, Side: side, Limit: limit, Reason: fmt.Sprintf(format, args...)}
}

// Decide decides what to do with one leader fill.
//
// A BUY is filtered (leader enabled, fill age, allow and deny lists, price bounds, circuit
// breaker), sized by the leader's mode, capped by its max per trade and by the risk limits,
// and skipped when the result is below the minimum trade or order size. A SELL sells the
// fraction of State.Held that the leader sold of its position, or Ratio x the leader's
// shares when that position is unknown, never more than State.Held; it is filtered only by
// leader enabled, Rules.MaxExitAge and the minimum order size, and never blocked by a risk
// limit.
func Decide(in Input) Decision {
	f := &in.Fill
	side := f.Side
	switch {
	case f.Removed:
		return skip(side, "", "fill was removed by a reorg")
	case f.TokenID == nil || f.Shares == 0 || f.Collateral == 0 || (side != polymarket.Buy && side != polymarket.Sell):
		return skip(side, "", "malformed fill: no token, shares, collateral or side")
	case !in.Leader.Enabled:
		return skip(side, LimitEnabled, "leader is not copied")
	}
	maxAge, ageLimit := in.Rules.MaxFillAge, LimitMaxFillAge
	if side == polymarket.Sell {
		maxAge, ageLimit = in.Rules.MaxExitAge, LimitMaxExitAge
	}
	if maxAge > 0 {
		if in.FillTime.IsZero() {
			return skip(side, ageLimit, "fill time unknown")
		}
		if age := in.Now.Sub(in.FillTime); age > maxAge {
			return skip(side, ageLimit, "fill is %s old, more than %s", age, maxAge)
		}
	}
	if side == polymarket.Sell {
		return decideSell(in)
	}
	return decideBuy(in)
}

func decideBuy(in Input) Decision {
	f, l, r, s := &in.Fill, &in.Leader, &in.Rules, &in.State
	token := f.TokenID.String()
	buy := polymarket.Buy
	switch {
	case r.Deny[token]:
		return skip(buy, LimitDenyTokens, "token is on the deny list")
	case len(r.Allow) > 0 && !r.Allow[token]:
		return skip(buy, LimitAllowTokens, "token is not on the allow list")
	case cmpPrice(f, r.MinPrice) < 0:
		return skip(buy, LimitMinPrice, "price %s is below %s", f.Price(), Units(r.MinPrice))
	case r.MaxPrice > 0 && cmpPrice(f, r.MaxPrice) > 0:
		return skip(buy, LimitMaxPrice, "price %s is above %s", f.Price(), Units(r.MaxPrice))
	case s.BreakerTripped:
		return skip(buy, LimitDailyLoss, "circuit breaker tripped for today")
	case r.DailyLossLimit > 0 && s.PnLToday < 0 && uint64(-(s.PnLToday+1))+1 > r.DailyLossLimit:
		d := skip(buy, LimitDailyLoss, "today's P&L %s is below -%s: circuit breaker trips", SignedUnits(s.PnLToday), Units(r.DailyLossLimit))
		d.TripBreaker = true
		return d
	case r.MaxOpenPositions > 0 && s.MarketShares == 0 && s.OpenPositions >= r.MaxOpenPositions:
		return skip(buy, LimitOpenPositions, "%d positions open, the most allowed", s.OpenPositions)
	}

	// Size by mode. A budget in USDC buys what it pays for at the worst price signed.
	var shares uint64
	switch l.Mode {
	case Proportional:
		shares = truncShares(decimal.NewFromUint64(f.Shares).Mul(l.Ratio))
	case FixedUSDC:
		shares = sharesFor(f, r.Slippage, l.Fixed)
	case PercentBalance:
		if s.Balance == 0 {
			return skip(buy, "", "no available balance to take a percentage of")
		}
		shares = sharesFor(f, r.Slippage, toUnits(decimal.NewFromUint64(s.Balance).Mul(l.Percent).Div(decimal.NewFromInt(100))))
	default:
		return skip(buy, "", "unknown sizing mode %q", l.Mode)
	}
	if reason := belowMinimum(r, l, shares, costOf(f, shares)); reason != "" {
		return skip(buy, reason, "%s %s shares for %s USDC is below the minimum", l.Mode, Units(shares), Units(costOf(f, shares)))
	}
	// The CLOB's own minimums (min_order_size, $1 for a marketable BUY): raised to, or skipped.
	m := &in.Market
	need, what := clobMinimum(f, r.Slippage, m)
	raised := false
	if shares < need {
		if !r.RaiseToMinimum {
			return skip(buy, LimitRaise, "%s shares for %s USDC is below the CLOB's minimum (%s); copy.raise_to_minimum is off",
				Units(shares), Units(notional(f, r.Slippage, m, shares)), what)
		}
		raised, shares = true, need
	}
	cost := totalCost(f, r.Slippage, m, shares)

	// Caps: the leader's max per trade, then the risk limits; the tightest one binds. Each
	// is checked against the order's worst cost and its worst fee, not its cost at the
	// leader's price.
	room, roomLimit := uint64(0), ""
	consider := func(headroom uint64, name string) {
		if roomLimit == "" || headroom < room {
			room, roomLimit = headroom, name
		}
	}
	if l.MaxTrade > 0 {
		consider(l.MaxTrade, LimitMaxTrade)
	}
	if r.MaxMarketExposure > 0 {
		consider(sub(r.MaxMarketExposure, s.MarketExposure), LimitMarket)
	}
	if r.MaxLeaderExposure > 0 {
		consider(sub(r.MaxLeaderExposure, s.LeaderExposure), LimitLeader)
	}
	if r.MaxTotalExposure > 0 {
		consider(sub(r.MaxTotalExposure, s.TotalExposure), LimitTotal)
	}
	if r.MaxDailySpend > 0 {
		consider(sub(r.MaxDailySpend, s.SpentToday), LimitDailySpend)
	}
	if roomLimit != "" && cost > room {
		if raised {
			return skip(buy, roomLimit, "raised to the CLOB's minimum (%s), %s shares cost at most %s USDC with the fee; %s leaves room for %s",
				what, Units(shares), Units(cost), roomLimit, Units(room))
		}
		wanted := shares
		shares = min(shares, sharesWithin(f, r.Slippage, m, room))
		cost = totalCost(f, r.Slippage, m, shares)
		if belowMinimum(r, l, shares, costOf(f, shares)) != "" || shares < need {
			return skip(buy, roomLimit, "%s leaves room for %s USDC; %s shares for at most %s USDC with the fee is below the minimum", roomLimit, Units(room), Units(shares), Units(cost))
		}
		return Decision{Action: Reduce, Side: buy, Shares: shares, Collateral: costOf(f, shares), Cost: cost, Limit: roomLimit,
			Reason: fmt.Sprintf("reduced from %s to %s shares (at most %s USDC with the fee) to stay within %s", Units(wanted), Units(shares), Units(cost), roomLimit)}
	}
	if raised {
		if s.Balance > 0 && cost > s.Balance {
			return skip(buy, LimitRaise, "raised to the CLOB's minimum (%s), %s shares cost at most %s USDC with the fee, more than the %s USDC available",
				what, Units(shares), Units(cost), Units(s.Balance))
		}
		return Decision{Action: Copy, Side: buy, Shares: shares, Collateral: costOf(f, shares), Cost: cost, Limit: LimitRaise,
			Reason: fmt.Sprintf("%s copy raised to the CLOB's minimum (%s): %s shares for at most %s USDC with the fee", l.Mode, what, Units(shares), Units(cost))}
	}
	return Decision{Action: Copy, Side: buy, Shares: shares, Collateral: costOf(f, shares), Cost: cost, Reason: fmt.Sprintf("%s copy", l.Mode)}
}

func decideSell(in Input) Decision {
	f, l, r, s := &in.Fill, &in.Leader, &in.Rules, &in.State
	sell := polymarket.Sell
	if s.Held == 0 {
		return skip(sell, "", "no position to sell")
	}
	var shares uint64
	var how string
	if s.LeaderKnown && s.LeaderHeld >= f.Shares {
		// The same fraction of ours as the leader sold of theirs.
		if f.Shares == s.LeaderHeld {
			shares = s.Held
		} else {
			shares = money.MulDiv(s.Held, f.Shares, s.LeaderHeld) / ShareStep * ShareStep
		}
		how = fmt.Sprintf("leader sold %s of %s shares", Units(f.Shares), Units(s.LeaderHeld))
	} else {
		shares = min(truncShares(decimal.NewFromUint64(f.Shares).Mul(l.Ratio)), s.Held)
		how = "leader position unknown: ratio x leader shares"
	}
	// What would remain below the minimum order could never be sold: sell it now.
	if s.Held-shares < max(r.MinShares, 1) {
		shares = s.Held
	}
	exit := s.LeaderKnown && f.Shares == s.LeaderHeld
	if shares == 0 || shares < r.MinShares {
		if !exit {
			return skip(sell, LimitMinShares, "dust: %s: %s of %s held shares is below the minimum order of %s; what is held is sold whole when the leader exits",
				how, Units(shares), Units(s.Held), Units(r.MinShares))
		}
		// The leader is out: sell the whole remainder, below the minimum, as a market order.
		shares = s.Held
		how += "; the remainder is below the minimum order"
	}
	c := costOf(f, shares)
	return Decision{Action: Copy, Side: sell, Shares: shares, Collateral: c, Cost: c, Whole: shares == s.Held,
		Reason: fmt.Sprintf("%s: selling %s of %s held", how, Units(shares), Units(s.Held))}
}

// belowMinimum names the minimum a BUY of shares for cost falls below, or "".
func belowMinimum(r *Rules, l *Leader, shares, cost uint64) string {
	switch {
	case shares == 0 || shares < r.MinShares:
		return LimitMinShares
	case cost < l.MinTrade:
		return LimitMinTrade
	}
	return ""
}

// costOf is the collateral of shares at the fill's price, rounded down.
func costOf(f *polymarket.Fill, shares uint64) uint64 {
	return money.MulDiv(shares, f.Collateral, f.Shares)
}

// worstCost is the most shares may cost when signed at up to slip micro-USDC per share above
// the fill's price, and never above 1 USDC per share: rounded up, so never below what the
// signed order pays.
func worstCost(f *polymarket.Fill, slip, shares uint64) uint64 {
	c := new(big.Int).Mul(new(big.Int).SetUint64(shares), new(big.Int).SetUint64(f.Collateral))
	c.Add(c, new(big.Int).SetUint64(f.Shares-1)) // ceil(shares·collateral / fill shares)
	c.Quo(c, new(big.Int).SetUint64(f.Shares))
	s := new(big.Int).Mul(new(big.Int).SetUint64(shares), new(big.Int).SetUint64(slip))
	s.Add(s, big.NewInt(Unit-1)) // ceil(shares·slip / 1e6)
	s.Quo(s, big.NewInt(Unit))
	c.Add(c, s)
	if c.Cmp(new(big.Int).SetUint64(shares)) > 0 {
		return shares // a price is at most 1
	}
	return c.Uint64()
}

// sharesFor is the most shares, on the grid, whose worst cost (worstCost) is within budget.
func sharesFor(f *polymarket.Fill, slip, budget uint64) uint64 {
	// budget / (collateral/fillShares + slip/1e6), then down the grid until it fits.
	num := new(big.Int).Mul(new(big.Int).SetUint64(budget), new(big.Int).SetUint64(f.Shares))
	num.Mul(num, big.NewInt(Unit))
	den := new(big.Int).Mul(new(big.Int).SetUint64(f.Collateral), big.NewInt(Unit))
	den.Add(den, new(big.Int).Mul(new(big.Int).SetUint64(slip), new(big.Int).SetUint64(f.Shares)))
	q := num.Quo(num, den)
	shares := ^uint64(0)
	if q.Cmp(maxUint64) <= 0 {
		shares = q.Uint64()
	}
	shares = max(shares, min(budget, ^uint64(0)-ShareStep)) // at a price capped at 1, budget buys budget shares
	shares = shares / ShareStep * ShareStep
	for shares > 0 && worstCost(f, slip, shares) > budget {
		shares -= ShareStep
	}
	return shares
}

// signedPrice is the price a BUY copy is signed at, micro-USDC per share: the market's (the
// broker's limit price), else the leader's plus slip, rounded up, at most 1.
func signedPrice(f *polymarket.Fill, slip uint64, m *Market) uint64 {
	if m.Price > 0 {
		return m.Price
	}
	return min(money.MulDiv(f.Collateral, Unit, f.Shares)+slip+1, Unit)
}

// cent is one cent in base units: a market BUY's collateral is counted in whole cents.
const cent = 10_000

// notional is what a BUY of shares spends at the signed price, cut to whole cents (a market
// BUY's amount is; order.MarketAmounts).
func notional(f *polymarket.Fill, slip uint64, m *Market, shares uint64) uint64 {
	return money.MulDiv(shares, signedPrice(f, slip, m), Unit) / cent * cent
}

// clobMinimum is the least shares, on the grid, the CLOB takes in a BUY copy of f (0: none),
// and which minimum sets it.
func clobMinimum(f *polymarket.Fill, slip uint64, m *Market) (uint64, string) {
	need, what := uint64(0), ""
	if m.MinShares > 0 {
		need, what = (m.MinShares+ShareStep-1)/ShareStep*ShareStep, "min_order_size "+Units(m.MinShares)+" shares"
	}
	if m.MinNotional > 0 {
		p := signedPrice(f, slip, m)
		n := (money.MulDiv(m.MinNotional, Unit, p) + ShareStep) / ShareStep * ShareStep
		for n > ShareStep && notional(f, slip, m, n-ShareStep) >= m.MinNotional {
			n -= ShareStep
		}
		for notional(f, slip, m, n) < m.MinNotional {
			n += ShareStep
		}
		if n > need {
			need, what = n, Units(m.MinNotional)+" USDC for a marketable BUY"
		}
	}
	return need, what
}

// totalCost is the most a BUY of shares may pay: its worst cost (worstCost) plus the most its
// taker fee can be on that spend (order.MaxFee).
func totalCost(f *polymarket.Fill, slip uint64, m *Market, shares uint64) uint64 {
	c := worstCost(f, slip, shares)
	return addSat(c, order.MaxFee(c, m.FeeRateBps))
}

// sharesWithin is the most shares, on the grid, whose total cost (totalCost) is within budget.
func sharesWithin(f *polymarket.Fill, slip uint64, m *Market, budget uint64) uint64 {
	if m.FeeRateBps <= 0 {
		return sharesFor(f, slip, budget)
	}
	// The fee is at most rate·cost: start below the budget net of it, then step to the edge.
	shares := sharesFor(f, slip, money.MulDiv(budget, 10_000, uint64(10_000+m.FeeRateBps)))
	for totalCost(f, slip, m, shares+ShareStep) <= budget && shares+ShareStep > shares {
		shares += ShareStep
	}
	for shares > 0 && totalCost(f, slip, m, shares) > budget {
		shares -= ShareStep
	}
	return shares
}

func addSat(a, b uint64) uint64 {
	if s := a + b; s >= a {
		return s
	}
	return ^uint64(0)
}

// cmpPrice compares the fill's price with a price in micro-USDC per share, exactly.
func cmpPrice(f *polymarket.Fill, micros uint64) int {
	ah, al := bits.Mul64(f.Collateral, Unit)
	bh, bl := bits.Mul64(micros, f.Shares)
	switch {
	case ah != bh:
		return cmpU(ah, bh)
	default:
		return cmpU(al, bl)
	}
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sub(a, b uint64) uint64 {
	if b >= a {
		return 0
	}
	return a - b
}

var maxUint64 = new(big.Int).SetUint64(^uint64(0))

// toUnits truncates a non-negative decimal to a whole number of base units, saturating.
func toUnits(d decimal.Decimal) uint64 {
	if d.Sign() <= 0 {
		return 0
	}
	b := d.Floor().BigInt()
	if b.Cmp(maxUint64) > 0 {
		return ^uint64(0)
	}
	return b.Uint64()
}

// truncShares truncates a share amount in base units to the 0.01-share grid.
func truncShares(d decimal.Decimal) uint64 {
	return toUnits(d) / ShareStep * ShareStep
}

// Units formats base units as an exact decimal ("12.5").
func Units(v uint64) string { return decimal.NewFromUint64(v).Shift(-6).String() }

// SignedUnits formats signed base units as an exact decimal ("-3.25").
func SignedUnits(v int64) string { return decimal.NewFromInt(v).Shift(-6).String() }
