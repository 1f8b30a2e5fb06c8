package order

import (
	"fmt"
	"math/big"

	"github.com/shopspring/decimal"
)

// baseDecimals is the number of decimals of collateral and outcome tokens (6 on both).
const baseDecimals = 6

// sizeDecimals is the lot size: sizes and market-order amounts are cut to 2 decimals.
const sizeDecimals = 2

// tickRounding is the rounding a tick size implies: prices have priceDP decimals and the
// notional (price times size) amountDP decimals.
type tickRounding struct {
	tick     decimal.Decimal
	priceDP  int32
	amountDP int32
}

var tickRoundings = []tickRounding{
	{decimal.New(1, -1), 1, 3},
	{decimal.New(1, -2), 2, 4},
	{decimal.New(1, -3), 3, 5},
	{decimal.New(1, -4), 4, 6},
	{decimal.New(5, -3), 3, 5},
	{decimal.New(25, -4), 4, 6},
}

func roundingFor(tick decimal.Decimal) (tickRounding, error) {
	for _, r := range tickRoundings {
		if r.tick.Equal(tick) {
			return r, nil
		}
	}
	return tickRounding{}, fmt.Errorf("%w: %s (valid: 0.1, 0.01, 0.001, 0.0001, 0.005, 0.0025)", ErrUnknownTick, tick)
}

// Level is one price level of an order book.
type Level struct {
	Price decimal.Decimal
	Size  decimal.Decimal
}

// ValidatePrice checks that price is strictly between 0 and 1 and a multiple of tick, which must be
// a known tick size. polybot refuses to build a limit order at any other price.
func ValidatePrice(price, tick decimal.Decimal) error {
	if _, err := roundingFor(tick); err != nil {
		return err
	}
	if !price.IsPositive() || !price.LessThan(decimal.New(1, 0)) {
		return fmt.Errorf("%w: price %s must be strictly between 0 and 1", ErrPriceRange, price)
	}
	if !price.Mod(tick).IsZero() {
		return fmt.Errorf("%w: price %s is not a multiple of tick %s", ErrPriceOffTick, price, tick)
	}
	return nil
}

// ValidateSize checks that size is positive, has at most 2 decimals (the lot size) and is at least
// minSize (the market's min_order_size; zero for none).
func ValidateSize(size, minSize decimal.Decimal) error {
	if minSize.IsNegative() {
		return fmt.Errorf("%w: minimum size %s is negative", ErrInvalidOrder, minSize)
	}
	if !size.IsPositive() {
		return fmt.Errorf("%w: size %s must be positive", ErrSizeTooSmall, size)
	}
	if dp := decimalPlaces(size); dp > sizeDecimals {
		return fmt.Errorf("%w: size %s has %d decimal places, the lot size allows %d", ErrSizePrecision, size, dp, sizeDecimals)
	}
	if size.LessThan(minSize) {
		return fmt.Errorf("%w: size %s is below the market minimum %s", ErrSizeTooSmall, size, minSize)
	}
	return nil
}

// decimalPlaces returns the number of significant decimals of d (trailing zeros ignored).
func decimalPlaces(d decimal.Decimal) int32 {
	if d.Exponent() >= 0 {
		return 0
	}
	coef := new(big.Int).Abs(d.Coefficient())
	dp := -d.Exponent()
	ten := big.NewInt(10)
	m := new(big.Int)
	for dp > 0 && coef.Sign() != 0 {
		q, r := new(big.Int).QuoRem(coef, ten, m)
		if r.Sign() != 0 {
			break
		}
		coef = q
		dp--
	}
	if coef.Sign() == 0 {
		return 0
	}
	return dp
}

// LimitAmounts returns the maker and taker amounts, in 6-decimal base units, of a limit order of
// size shares at price. price must pass ValidatePrice. size is cut down to 2 decimals, as the
// official clients do; callers that want a too-precise size refused call ValidateSize first.
//
// BUY gives makerAmount collateral for takerAmount shares; SELL gives makerAmount shares for
// takerAmount collateral. The notional size*price is exact: it has at most price+2 decimals.
func LimitAmounts(side Side, price, size decimal.Decimal, tick decimal.Decimal) (makerAmount, takerAmount *big.Int, err error) {
	if !side.Valid() {
		return nil, nil, fmt.Errorf("%w: side %d", ErrInvalidOrder, side)
	}
	r, err := roundingFor(tick)
	if err != nil {
		return nil, nil, err
	}
	if err := ValidatePrice(price, tick); err != nil {
		return nil, nil, err
	}
	shares := size.Truncate(sizeDecimals)
	if !shares.IsPositive() {
		return nil, nil, fmt.Errorf("%w: size %s is below one lot (0.01)", ErrSizeTooSmall, size)
	}
	notional := truncateWithTolerance(shares.Mul(price), r.amountDP)
	sharesUnits, err := toBaseUnits(shares)
	if err != nil {
		return nil, nil, err
	}
	notionalUnits, err := toBaseUnits(notional)
	if err != nil {
		return nil, nil, err
	}
	if notionalUnits.Sign() == 0 {
		return nil, nil, fmt.Errorf("%w: notional of %s at %s rounds to zero", ErrSizeTooSmall, shares, price)
	}
	if err := fitsOrder(sharesUnits, notionalUnits); err != nil {
		return nil, nil, err
	}
	if side == Buy {
		return notionalUnits, sharesUnits, nil
	}
	return sharesUnits, notionalUnits, nil
}

// MarketAmounts returns the maker and taker amounts, in base units, of a market (FOK/FAK) order.
// For BUY, amount is the collateral to spend; for SELL, the shares to sell. amount is cut down to
// 2 decimals. price is the worst price accepted (see MarketPrice); V2 rounds it down to the tick's
// decimals, V1 rounds it half up (the py client's rule; the TS V1 client rounds down instead).
//
// The computed side is truncated to the tick's amount decimals, at most 4 (marketTakerDecimals),
// after a ceiling at four more decimals, which is the official clients' round_up(+4)/round_down
// step done exactly.
func MarketAmounts(proto Protocol, side Side, price, amount decimal.Decimal, tick decimal.Decimal) (maker, taker *big.Int, err error) {
	if !side.Valid() {
		return nil, nil, fmt.Errorf("%w: side %d", ErrInvalidOrder, side)
	}
	r, err := roundingFor(tick)
	if err != nil {
		return nil, nil, err
	}
	var p decimal.Decimal
	switch proto {
	case V1:
		p = price.Round(r.priceDP)
	case V2, V3: // V3 is the V2 client's rule under another domain version
		p = price.Truncate(r.priceDP)
	default:
		return nil, nil, fmt.Errorf("%w: protocol %s", ErrInvalidOrder, proto)
	}
	if !p.IsPositive() || !p.LessThan(decimal.New(1, 0)) {
		return nil, nil, fmt.Errorf("%w: price %s (rounded to %s) must be strictly between 0 and 1", ErrPriceRange, price, p)
	}
	amt := amount.Truncate(sizeDecimals)
	if !amt.IsPositive() {
		return nil, nil, fmt.Errorf("%w: amount %s is below 0.01", ErrSizeTooSmall, amount)
	}
	amtUnits, err := toBaseUnits(amt)
	if err != nil {
		return nil, nil, err
	}
	r.amountDP = min(r.amountDP, marketTakerDecimals)
	var other *big.Int
	if side == Buy {
		other = sharesForCollateral(amt, p, r)
	} else {
		other, err = toBaseUnits(truncateWithTolerance(amt.Mul(p), r.amountDP))
		if err != nil {
			return nil, nil, err
		}
	}
	if other.Sign() == 0 {
		return nil, nil, fmt.Errorf("%w: amount %s at %s rounds to zero", ErrSizeTooSmall, amt, p)
	}
	if err := fitsOrder(amtUnits, other); err != nil {
		return nil, nil, err
	}
	return amtUnits, other, nil
}

// marketTakerDecimals is the most decimals the CLOB takes in a market order's taker amount,
// whatever the tick: "invalid amounts, the market buy orders maker amount supports a max accuracy
// of 2 decimals, taker amount a max of 4 decimals" (py-clob-client-v2 issue 99, rs-clob-client
// issue 261) and "the sell orders maker amount supports a max accuracy of 2 decimals, taker amount
// a max of 4 decimals" for a FOK (py-clob-client issue 121). The official clients' market
// amounts follow the tick's amount decimals (5 on 0.001, 6 on 0.0001), which the CLOB refuses
// (py-clob-client-v2 issue 99): polybot caps them at 4.
//
// The cap rounds the taker down, as the clients' rule does on every tick: the signed ratio
// maker/taker then differs from the limit by less than a ten-thousandth of the limit (the taker
// is at least one share), less than the finest tick, so no book price lies between the two and
// every fill is at a book price at or better than the limit. Rounding the taker up instead
// would keep the ratio itself on the good side of the limit but leave an ask exactly at the
// limit uncrossed.
const marketTakerDecimals = 4

// sharesForCollateral returns amt/p in base units: the exact quotient rounded up at amountDP+4
// decimals, then truncated to amountDP decimals. With a price of at most 4 decimals the quotient
// is never within 1e-(amountDP+4) below a cut, so this equals plain truncation; the ceiling is
// kept so the rule reads as the clients state it.
func sharesForCollateral(amt, p decimal.Decimal, r tickRounding) *big.Int {
	// amt = a / 10^-ea, p = c / 10^-ep (exponents are <= 0 for these values).
	a := amt.Coefficient()
	c := p.Coefficient()
	// amt/p scaled by 10^(amountDP+4) = a * 10^(ea - ep + amountDP + 4) / c.
	shift := int64(amt.Exponent()) - int64(p.Exponent()) + int64(r.amountDP) + 4
	num := new(big.Int).Set(a)
	den := new(big.Int).Set(c)
	if shift >= 0 {
		num.Mul(num, pow10(shift))
	} else {
		den.Mul(den, pow10(-shift))
	}
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	q.Quo(q, pow10(4))
	return q.Mul(q, pow10(int64(baseDecimals-r.amountDP)))
}

// truncateWithTolerance applies the clients' rule to x: if it has more than dp decimals, round it
// up at dp+4 decimals, then truncate to dp decimals.
func truncateWithTolerance(x decimal.Decimal, dp int32) decimal.Decimal {
	if decimalPlaces(x) <= dp {
		return x
	}
	return x.RoundCeil(dp + 4).Truncate(dp)
}

// toBaseUnits converts a non-negative decimal with at most 6 decimals to base units.
func toBaseUnits(x decimal.Decimal) (*big.Int, error) {
	s := x.Shift(baseDecimals)
	if !s.IsInteger() {
		return nil, fmt.Errorf("%w: %s has more than %d decimals", ErrInvalidOrder, x, baseDecimals)
	}
	return s.BigInt(), nil
}

// fitsOrder refuses amounts that do not fit the uint256 fields of a signed order (a hostile or
// mistaken size such as 1e10000 would otherwise reach the signer as a 33,000-bit number).
func fitsOrder(amounts ...*big.Int) error {
	for _, a := range amounts {
		if a.BitLen() > 256 {
			return fmt.Errorf("%w: an amount of %d bits does not fit an order's uint256 fields", ErrInvalidOrder, a.BitLen())
		}
	}
	return nil
}

func pow10(n int64) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(n), nil)
}

// MarketPrice walks the book for a market order of amount (collateral for BUY, shares for SELL)
// and returns the price of the level that completes it: the worst price the order needs. levels
// are the asks for BUY and the bids for SELL, in the order GET /book returns them (best last), so
// the walk starts at the end. If the book is too thin, FOK fails with ErrNoLiquidity and FAK
// returns the price of levels[0], the deepest level, to take what there is.
func MarketPrice(side Side, levels []Level, amount decimal.Decimal, orderType OrderType) (decimal.Decimal, error) {
	if !side.Valid() {
		return decimal.Decimal{}, fmt.Errorf("%w: side %d", ErrInvalidOrder, side)
	}
	if orderType != FOK && orderType != FAK {
		return decimal.Decimal{}, fmt.Errorf("%w: market orders are FOK or FAK, not %s", ErrInvalidOrder, orderType)
	}
	if !amount.IsPositive() {
		return decimal.Decimal{}, fmt.Errorf("%w: amount %s must be positive", ErrSizeTooSmall, amount)
	}
	if len(levels) == 0 {
		return decimal.Decimal{}, fmt.Errorf("%w: the book side is empty", ErrNoLiquidity)
	}
	sum := decimal.Zero
	for i := len(levels) - 1; i >= 0; i-- {
		l := levels[i]
		if side == Buy {
			sum = sum.Add(l.Size.Mul(l.Price))
		} else {
			sum = sum.Add(l.Size)
		}
		if sum.GreaterThanOrEqual(amount) {
			return l.Price, nil
		}
	}
	if orderType == FOK {
		return decimal.Decimal{}, fmt.Errorf("%w: book holds %s, order needs %s", ErrNoLiquidity, sum, amount)
	}
	return levels[0].Price, nil
}

// TakerFee returns the taker fee, in collateral base units, of a trade of shares (base units)
// for collateral (base units) at a market fee rate of feeRateBps: rate·C·p·(1−p), where C is
// the shares, p = collateral/shares the trade's price and rate = feeRateBps/10000, rounded
// down to a base unit. The fee peaks at p = 0.5 and vanishes toward 0 and 1. It is charged in
// collateral: on top of a BUY's cost, out of a SELL's proceeds. Exact integer arithmetic.
func TakerFee(shares, collateral uint64, feeRateBps int) uint64 {
	if shares == 0 || collateral == 0 || feeRateBps <= 0 || collateral >= shares {
		return 0
	}
	// C·p·(1−p) in base units = collateral·(shares−collateral)/shares.
	num := new(big.Int).Mul(new(big.Int).SetUint64(collateral), new(big.Int).SetUint64(shares-collateral))
	num.Mul(num, big.NewInt(int64(feeRateBps)))
	den := new(big.Int).Mul(new(big.Int).SetUint64(shares), big.NewInt(10_000))
	return num.Quo(num, den).Uint64()
}
