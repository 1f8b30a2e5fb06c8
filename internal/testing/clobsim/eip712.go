package clobsim

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/polybot/polybot/internal/order"
)

// orderTypes is the EIP-712 typed data of the exchanges' Order, as the official V2 client
// declares it (clob-client-v2 src/order-utils/model/ctfExchangeV2TypedData.ts): ExchangeV2 and
// ExchangeV3 share it and differ only in the domain's version and verifying contract
// (tests/order-utils/exchangeOrderBuilderV2.test.ts).
var orderTypes = apitypes.Types{
	"EIP712Domain": {{Name: "name", Type: "string"}, {Name: "version", Type: "string"},
		{Name: "chainId", Type: "uint256"}, {Name: "verifyingContract", Type: "address"}},
	"Order": {{Name: "salt", Type: "uint256"}, {Name: "maker", Type: "address"}, {Name: "signer", Type: "address"},
		{Name: "tokenId", Type: "uint256"}, {Name: "makerAmount", Type: "uint256"}, {Name: "takerAmount", Type: "uint256"},
		{Name: "side", Type: "uint8"}, {Name: "signatureType", Type: "uint8"}, {Name: "timestamp", Type: "uint256"},
		{Name: "metadata", Type: "bytes32"}, {Name: "builder", Type: "bytes32"}},
}

// orderDigest is the EIP-712 hash of o under the exchange domain of version at exchange, which
// is the order hash the exchange and the CLOB use. It is computed by go-ethereum's typed-data
// encoder, not by polybot's: the fake checks polybot's signing with another implementation.
func orderDigest(version string, chainID int64, exchange common.Address, o *order.OrderV2) (common.Hash, error) {
	td := apitypes.TypedData{
		Types:       orderTypes,
		PrimaryType: "Order",
		Domain: apitypes.TypedDataDomain{Name: "Polymarket CTF Exchange", Version: version,
			ChainId: math.NewHexOrDecimal256(chainID), VerifyingContract: exchange.Hex()},
		Message: apitypes.TypedDataMessage{
			"salt": o.Salt.String(), "maker": o.Maker.Hex(), "signer": o.Signer.Hex(), "tokenId": o.TokenID.String(),
			"makerAmount": o.MakerAmount.String(), "takerAmount": o.TakerAmount.String(),
			"side": big.NewInt(int64(o.Side)).String(), "signatureType": big.NewInt(int64(o.SignatureType)).String(),
			"timestamp": o.Timestamp.String(), "metadata": hexutil.Encode(o.Metadata[:]), "builder": hexutil.Encode(o.Builder[:]),
		},
	}
	h, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		return common.Hash{}, err
	}
	return common.BytesToHash(h), nil
}
