package polymarket

import (
	"github.com/ethereum/go-ethereum/common"
)

// WalletKind is the kind of wallet an address is to an owner key. Its values are the order
// signature types the wallet signs with (EOA 0, POLY_PROXY 1, POLY_GNOSIS_SAFE 2, POLY_1271 3).
type WalletKind int

// The wallet kinds. NotOwnersWallet is an address that is none of the owner's wallets.
const (
	NotOwnersWallet WalletKind = -1
	WalletEOA       WalletKind = 0
	WalletProxy     WalletKind = 1
	WalletSafe      WalletKind = 2
	WalletDeposit   WalletKind = 3
)

func (k WalletKind) String() string {
	switch k {
	case WalletEOA:
		return "EOA"
	case WalletProxy:
		return "Polymarket proxy"
	case WalletSafe:
		return "Gnosis Safe"
	case WalletDeposit:
		return "deposit wallet"
	}
	return "none of the key's wallets"
}

// OwnerWallets are the addresses an owner key trades from on Polymarket, one per kind.
type OwnerWallets struct {
	Owner common.Address
	Proxy common.Address
	Safe  common.Address
	// Deposit are the deposit wallet's possible addresses: DepositWalletCandidates, and the
	// beacon proxy of any other beacon the factory reports on chain.
	Deposit []common.Address
}

// WalletsOf derives owner's wallets. extraBeacons are beacons other than DepositWalletBeacon
// that DepositWalletFactory.BEACON() returned on chain.
func WalletsOf(owner common.Address, extraBeacons ...common.Address) OwnerWallets {
	w := OwnerWallets{Owner: owner, Proxy: ProxyWallet(owner), Safe: SafeWallet(owner), Deposit: DepositWalletCandidates(owner)}
	for _, b := range extraBeacons {
		if b != (common.Address{}) && b != DepositWalletBeacon {
			w.Deposit = append(w.Deposit, DepositWalletBeaconAddress(owner, DepositWalletFactory, b))
		}
	}
	return w
}

// KindOf is what funder is to the owner: the owner itself (or no funder) is an EOA, else the
// wallet it equals, else NotOwnersWallet.
func (w OwnerWallets) KindOf(funder common.Address) WalletKind {
	switch funder {
	case common.Address{}, w.Owner:
		return WalletEOA
	case w.Proxy:
		return WalletProxy
	case w.Safe:
		return WalletSafe
	}
	for _, d := range w.Deposit {
		if funder == d {
			return WalletDeposit
		}
	}
	return NotOwnersWallet
}

// Address is the owner's wallet of kind k: the owner for an EOA, the current deposit wallet
// (beacon) for a deposit wallet.
func (w OwnerWallets) Address(k WalletKind) common.Address {
	switch k {
	case WalletProxy:
		return w.Proxy
	case WalletSafe:
		return w.Safe
	case WalletDeposit:
		return w.Deposit[0]
	}
	return w.Owner
}

// NegRiskAdapterTrading is the NegRisk Adapter the V2 client approves for trading neg-risk
// markets: Polymarket/clob-client-v2 v1.1.0 src/config.ts (negRiskAdapter, chain 137) and
// examples/account/approveNegRiskAllowances.ts. (NegRiskAdapter above is the one neg-risk
// redemptions go through.)
var NegRiskAdapterTrading = common.HexToAddress("0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296")

// CollateralPUSD is pUSD, the CLOB V2 collateral (an ERC-20 with 6 decimals): clob-client-v2 v1.1.0
// src/config.ts (collateral, chains 137 and 80002).
var CollateralPUSD = common.HexToAddress("0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB")

// TradingSpenders are the contracts a funder approves before it trades on the V2 CLOB, each
// both as a pUSD spender (approve) and as a CTF operator (setApprovalForAll): the two V2
// exchanges (orders settle through them) and the NegRisk Adapter (neg-risk matches split and
// convert through it). Sources: clob-client-v2 v1.1.0 examples/account/approveAllowances.ts,
// approveNegRiskAllowances.ts and approveDepositWalletAllowances.ts.
func TradingSpenders(ctfExchange, negRiskExchange common.Address) []common.Address {
	return []common.Address{ctfExchange, negRiskExchange, NegRiskAdapterTrading}
}
