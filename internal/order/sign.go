package order

import (
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// Params are the fields of an order of any protocol. Fields a protocol does not sign are ignored
// by it: Timestamp, Metadata and Builder are V2/V3 only, Taker, Nonce and FeeRateBps V1 only.
// Expiration (unix seconds, nil for 0) is signed by V1 and sent, not signed, by V2 and V3.
type Params struct {
	Salt          *big.Int
	Maker         common.Address
	Signer        common.Address
	TokenID       *big.Int
	MakerAmount   *big.Int
	TakerAmount   *big.Int
	Side          Side
	SignatureType SignatureType
	Expiration    *big.Int
	// V2 and V3.
	Timestamp *big.Int // creation time, unix milliseconds
	Metadata  [32]byte
	Builder   [32]byte
	// V1.
	Taker      common.Address
	Nonce      *big.Int
	FeeRateBps *big.Int
}

// Signed is an order signed for one protocol: exactly one of V1 and V2 is set (V2 for V2 and V3,
// which share the struct).
type Signed struct {
	Protocol Protocol
	Domain   Domain
	Hash     common.Hash // the order hash the exchange emits
	V1       *SignedOrderV1
	V2       *SignedOrderV2
}

// Signature returns the signature as sent.
func (s *Signed) Signature() []byte {
	if s.V1 != nil {
		return s.V1.Signature
	}
	return s.V2.Signature
}

// MarshalJSON returns the order object of POST /order for s's protocol.
func (s *Signed) MarshalJSON() ([]byte, error) {
	if s.V1 != nil {
		return s.V1.MarshalJSON()
	}
	return s.V2.MarshalJSON()
}

// PostOrderBody returns the exact POST /order body for s's protocol.
func (s *Signed) PostOrderBody(owner string, orderType OrderType, postOnly bool) ([]byte, error) {
	if s.V1 != nil {
		return s.V1.PostOrderBody(owner, orderType, postOnly)
	}
	return s.V2.PostOrderBody(owner, orderType, postOnly)
}

// Sign builds the order of protocol proto from p and signs it for the exchange at exchange on
// chainID (ExchangeDomain). V2 and V3 sign the same struct; only the domain version differs.
func Sign(key *ecdsa.PrivateKey, proto Protocol, chainID int64, exchange common.Address, p Params) (*Signed, error) {
	d := ExchangeDomain(proto, chainID, exchange)
	s := &Signed{Protocol: proto, Domain: d}
	switch proto {
	case V2, V3:
		o := OrderV2{Salt: p.Salt, Maker: p.Maker, Signer: p.Signer, TokenID: p.TokenID, MakerAmount: p.MakerAmount,
			TakerAmount: p.TakerAmount, Side: p.Side, SignatureType: p.SignatureType, Timestamp: p.Timestamp,
			Metadata: p.Metadata, Builder: p.Builder, Expiration: p.Expiration}
		sig, hash, err := SignV2(key, &o, d)
		if err != nil {
			return nil, err
		}
		s.Hash, s.V2 = hash, &SignedOrderV2{Order: o, Signature: sig}
	case V1:
		o := OrderV1{Salt: p.Salt, Maker: p.Maker, Signer: p.Signer, Taker: p.Taker, TokenID: p.TokenID,
			MakerAmount: p.MakerAmount, TakerAmount: p.TakerAmount, Expiration: zeroIfNil(p.Expiration),
			Nonce: zeroIfNil(p.Nonce), FeeRateBps: zeroIfNil(p.FeeRateBps), Side: p.Side, SignatureType: p.SignatureType}
		sig, hash, err := SignV1(key, &o, d)
		if err != nil {
			return nil, err
		}
		s.Hash, s.V1 = hash, &SignedOrderV1{Order: o, Signature: sig}
	default:
		return nil, fmt.Errorf("%w: protocol %s", ErrInvalidOrder, proto)
	}
	return s, nil
}

// zeroIfNil returns v, or a new zero for nil.
func zeroIfNil(v *big.Int) *big.Int {
	if v == nil {
		return new(big.Int)
	}
	return v
}
