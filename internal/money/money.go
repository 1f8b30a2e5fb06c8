// Package money holds polybot's exact arithmetic on amounts in 6-decimal base units (micro-USDC
// and micro-shares): no float64 ever touches money.
package money

import "math/bits"

// MulDiv returns a*b/c rounded down, exact for any 64-bit inputs whose result fits in 64 bits;
// it saturates at the largest uint64 otherwise and returns 0 when c is 0.
func MulDiv(a, b, c uint64) uint64 {
	if c == 0 {
		return 0
	}
	hi, lo := bits.Mul64(a, b)
	if hi >= c {
		return ^uint64(0)
	}
	q, _ := bits.Div64(hi, lo, c)
	return q
}
