package polymarket

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// The factories that deploy the wallets Polymarket's web app gives its users, on Polygon
// (chain 137), and the hashes of the creation code they deploy. A wallet's address follows from
// its owner's address alone (CREATE2), so it is known before the wallet is deployed.
//
// Sources: Polymarket/builder-relayer-client src/config/index.ts (ProxyFactory, SafeFactory,
// chain 137), src/constants/index.ts (SAFE_INIT_CODE_HASH), src/builder/derive.ts (the salts);
// Polymarket/magic-proxy-builder-example constants/proxyWallet.ts (PROXY_INIT_CODE_HASH). Test vectors:
// Polymarket/rs-clob-client src/lib.rs (derive_proxy_wallet_polygon, derive_safe_wallet_polygon).
var (
	ProxyWalletFactory = common.HexToAddress("0xaB45c5A4B0c941a2F231C04C3f49182e1A254052")
	SafeWalletFactory  = common.HexToAddress("0xaacFeEa03eb1561C4e67d661e40682Bd20E3541b")
	proxyInitCodeHash  = common.HexToHash("0xd21df8dc65880a8606f09fe0ce3df9b8869287ab0b058be05aa9e8af6330a00b")
	safeInitCodeHash   = common.HexToHash("0x2bce2127ff07fb632d16c8347c4ebf501f4841168bed00d9e6ef715ddb6fcecf")
)

// PolygonChainID is the chain where the wallet factories above are deployed.
const PolygonChainID = 137

// ProxyWallet is the address of owner's Polymarket proxy wallet (signature type 1, the
// email/Magic accounts): CREATE2 by ProxyWalletFactory with salt keccak256(owner's 20 bytes).
func ProxyWallet(owner common.Address) common.Address {
	return crypto.CreateAddress2(ProxyWalletFactory, crypto.Keccak256Hash(owner.Bytes()), proxyInitCodeHash.Bytes())
}

// SafeWallet is the address of owner's Polymarket 1-of-1 Gnosis Safe (signature type 2, the
// browser-wallet accounts): CREATE2 by SafeWalletFactory with salt keccak256(abi.encode(owner)),
// the address left-padded to 32 bytes.
func SafeWallet(owner common.Address) common.Address {
	return crypto.CreateAddress2(SafeWalletFactory, crypto.Keccak256Hash(common.LeftPadBytes(owner.Bytes(), 32)), safeInitCodeHash.Bytes())
}
