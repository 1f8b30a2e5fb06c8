package order

import "math/big"

// MinMarketableBuy is the least collateral (base units: $1) a marketable BUY may spend. The
// CLOB refuses less with "invalid amount for a marketable BUY order ($0.9982), min size: $1"
// (quoted by public Polymarket integrations; nautilus_trader issue 3874: "market order: minimum
// amount is $1"; py-clob-client issue 301). A GTC/GTD BUY that crosses the book is marketable
// too, and polybot's copies are priced to cross, so every BUY copy is held to it.
const MinMarketableBuy = 1_000_000

// UnknownFeeRateBps is the fee rate assumed for a market whose fee schedule could not be read
// from any source and was never read before: 1000 bps (10%) with exponent 1. It bounds every
// schedule Polymarket publishes (docs.polymarket.com/trading/fees: at most 0.07 for crypto
// markets; clob-client-v2's own example 0.25 with exponent 2 charges less than 0.1·p(1−p)), it
// is the V1 exchange's MAX_FEE_RATE_BIPS and the legacy base_fee GET /fee-rate reports for every
// fee-charging market. Assuming it keeps the copy within its limits instead of blocking it.
const UnknownFeeRateBps = 1000

// ScheduleFee is the taker fee, in collateral base units rounded down, of a trade of shares for
// collateral (base units) on a market whose fee schedule is rateBps (the rate in basis points)
// and exponent: fee = C·rate·(p·(1−p))^exponent with C the shares and p = collateral/shares
// (the fee details "fd" {r, e} of GET /clob-markets/{condition_id}, as clob-client-v2 1.1.0
// src/fees computes them; docs.polymarket.com/trading/fees). An exponent of 0 or 1 is the
// published formula C·rate·p·(1−p) (TakerFee). Exact integer arithmetic.
func ScheduleFee(shares, collateral uint64, rateBps, exponent int) uint64 {
	if exponent <= 1 {
		return TakerFee(shares, collateral, rateBps)
	}
	if shares == 0 || collateral == 0 || rateBps <= 0 || collateral >= shares {
		return 0
	}
	// p(1−p) = collateral·(shares−collateral)/shares²; fee = shares·rate·(p(1−p))^e.
	s := new(big.Int).SetUint64(shares)
	q := new(big.Int).Mul(new(big.Int).SetUint64(collateral), new(big.Int).SetUint64(shares-collateral))
	num := new(big.Int).Mul(s, big.NewInt(int64(rateBps)))
	den := big.NewInt(10_000)
	s2 := new(big.Int).Mul(s, s)
	for range exponent {
		num.Mul(num, q)
		den.Mul(den, s2)
	}
	return num.Quo(num, den).Uint64()
}

// MaxFee bounds the taker fee of any fill that spends at most spend collateral (base units) on a
// market charging rateBps: ceil(spend·rate). For exponent ≥ 1 the fee of C shares bought for
// spend = C·p is spend·rate·(1−p)·(p(1−p))^(e−1) ≤ spend·rate whatever the fill price, so the
// bound holds for a market BUY that gets more shares at a better price too. It is what a BUY
// reserves for its fee before the fill price is known.
func MaxFee(spend uint64, rateBps int) uint64 {
	if spend == 0 || rateBps <= 0 {
		return 0
	}
	n := new(big.Int).Mul(new(big.Int).SetUint64(spend), big.NewInt(int64(rateBps)))
	n.Add(n, big.NewInt(9_999))
	return n.Quo(n, big.NewInt(10_000)).Uint64()
}
