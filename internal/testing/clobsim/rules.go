package clobsim

import (
	"fmt"
	"math/big"

	"github.com/polybot/polybot/internal/order"
)

// The CLOB's own checks of a signed V2 order's fields, written here from the protocol's
// description rather than borrowed from polybot (order.OrderV2.Validate is what polybot checks
// its own orders with; a rule too lax there must not be lax here too).

// uint256Limit bounds every uint256 field of the EIP-712 Order struct (ctf-exchange-v2
// OrderStructs.sol: salt, tokenId, makerAmount, takerAmount, timestamp are uint256).
var uint256Limit = new(big.Int).Lsh(big.NewInt(1), 256)

// maxSaltCLOB is the largest salt the CLOB takes: rs-clob-client masks the salt to 2^53−1
// because "the backend parses it as IEEE 754" (polymarket.md §4a); the stricter reading refuses
// a larger one rather than rounding it.
const maxSaltCLOB = 1<<53 - 1

// checkOrderFields applies the field rules of a V2 order: every number a uint256, the salt
// within a double's exact integers, side BUY or SELL, a known signature type, and the
// maker/signer rule of that type.
func checkOrderFields(o *order.OrderV2) error {
	for _, f := range []struct {
		name string
		v    *big.Int
	}{{"salt", o.Salt}, {"tokenId", o.TokenID}, {"makerAmount", o.MakerAmount}, {"takerAmount", o.TakerAmount},
		{"timestamp", o.Timestamp}, {"expiration", o.Expiration}} {
		if f.v == nil || f.v.Sign() < 0 || f.v.Cmp(uint256Limit) >= 0 {
			return fmt.Errorf("%s is not a uint256", f.name)
		}
	}
	if o.Salt.Cmp(big.NewInt(maxSaltCLOB)) > 0 {
		return fmt.Errorf("salt %s exceeds 2^53-1", o.Salt)
	}
	// Side enum: BUY = 0, SELL = 1 (OrderStructs.sol).
	if o.Side != order.Buy && o.Side != order.Sell {
		return fmt.Errorf("side %d", o.Side)
	}
	return checkMakerSigner(o)
}

// checkMakerSigner is the maker/signer rule of each signature type. EOA (0): the signer is the
// maker (ctf-exchange src/exchange/mixins/Signatures.sol, verifyEOASignature: "return (signer ==
// maker) && verifyECDSASignature(...)"). POLY_PROXY (1) and POLY_GNOSIS_SAFE (2): the maker is
// the signer's proxy or safe, derived from the signer when the signature is checked
// (rules_wallets.go). POLY_1271 (3): maker = signer = the deposit wallet (polymarket.md §4b).
func checkMakerSigner(o *order.OrderV2) error {
	switch o.SignatureType {
	case 0, 3:
		if o.Signer != o.Maker {
			return fmt.Errorf("signature type %d needs signer == maker, have signer %s maker %s", o.SignatureType, o.Signer.Hex(), o.Maker.Hex())
		}
	case 1, 2:
	default:
		return fmt.Errorf("signature type %d", o.SignatureType)
	}
	return nil
}
