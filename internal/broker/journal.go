package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/order"
)

// This file keeps a prepared order in the state store with its intent, so that an order a crash
// stopped before it reached the CLOB can be sent after the restart as that very order: the same
// signed fields, so the same order hash. The exchange contract tracks how much of an order hash
// has filled and never fills more than its amounts (the CTF exchange's orderStatus), and the CLOB
// refuses a duplicate hash: sending the same signed order again can never trade a fill twice,
// where signing a new one could.

// journaled is a prepared order as its intent records it: the signed order's fields, the
// exchange it was signed for (its EIP-712 domain), the order type it was posted with, and what
// reading the CLOB's answer needs. The POST envelope's owner (the API key) is not kept: it is
// the broker's current key when the order is sent again.
type journaled struct {
	Exchange common.Address `json:"exchange"`
	// Protocol is the order version it was signed for: 3 for ExchangeV3's domain; 0 (older
	// journals) and 2 are V2.
	Protocol      order.Protocol      `json:"protocol,omitempty"`
	OrderType     string              `json:"order_type"`
	Salt          *big.Int            `json:"salt"`
	Maker         common.Address      `json:"maker"`
	Signer        common.Address      `json:"signer"`
	TokenID       *big.Int            `json:"token_id"`
	MakerAmount   *big.Int            `json:"maker_amount"`
	TakerAmount   *big.Int            `json:"taker_amount"`
	Side          order.Side          `json:"side"`
	SignatureType order.SignatureType `json:"signature_type"`
	Timestamp     *big.Int            `json:"timestamp"`
	Expiration    *big.Int            `json:"expiration"`
	Metadata      common.Hash         `json:"metadata"`
	Builder       common.Hash         `json:"builder"`
	Signature     hexutil.Bytes       `json:"signature"`
	Price         decimal.Decimal     `json:"price"`
	Size          decimal.Decimal     `json:"size"`
	Amount        decimal.Decimal     `json:"amount"`
	FeeRateBps    int                 `json:"fee_rate_bps"`
	FeeExponent   int                 `json:"fee_exponent,omitempty"` // absent in older journals: 1
}

// ErrNoJournal: a prepared order has nothing to journal (it was not signed by Prepare).
var ErrNoJournal = errors.New("the order was not signed by this broker: nothing to journal")

// Journal encodes p for its intent, so that Restore can rebuild it after a restart.
func (p *Prepared) Journal() ([]byte, error) {
	o := &p.Order.Order
	if p.exchange == (common.Address{}) || o.Salt == nil {
		return nil, ErrNoJournal
	}
	return json.Marshal(journaled{
		Exchange: p.exchange, Protocol: p.proto, OrderType: p.orderType.String(),
		Salt: o.Salt, Maker: o.Maker, Signer: o.Signer, TokenID: o.TokenID, MakerAmount: o.MakerAmount,
		TakerAmount: o.TakerAmount, Side: o.Side, SignatureType: o.SignatureType, Timestamp: o.Timestamp,
		Expiration: o.Expiration, Metadata: o.Metadata, Builder: o.Builder, Signature: p.Order.Signature,
		Price: p.Price, Size: p.Size, Amount: p.Amount, FeeRateBps: p.FeeRateBps, FeeExponent: p.FeeExponent,
	})
}

// Restore rebuilds the prepared order an intent journaled (Journal), ready for PlaceOrder to
// post again. It refuses a journal whose order does not hash to hash, the order hash the intent
// recorded (under the EIP-712 domain of this broker's chain and the journaled exchange), or
// that was signed by another key: the order sent is the one the intent names, or none.
func (b *CLOB) Restore(data []byte, hash common.Hash) (*Prepared, error) {
	var j journaled
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("journaled order %s: %w", hash.Hex(), err)
	}
	proto := order.V2
	switch j.Exchange {
	case b.ctf, b.neg:
	case b.v3:
		proto = order.V3 // a Protocol V2 position order (order.VenueFor)
	default:
		return nil, fmt.Errorf("journaled order %s: exchange %s is not one this broker trades on", hash.Hex(), j.Exchange.Hex())
	}
	if j.Maker != b.maker || j.Signer != b.signer {
		return nil, fmt.Errorf("journaled order %s: maker %s and signer %s are not this broker's", hash.Hex(), j.Maker.Hex(), j.Signer.Hex())
	}
	ot, err := order.ParseOrderType(j.OrderType)
	if err != nil {
		return nil, fmt.Errorf("journaled order %s: %w", hash.Hex(), err)
	}
	ov := order.OrderV2{
		Salt: j.Salt, Maker: j.Maker, Signer: j.Signer, TokenID: j.TokenID, MakerAmount: j.MakerAmount,
		TakerAmount: j.TakerAmount, Side: j.Side, SignatureType: j.SignatureType, Timestamp: j.Timestamp,
		Expiration: j.Expiration, Metadata: j.Metadata, Builder: j.Builder,
	}
	if err := ov.Validate(); err != nil {
		return nil, fmt.Errorf("journaled order %s: %w", hash.Hex(), err)
	}
	if got := ov.Hash(order.ExchangeDomain(proto, b.chainID, j.Exchange)); got != hash {
		return nil, fmt.Errorf("journaled order hashes to %s, its intent recorded %s: it is not the order the intent names", got.Hex(), hash.Hex())
	}
	if proto == order.V3 {
		b.positions.Add(j.TokenID.String(), true)
	}
	signed := order.SignedOrderV2{Order: ov, Signature: j.Signature}
	body, err := signed.PostOrderBody(b.apiKey, ot, false)
	if err != nil {
		return nil, fmt.Errorf("journaled order %s: %w", hash.Hex(), err)
	}
	return &Prepared{Price: j.Price, Size: j.Size, Amount: j.Amount, FeeRateBps: j.FeeRateBps, FeeExponent: j.FeeExponent, Hash: hash, Body: body,
		Order: signed, exchange: j.Exchange, proto: proto, orderType: ot}, nil
}
