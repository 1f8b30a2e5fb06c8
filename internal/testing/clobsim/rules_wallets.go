package clobsim

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
)

// How the exchange checks an order's signature, per signature type, written from the exchange's
// own rules (Polymarket/ctf-exchange src/exchange/mixins/Signatures.sol and PolyFactoryHelper.sol;
// ctf-exchange-v2 adds POLY_1271) rather than from polybot's signing code: clobsim recovers
// signers and derives wallet addresses itself.
//
//	0 EOA         ecrecover(hash, sig) == signer, and signer == maker ("return (signer == maker)
//	              && verifyECDSASignature(...)", verifyEOASignature).
//	1 POLY_PROXY  ecrecover(hash, sig) == signer, and maker == the signer's Polymarket proxy:
//	              CREATE2 by the proxy factory, salt keccak256(signer's 20 bytes)
//	              (verifyPolyProxySignature, getPolyProxyWalletAddress).
//	2 POLY_GNOSIS_SAFE  ecrecover(hash, sig) == signer, and maker == the signer's 1-of-1 Safe:
//	              CREATE2 by the Safe factory, salt keccak256(abi.encode(signer))
//	              (verifyPolySafeSignature, getSafeAddress).
//	3 POLY_1271   signer == maker == the deposit wallet, and the wallet's ERC-1271
//	              isValidSignature(hash, sig) returns 0x1626ba7e (the exchange calls the wallet;
//	              the wallet checks its owner's ERC-7739 TypedDataSign signature). clobsim asks
//	              the wallet on polysim's chain by eth_call; without a chain it refuses type 3.
//
// The factory addresses are Polygon's (polymarket.ProxyWalletFactory, SafeWalletFactory); the
// creation-code hashes are those of Polymarket/builder-relayer-client src/constants/index.ts
// (SAFE_INIT_CODE_HASH) and Polymarket/magic-proxy-builder-example constants/proxyWallet.ts
// (PROXY_INIT_CODE_HASH); rs-clob-client's derive_proxy_wallet_polygon/derive_safe_wallet_polygon
// vectors pin both (rules_wallets_test.go).
var (
	proxyCreationHash = common.HexToHash("0xd21df8dc65880a8606f09fe0ce3df9b8869287ab0b058be05aa9e8af6330a00b")
	safeCreationHash  = common.HexToHash("0x2bce2127ff07fb632d16c8347c4ebf501f4841168bed00d9e6ef715ddb6fcecf")
	// erc1271Magic is bytes4(keccak256("isValidSignature(bytes32,bytes)")) (EIP-1271).
	erc1271Magic = [4]byte{0x16, 0x26, 0xba, 0x7e}
	// isValidSignatureSelector is the same four bytes: the function's selector is its magic value.
	isValidSignatureSelector = erc1271Magic
)

// msgNoChain refuses a POLY_1271 order when clobsim was given no chain to ask the wallet on.
const msgNoChain = "clobsim: POLY_1271 orders need Options.Chain (polysim's RPC) to call the deposit wallet's isValidSignature"

// chainCallTimeout bounds one eth_call to the wallet.
const chainCallTimeout = 10 * time.Second

// proxyOf is the Polymarket proxy wallet of signer (signature type 1).
func proxyOf(signer common.Address) common.Address {
	return crypto.CreateAddress2(polymarket.ProxyWalletFactory, crypto.Keccak256Hash(signer.Bytes()), proxyCreationHash[:])
}

// safeOf is the Polymarket Gnosis Safe of signer (signature type 2).
func safeOf(signer common.Address) common.Address {
	return crypto.CreateAddress2(polymarket.SafeWalletFactory, crypto.Keccak256Hash(common.LeftPadBytes(signer.Bytes(), 32)), safeCreationHash[:])
}

// ecrecover returns the address that made the 65-byte r ‖ s ‖ v signature of hash; v may be 27/28
// or 0/1 (the exchange uses OpenZeppelin's ECDSA.recover, which also refuses a high s).
func ecrecover(hash common.Hash, sig []byte) (common.Address, error) {
	if len(sig) != 65 {
		return common.Address{}, fmt.Errorf("signature length %d", len(sig))
	}
	v := sig[64]
	if v >= 27 {
		v -= 27
	}
	if v > 1 || !crypto.ValidateSignatureValues(v, new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:64]), true) {
		return common.Address{}, fmt.Errorf("bad r, s or v")
	}
	norm := append(append([]byte(nil), sig[:64]...), v)
	pub, err := crypto.SigToPub(hash[:], norm)
	if err != nil {
		return common.Address{}, err
	}
	return crypto.PubkeyToAddress(*pub), nil
}

// isValidSignatureCall packs isValidSignature(bytes32 hash, bytes sig).
func isValidSignatureCall(hash common.Hash, sig []byte) []byte {
	in := make([]byte, 0, 4+32*3+len(sig)+32)
	in = append(in, isValidSignatureSelector[:]...)
	in = append(in, hash[:]...)
	in = append(in, common.BigToHash(big.NewInt(64)).Bytes()...)
	in = append(in, common.BigToHash(big.NewInt(int64(len(sig)))).Bytes()...)
	in = append(in, sig...)
	if pad := len(sig) % 32; pad != 0 {
		in = append(in, make([]byte, 32-pad)...)
	}
	return in
}

// checkSigner applies the signature rule of the order's type (above).
func (s *Server) checkSigner(ctx context.Context, o *order.OrderV2, hash common.Hash, sig []byte) *rejection {
	if err := checkMakerSigner(o); err != nil {
		return reject("%s: %v", msgInvalidPayload, err)
	}
	if o.SignatureType == order.Poly1271 {
		if s.walletChain == nil {
			return reject("%s", msgNoChain)
		}
		ctx, cancel := context.WithTimeout(ctx, chainCallTimeout)
		defer cancel()
		wallet := o.Signer
		out, err := s.walletChain.CallContract(ctx, ethereum.CallMsg{To: &wallet, Data: isValidSignatureCall(hash, sig)}, nil)
		if err != nil || len(out) < 4 || [4]byte(out[:4]) != erc1271Magic {
			return reject("invalid signature")
		}
		return nil
	}
	got, err := ecrecover(hash, sig)
	if err != nil || got != o.Signer {
		return reject("invalid signature")
	}
	switch o.SignatureType {
	case order.PolyProxy:
		if want := proxyOf(o.Signer); o.Maker != want {
			return reject("%s: maker %s is not the proxy wallet %s of signer %s", msgInvalidPayload, o.Maker.Hex(), want.Hex(), o.Signer.Hex())
		}
	case order.PolyGnosisSafe:
		if want := safeOf(o.Signer); o.Maker != want {
			return reject("%s: maker %s is not the safe %s of signer %s", msgInvalidPayload, o.Maker.Hex(), want.Hex(), o.Signer.Hex())
		}
	}
	return nil
}

// AllowDepositWalletKey lets the API key of owner (an EOA, as every official client binds keys:
// docs/live-trading.md "Deposit wallets") place POLY_1271 orders for the deposit wallet
// registered as owner's funder (SetFunder/Options.Funders). Without it such orders get
// msgSignerNotKey, as the public reports have it for most accounts (py-clob-client-v2 issues
// 64, 65, 71, 75, 91; clob-client-v2 issues 66, 103); some report the CLOB took them once
// Polymarket's support had enabled the account (py-clob-client-v2 issue 64, Aug 2026). The
// stricter reading is the default.
func (s *Server) AllowDepositWalletKey(owner common.Address) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.access.walletKeys == nil {
		s.access.walletKeys = map[common.Address]bool{}
	}
	s.access.walletKeys[owner] = true
}

// signerIsKeys applies the rule that the order's signer be the API key's address, with the one
// exception AllowDepositWalletKey grants. Called with s.mu held.
func (s *Server) signerIsKeysLocked(o *order.OrderV2, acct Account) bool {
	if o.Signer == acct.Address {
		return true
	}
	return o.SignatureType == order.Poly1271 && s.access.walletKeys[acct.Address] && s.funders[acct.Address] == o.Signer
}
