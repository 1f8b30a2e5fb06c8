package polymarket

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Where a pUSD account's winnings are redeemed on Polygon since the CLOB V2 cutover
// (2026-04-28). Sources: Polymarket/ctf-exchange-v2 README (addresses) and
// src/adapters/CtfCollateralAdapter.sol, NegRiskCtfCollateralAdapter.sol: both adapters take the
// CTF's redeemPositions(address, bytes32, bytes32 conditionId, uint256[]) signature, pull the
// caller's whole balance of the condition's positions (the caller must have approved the
// adapter on the CTF with setApprovalForAll), redeem them for USDC.e and mint the USDC.e as
// pUSD to the caller (CollateralToken.wrap).
var (
	// CtfRedeemAdapter is the CtfCollateralAdapter: standard markets.
	CtfRedeemAdapter = common.HexToAddress("0xADa100874d00e3331D00F2007a9c336a65009718")
	// NegRiskRedeemAdapter is the NegRiskCtfCollateralAdapter: neg-risk markets.
	NegRiskRedeemAdapter = common.HexToAddress("0xAdA200001000ef00D07553cEE7006808F895c6F1")
)

// Topics of the events that prove a redemption paid.
var (
	// PayoutRedemptionTopic is the CTF's PayoutRedemption(address indexed redeemer, address
	// indexed collateralToken, bytes32 indexed parentCollectionId, bytes32 conditionId,
	// uint256[] indexSets, uint256 payout) (gnosis/conditional-tokens-contracts).
	PayoutRedemptionTopic = crypto.Keccak256Hash([]byte("PayoutRedemption(address,address,bytes32,bytes32,uint256[],uint256)"))
	// NegRiskPayoutRedemptionTopic is the NegRiskAdapter's PayoutRedemption(address indexed
	// redeemer, bytes32 indexed conditionId, uint256[] amounts, uint256 payout)
	// (Polymarket/neg-risk-ctf-adapter src/NegRiskAdapter.sol).
	NegRiskPayoutRedemptionTopic = crypto.Keccak256Hash([]byte("PayoutRedemption(address,bytes32,uint256[],uint256)"))
	// TransferTopic is ERC-20's Transfer(address indexed from, address indexed to, uint256 value).
	TransferTopic = crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))
)
