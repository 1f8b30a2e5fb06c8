// Package order builds and signs the orders polybot sends to the Polymarket CLOB: exact-decimal
// amount rounding, the EIP-712 order structs of exchange V1 and V2, their signatures, and the JSON
// body of POST /order. It holds protocol code only and does no I/O.
package order

import (
	"errors"
	"fmt"
	"strings"

	"github.com/polybot/polybot/internal/polymarket"
)

// Side is the side of an order, as signed (uint8) and as sent ("BUY"/"SELL"): polybot's one side
// type, polymarket.Side, under the name the order code uses.
type Side = polymarket.Side

// Order sides.
const (
	Buy  = polymarket.Buy
	Sell = polymarket.Sell
)

// ParseSide parses "BUY" or "SELL".
func ParseSide(s string) (Side, error) {
	side, err := polymarket.ParseSide(s)
	if err != nil {
		return 0, fmt.Errorf("%w: side %q (valid: BUY, SELL)", ErrInvalidOrder, s)
	}
	return side, nil
}

// SignatureType says how the exchange checks an order's signature.
type SignatureType uint8

// Signature types. For EOA the maker signs for itself; for PolyProxy and PolyGnosisSafe the maker
// is the proxy or safe (the funder) and the signer is its owning EOA; for Poly1271 (V2 only) maker
// and signer are a deposit-wallet contract that validates an ERC-7739 wrapped signature.
const (
	EOA            SignatureType = 0
	PolyProxy      SignatureType = 1
	PolyGnosisSafe SignatureType = 2
	Poly1271       SignatureType = 3
)

// String returns the protocol name of t.
func (t SignatureType) String() string {
	switch t {
	case EOA:
		return "EOA"
	case PolyProxy:
		return "POLY_PROXY"
	case PolyGnosisSafe:
		return "POLY_GNOSIS_SAFE"
	case Poly1271:
		return "POLY_1271"
	default:
		return fmt.Sprintf("SignatureType(%d)", uint8(t))
	}
}

// OrderType is the time in force of an order sent to the CLOB. The zero value is invalid, so a
// forgotten field is caught rather than defaulted.
type OrderType uint8

// Order types. GTC and GTD rest on the book; FOK and FAK are market orders.
const (
	GTC OrderType = iota + 1 // good till cancelled
	GTD                      // good till date (expiration set)
	FOK                      // fill or kill
	FAK                      // fill and kill (immediate or cancel)
)

// String returns the wire name of t.
func (t OrderType) String() string {
	switch t {
	case GTC:
		return "GTC"
	case GTD:
		return "GTD"
	case FOK:
		return "FOK"
	case FAK:
		return "FAK"
	default:
		return fmt.Sprintf("OrderType(%d)", uint8(t))
	}
}

// Valid reports whether t is one of GTC, GTD, FOK, FAK.
func (t OrderType) Valid() bool { return t >= GTC && t <= FAK }

// ParseOrderType parses "GTC", "GTD", "FOK" or "FAK".
func ParseOrderType(s string) (OrderType, error) {
	for _, t := range []OrderType{GTC, GTD, FOK, FAK} {
		if t.String() == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("%w: order type %q (valid: GTC, GTD, FOK, FAK)", ErrInvalidOrder, s)
}

// Protocol is the exchange version an order is signed for. The zero value is invalid.
type Protocol uint8

// Exchange protocol versions. V2 is the live protocol; V1 is kept for the historical vectors. V3
// is ExchangeV3's: the V2 Order struct, signature and body under EIP-712 domain version "3".
const (
	V1 Protocol = 1
	V2 Protocol = 2
	V3 Protocol = 3
)

// ParseProtocol parses "V1", "V2" or "V3" (any case).
func ParseProtocol(s string) (Protocol, error) {
	for _, p := range []Protocol{V1, V2, V3} {
		if strings.EqualFold(p.String(), s) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("%w: protocol %q (valid: v1, v2, v3)", ErrInvalidOrder, s)
}

// String returns "V1", "V2" or "V3".
func (p Protocol) String() string {
	switch p {
	case V1:
		return "V1"
	case V2:
		return "V2"
	case V3:
		return "V3"
	default:
		return fmt.Sprintf("Protocol(%d)", uint8(p))
	}
}

// Errors returned by this package, wrapped with the offending values.
var (
	// ErrUnknownTick: the tick size is not one polybot knows the rounding of.
	ErrUnknownTick = errors.New("unknown tick size")
	// ErrPriceRange: the price is not strictly between 0 and 1.
	ErrPriceRange = errors.New("price out of range")
	// ErrPriceOffTick: the price is not a multiple of the tick size.
	ErrPriceOffTick = errors.New("price not on tick grid")
	// ErrSizePrecision: the size has more decimals than the lot size allows.
	ErrSizePrecision = errors.New("size too precise")
	// ErrSizeTooSmall: the size (or amount) is zero, negative or below the market minimum.
	ErrSizeTooSmall = errors.New("size too small")
	// ErrNoLiquidity: the book cannot fill a fill-or-kill market order.
	ErrNoLiquidity = errors.New("not enough liquidity")
	// ErrInvalidOrder: an order field is missing or out of range.
	ErrInvalidOrder = errors.New("invalid order")
	// ErrInvalidSignature: a signature is malformed or does not match.
	ErrInvalidSignature = errors.New("invalid signature")
)
