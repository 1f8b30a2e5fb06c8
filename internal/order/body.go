package order

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
)

// SignedOrderV2 is a V2 order with its signature, ready to send.
type SignedOrderV2 struct {
	Order     OrderV2
	Signature []byte
}

// SignedOrderV1 is a V1 order with its signature.
type SignedOrderV1 struct {
	Order     OrderV1
	Signature []byte
}

// MarshalJSON returns the compact order object of POST /order for exchange V2:
// {"salt":<number>,"maker","signer","tokenId","makerAmount","takerAmount","side",
// "signatureType":<int>,"timestamp","expiration","metadata","builder","signature"}.
func (s SignedOrderV2) MarshalJSON() ([]byte, error) {
	return s.appendJSON(make([]byte, 0, 768))
}

func (s SignedOrderV2) appendJSON(b []byte) ([]byte, error) {
	o := &s.Order
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := checkSignature(s.Signature, o.SignatureType); err != nil {
		return nil, err
	}
	b = append(b, `{"salt":`...)
	b = o.Salt.Append(b, 10)
	b = appendStr(b, "maker", o.Maker.Hex())
	b = appendStr(b, "signer", o.Signer.Hex())
	b = appendBig(b, "tokenId", o.TokenID)
	b = appendBig(b, "makerAmount", o.MakerAmount)
	b = appendBig(b, "takerAmount", o.TakerAmount)
	b = appendStr(b, "side", o.Side.String())
	b = append(b, `,"signatureType":`...)
	b = strconv.AppendUint(b, uint64(o.SignatureType), 10)
	b = appendBig(b, "timestamp", o.Timestamp)
	b = appendBig(b, "expiration", orZero(o.Expiration))
	b = appendHex(b, "metadata", o.Metadata[:])
	b = appendHex(b, "builder", o.Builder[:])
	b = appendHex(b, "signature", s.Signature)
	return append(b, '}'), nil
}

// MarshalJSON returns the compact order object of POST /order for exchange V1:
// {"salt":<number>,"maker","signer","taker","tokenId","makerAmount","takerAmount","expiration",
// "nonce","feeRateBps","side","signatureType":<int>,"signature"}.
func (s SignedOrderV1) MarshalJSON() ([]byte, error) {
	return s.appendJSON(make([]byte, 0, 768))
}

func (s SignedOrderV1) appendJSON(b []byte) ([]byte, error) {
	o := &s.Order
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if err := checkSignature(s.Signature, o.SignatureType); err != nil {
		return nil, err
	}
	b = append(b, `{"salt":`...)
	b = o.Salt.Append(b, 10)
	b = appendStr(b, "maker", o.Maker.Hex())
	b = appendStr(b, "signer", o.Signer.Hex())
	b = appendStr(b, "taker", o.Taker.Hex())
	b = appendBig(b, "tokenId", o.TokenID)
	b = appendBig(b, "makerAmount", o.MakerAmount)
	b = appendBig(b, "takerAmount", o.TakerAmount)
	b = appendBig(b, "expiration", o.Expiration)
	b = appendBig(b, "nonce", o.Nonce)
	b = appendBig(b, "feeRateBps", o.FeeRateBps)
	b = appendStr(b, "side", o.Side.String())
	b = append(b, `,"signatureType":`...)
	b = strconv.AppendUint(b, uint64(o.SignatureType), 10)
	b = appendHex(b, "signature", s.Signature)
	return append(b, '}'), nil
}

// PostOrderBody returns the exact compact JSON body of POST /order:
// {"order":{…},"owner":"<api key>","orderType":"GTC","postOnly":false}. The same bytes must be
// sent and signed with the L2 HMAC.
func (s SignedOrderV2) PostOrderBody(owner string, orderType OrderType, postOnly bool) ([]byte, error) {
	if err := checkEnvelope(owner, orderType, postOnly, orZero(s.Order.Expiration)); err != nil {
		return nil, err
	}
	b, err := s.appendJSON(appendEnvelopeStart(make([]byte, 0, 896)))
	if err != nil {
		return nil, err
	}
	return appendEnvelopeEnd(b, owner, orderType, postOnly)
}

// PostOrderBody returns the exact compact JSON body of POST /order for a V1 order.
func (s SignedOrderV1) PostOrderBody(owner string, orderType OrderType, postOnly bool) ([]byte, error) {
	if err := checkEnvelope(owner, orderType, postOnly, orZero(s.Order.Expiration)); err != nil {
		return nil, err
	}
	b, err := s.appendJSON(appendEnvelopeStart(make([]byte, 0, 896)))
	if err != nil {
		return nil, err
	}
	return appendEnvelopeEnd(b, owner, orderType, postOnly)
}

func checkEnvelope(owner string, orderType OrderType, postOnly bool, expiration *big.Int) error {
	if owner == "" {
		return fmt.Errorf("%w: owner (API key) is empty", ErrInvalidOrder)
	}
	if !orderType.Valid() {
		return fmt.Errorf("%w: order type %s (valid: GTC, GTD, FOK, FAK)", ErrInvalidOrder, orderType)
	}
	if postOnly && orderType != GTC && orderType != GTD {
		return fmt.Errorf("%w: postOnly needs GTC or GTD, not %s", ErrInvalidOrder, orderType)
	}
	if orderType == GTD && expiration.Sign() == 0 {
		return fmt.Errorf("%w: GTD order needs a non-zero expiration", ErrInvalidOrder)
	}
	if orderType != GTD && expiration.Sign() != 0 {
		return fmt.Errorf("%w: %s order must have expiration 0, have %s", ErrInvalidOrder, orderType, expiration)
	}
	return nil
}

func appendEnvelopeStart(b []byte) []byte { return append(b, `{"order":`...) }

func appendEnvelopeEnd(b []byte, owner string, orderType OrderType, postOnly bool) ([]byte, error) {
	q, err := json.Marshal(owner)
	if err != nil {
		return nil, fmt.Errorf("encode owner: %w", err)
	}
	b = append(b, `,"owner":`...)
	b = append(b, q...)
	b = appendStr(b, "orderType", orderType.String())
	b = append(b, `,"postOnly":`...)
	b = strconv.AppendBool(b, postOnly)
	return append(b, '}'), nil
}

func checkSignature(sig []byte, t SignatureType) error {
	want := 65
	if t == Poly1271 {
		want = 65 + 64 + len(OrderV2Type) + 2
	}
	if len(sig) != want {
		return fmt.Errorf("%w: %s signature has %d bytes, want %d", ErrInvalidSignature, t, len(sig), want)
	}
	return nil
}

// appendStr appends ,"key":"value"; value must need no JSON escaping.
func appendStr(b []byte, key, value string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":"`...)
	b = append(b, value...)
	return append(b, '"')
}

func appendBig(b []byte, key string, v *big.Int) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":"`...)
	b = v.Append(b, 10)
	return append(b, '"')
}

func appendHex(b []byte, key string, v []byte) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":"0x`...)
	b = hex.AppendEncode(b, v)
	return append(b, '"')
}

var zero = new(big.Int)

func orZero(v *big.Int) *big.Int {
	if v == nil {
		return zero
	}
	return v
}
