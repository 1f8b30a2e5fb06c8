package wallet

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/polymarket"
)

// safeABI is Gnosis Safe 1.3.0's execTransaction (safe-global/safe-contracts v1.3.0
// contracts/GnosisSafe.sol; Polymarket/builder-relayer-client src/abis/safe.ts).
var safeABI = sync.OnceValues(func() (abi.ABI, error) {
	return abi.JSON(strings.NewReader(`[{"type":"function","name":"execTransaction","stateMutability":"payable",
 "inputs":[{"name":"to","type":"address"},{"name":"value","type":"uint256"},{"name":"data","type":"bytes"},{"name":"operation","type":"uint8"},
  {"name":"safeTxGas","type":"uint256"},{"name":"baseGas","type":"uint256"},{"name":"gasPrice","type":"uint256"},{"name":"gasToken","type":"address"},
  {"name":"refundReceiver","type":"address"},{"name":"signatures","type":"bytes"}],
 "outputs":[{"name":"success","type":"bool"}]}]`))
})

// Safe is signature type 2, the 1-of-1 Gnosis Safe of Polymarket's browser-wallet accounts: the
// owner key sends execTransaction to the Safe itself and pays the gas.
//
// The signature is the Safe's "pre-validated" form (v = 1, r = the owner's address, s = 0): Safe
// 1.3.0's checkNSignatures accepts it when msg.sender is that owner, so the owner's signed
// Ethereum transaction is the authorisation. Unlike an ECDSA signature of the SafeTx hash it
// does not bind the Safe's nonce, so two redemptions sent in one round cannot invalidate each
// other. With safeTxGas and gasPrice 0, a call that fails reverts the whole transaction (GS013),
// so the receipt's status tells whether the call went through.
type Safe struct {
	Client Client
	Key    *ecdsa.PrivateKey
	// Address is the Safe; zero means the owner's Polymarket Safe (polymarket.SafeWallet).
	Address common.Address
}

// Funder implements Caller.
func (s Safe) Funder() common.Address {
	if s.Address != (common.Address{}) {
		return s.Address
	}
	return polymarket.SafeWallet(crypto.PubkeyToAddress(s.Key.PublicKey))
}

// SafeCalldata is the execTransaction that makes the Safe call `to` with `data`, authorised
// by owner's pre-validated signature (owner must send it).
func SafeCalldata(owner, to common.Address, data []byte) ([]byte, error) {
	a, err := safeABI()
	if err != nil {
		return nil, fmt.Errorf("safe abi: %w", err)
	}
	sig := make([]byte, 65)
	copy(sig[12:32], owner.Bytes()) // r = the owner, left-padded; s = 0
	sig[64] = 1                     // v = 1: approved by msg.sender
	zero := new(big.Int)
	return a.Pack("execTransaction", to, zero, data, uint8(0), zero, zero, zero, common.Address{}, common.Address{}, sig)
}

// Send implements Caller.
func (s Safe) Send(ctx context.Context, to common.Address, data []byte) (common.Hash, error) {
	call, err := SafeCalldata(crypto.PubkeyToAddress(s.Key.PublicKey), to, data)
	if err != nil {
		return common.Hash{}, err
	}
	return SendTx(ctx, s.Client, s.Key, s.Funder(), call)
}
