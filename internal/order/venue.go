package order

import (
	"errors"

	"github.com/ethereum/go-ethereum/common"
)

// Exchanges are the verifying contracts polybot signs orders for: the CLOB V2 exchanges of CTF
// token ids (CTF and NegRisk, domain version "2") and ExchangeV3, the exchange of Protocol V2
// position ids (domain version "3").
type Exchanges struct {
	CTF, NegRisk, V3 common.Address
}

// Venue is where an order is signed: its protocol (EIP-712 domain version) and verifying
// contract.
type Venue struct {
	Protocol Protocol
	Exchange common.Address
}

// ErrNoExchangeV3 is returned by VenueFor for a position id when no ExchangeV3 is configured.
var ErrNoExchangeV3 = errors.New("no ExchangeV3 address to sign a Protocol V2 position order for")

// VenueFor returns the venue of an order on one outcome id, as clob-client-v2 routes it since
// Protocol V2 (tests/client/positionOrders.test.ts, src/order-builder/helpers/orderAsset.ts):
//
//   - a Protocol V2 position id (a market Gamma marks "version": "v2", whose outcome ids are its
//     positionIds) is signed for ExchangeV3 under domain version "3", whatever neg_risk and the
//     requested order version say;
//   - a CTF token id is signed under domain version "2" for the neg-risk exchange when negRisk,
//     for the CTF exchange otherwise.
//
// The signed Order struct and the body's "tokenId" field are the same for both: a position id
// goes where the token id went.
func VenueFor(position, negRisk bool, ex Exchanges) (Venue, error) {
	switch {
	case position && ex.V3 == (common.Address{}):
		return Venue{}, ErrNoExchangeV3
	case position:
		return Venue{Protocol: V3, Exchange: ex.V3}, nil
	case negRisk:
		return Venue{Protocol: V2, Exchange: ex.NegRisk}, nil
	default:
		return Venue{Protocol: V2, Exchange: ex.CTF}, nil
	}
}

// Domain returns the EIP-712 domain of orders signed at v on chainID.
func (v Venue) Domain(chainID int64) Domain { return ExchangeDomain(v.Protocol, chainID, v.Exchange) }
