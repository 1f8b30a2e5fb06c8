package polymarket

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Deposit wallets (signature type 3, POLY_1271) are the accounts Polymarket opens since the
// CLOB V2 cutover. Polymarket's relayer deploys one per owner through DepositWalletFactory, a
// CREATE2 deployer of Solady ERC-1967 clones; the wallet id is the owner's address left-padded
// to 32 bytes, and the clone's immutable arguments are abi.encode(factory, walletId).
//
// The factory has deployed two kinds of clone, at two different addresses for the same owner:
//
//   - before the factory's upgrade (Polygon, late June 2026) a UUPS clone of
//     DepositWalletImplementation: those wallets keep working where they are;
//   - since then a beacon proxy bound to the factory's BEACON(): every new wallet.
//
// The owner's wallet is the legacy UUPS one when code is deployed there, else the beacon one:
// the rule of Polymarket/py-builder-relayer-client RelayClient.get_expected_deposit_wallet
// (commit 4e49a2b354b80c67f9c662645b6f9c6bfa6d7bcc) and Polymarket/builder-relayer-client
// pull request 34 (RelayClient.deriveDepositWalletAddress, 0.0.10). Funds sent to an undeployed
// UUPS address are stranded: the upgraded factory can no longer create it
// (py-builder-relayer-client issue 27).
//
// Sources of the constants: py-builder-relayer-client builder/derive.py (the clones' init code),
// tests/builder/test_derive.py (factory, implementation and beacon on Polygon, and the vectors
// in testdata/wallet-vectors.json); py-builder-relayer-client issue 27 (BEACON() selector
// 0x49493a4d and its value, read on chain).
var (
	DepositWalletFactory = common.HexToAddress("0x00000000000Fb5C9ADea0298D729A0CB3823Cc07")
	// DepositWalletBeacon is what DepositWalletFactory.BEACON() returned after the upgrade.
	// Preflight reads BEACON() again when it can, in case the factory moves on.
	DepositWalletBeacon = common.HexToAddress("0x7A18EDfe055488A3128f01F563e5B479D92ffc3a")
	// DepositWalletImplementation is the implementation the legacy UUPS clones point at.
	DepositWalletImplementation = common.HexToAddress("0x58CA52ebe0DadfdF531Cde7062e76746de4Db1eB")
)

// DepositWalletBeaconSelector is the selector of DepositWalletFactory's BEACON() view.
var DepositWalletBeaconSelector = []byte{0x49, 0x49, 0x3a, 0x4d}

// DepositWallet is the address of owner's deposit wallet as the factory deploys it today (a
// beacon proxy bound to DepositWalletBeacon). An owner whose wallet was deployed before the
// factory's upgrade has it at DepositWalletUUPS instead; DepositWalletCandidates lists both.
func DepositWallet(owner common.Address) common.Address {
	return DepositWalletBeaconAddress(owner, DepositWalletFactory, DepositWalletBeacon)
}

// DepositWalletCandidates are the addresses owner's deposit wallet can have on Polygon: the
// beacon one first, then the legacy UUPS one (the owner's wallet only when code is there).
func DepositWalletCandidates(owner common.Address) []common.Address {
	return []common.Address{DepositWallet(owner), DepositWalletUUPS(owner)}
}

// DepositWalletUUPS is the address of owner's legacy UUPS deposit wallet on Polygon.
func DepositWalletUUPS(owner common.Address) common.Address {
	return DepositWalletUUPSAddress(owner, DepositWalletFactory, DepositWalletImplementation)
}

// DepositWalletUUPSAddress is the CREATE2 address factory gives owner's UUPS clone of
// implementation (Solady LibClone.deployDeterministicERC1967 with immutable arguments).
func DepositWalletUUPSAddress(owner, factory, implementation common.Address) common.Address {
	args := depositWalletArgs(owner, factory)
	// The ERC-1967 clone's creation code: a 10-byte header whose PUSH2 carries the runtime
	// length (0x3d plus the arguments), the implementation, and the fixed runtime body.
	code := cloneHeader("0x61003d3d8160233d3973", len(args))
	code = append(code, implementation.Bytes()...)
	code = append(code, 0x60, 0x09)
	code = append(code, common.FromHex("0x5155f3363d3d373d3d363d7f360894a13ba1a3210667c828492db98dca3e2076")...)
	code = append(code, common.FromHex("0xcc3735a920a3ca505d382bbc545af43d6000803e6038573d6000fd5b3d6000f3")...)
	code = append(code, args...)
	return crypto.CreateAddress2(factory, crypto.Keccak256Hash(args), crypto.Keccak256(code))
}

// DepositWalletBeaconAddress is the CREATE2 address factory gives owner's beacon proxy bound
// to beacon (Solady LibClone.deployDeterministicERC1967BeaconProxy with immutable arguments).
func DepositWalletBeaconAddress(owner, factory, beacon common.Address) common.Address {
	args := depositWalletArgs(owner, factory)
	code := cloneHeader("0x6100523d8160233d3973", len(args))
	code = append(code, beacon.Bytes()...)
	code = append(code, common.FromHex("0x60195155f3363d3d373d3d363d602036600436635c60da")...)
	code = append(code, common.FromHex("0x1b60e01b36527fa3f0ad74e5423aebfd80d3ef4346578335a9a72aeaee59ff6c")...)
	code = append(code, common.FromHex("0xb3582b35133d50545afa5036515af43d6000803e604d573d6000fd5b3d6000f3")...)
	code = append(code, args...)
	return crypto.CreateAddress2(factory, crypto.Keccak256Hash(args), crypto.Keccak256(code))
}

// depositWalletArgs is abi.encode(address factory, bytes32 walletId), walletId = owner
// left-padded: the clone's immutable arguments, whose hash is also the CREATE2 salt.
func depositWalletArgs(owner, factory common.Address) []byte {
	return append(common.LeftPadBytes(factory.Bytes(), 32), common.LeftPadBytes(owner.Bytes(), 32)...)
}

// cloneHeader is a clone's 10-byte creation header with the arguments' length added at bit 56
// of the 80-bit word: to the operand of its leading PUSH2 (bytes 1 and 2, big-endian).
func cloneHeader(header string, argsLen int) []byte {
	out := common.FromHex(header)
	n := int(out[1])<<8 | int(out[2]) + argsLen
	out[1], out[2] = byte(n>>8), byte(n)
	return out
}
