package wallet

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/order"
)

// The deposit wallet's batch (signature type 3). The owner signs, under EIP-712, a Batch of calls
// for the wallet's current nonce and a deadline; the wallet runs them as itself. The types, the
// domain (name "DepositWallet", version "1", the chain, the wallet) and the 240 s deadline follow
// Polymarket/clob-client-v2 v1.1.0 examples/account/approveDepositWalletAllowances.ts, which
// reads the wallet's nonce() and gives the batch to Polymarket's relayer (POST /submit, type
// "WALLET", "relayer max is 300s").
//
// Uncertain: no official client shows the wallet's on-chain entry point (the relayer submits the
// batch to the deposit wallet factory). DepositWallet sends it straight to the wallet as
// executeBatch(calls, deadline, signature), the function polysim's stand-in
// (internal/testing/contracts/src/DepositWallet.sol) offers; on Polygon the relayer's path is
// the documented one (docs/live-trading.md, "Deposit wallets").
const (
	batchCallType = "Call(address target,uint256 value,bytes data)"
	batchType     = "Batch(address wallet,uint256 nonce,uint256 deadline,Call[] calls)" + batchCallType
	// BatchDeadline is how long a signed batch stays valid, from the newest block's time.
	BatchDeadline = 240
)

var (
	batchCallTypeHash = crypto.Keccak256Hash([]byte(batchCallType))
	batchTypeHash     = crypto.Keccak256Hash([]byte(batchType))
	depositWalletABI  = mustABI(`[
		{"type":"function","name":"nonce","stateMutability":"view","inputs":[],"outputs":[{"name":"","type":"uint256"}]},
		{"type":"function","name":"executeBatch","stateMutability":"nonpayable","inputs":[
			{"name":"calls","type":"tuple[]","components":[
				{"name":"target","type":"address"},{"name":"value","type":"uint256"},{"name":"data","type":"bytes"}]},
			{"name":"deadline","type":"uint256"},{"name":"signature","type":"bytes"}],"outputs":[]}]`)
)

func mustABI(s string) abi.ABI {
	a, err := abi.JSON(strings.NewReader(s))
	if err != nil {
		panic(err)
	}
	return a
}

// Call is one call of a deposit wallet batch.
type Call struct {
	Target common.Address
	Value  *big.Int
	Data   []byte
}

// DepositClient is what the deposit wallet needs from a node besides sending: reading the
// wallet's nonce and the newest block's time (*ethclient.Client is one).
type DepositClient interface {
	Client
	CallContract(ctx context.Context, msg ethereum.CallMsg, block *big.Int) ([]byte, error)
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
}

// DepositWallet is signature type 3: Wallet holds the funds, Key is its owner. Send signs a
// one-call batch with the owner key and sends it to the wallet from the owner key, which pays
// the gas.
type DepositWallet struct {
	Client DepositClient
	Key    *ecdsa.PrivateKey
	Wallet common.Address
}

// Funder implements Caller.
func (d DepositWallet) Funder() common.Address { return d.Wallet }

// Send implements Caller: the wallet calls `to` with `data`.
func (d DepositWallet) Send(ctx context.Context, to common.Address, data []byte) (common.Hash, error) {
	input, err := d.batchInput(ctx, []Call{{Target: to, Value: new(big.Int), Data: data}})
	if err != nil {
		return common.Hash{}, err
	}
	hash, err := SendTx(ctx, d.Client, d.Key, d.Wallet, input)
	if err != nil {
		return common.Hash{}, fmt.Errorf("deposit wallet %s: batch from owner key %s: %w (is the key the wallet's owner? "+
			"on Polygon polybot's direct batch call to the wallet is unverified: docs/live-trading.md, \"Deposit wallets\")",
			d.Wallet.Hex(), crypto.PubkeyToAddress(d.Key.PublicKey).Hex(), err)
	}
	return hash, nil
}

// batchInput is the calldata of executeBatch for calls, signed for the wallet's current nonce.
func (d DepositWallet) batchInput(ctx context.Context, calls []Call) ([]byte, error) {
	calls = append([]Call(nil), calls...)
	for i := range calls {
		if calls[i].Value == nil {
			calls[i].Value = new(big.Int)
		}
	}
	chainID, err := d.Client.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("deposit wallet %s: chain id: %w", d.Wallet.Hex(), err)
	}
	in, _ := depositWalletABI.Pack("nonce")
	out, err := d.Client.CallContract(ctx, ethereum.CallMsg{To: &d.Wallet, Data: in}, nil)
	if err != nil {
		return nil, fmt.Errorf("deposit wallet %s: nonce: %w", d.Wallet.Hex(), err)
	}
	if len(out) != 32 {
		return nil, fmt.Errorf("deposit wallet %s: nonce() answered %d bytes: is a deposit wallet deployed there?", d.Wallet.Hex(), len(out))
	}
	nonce := new(big.Int).SetBytes(out)
	head, err := d.Client.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("deposit wallet %s: newest block: %w", d.Wallet.Hex(), err)
	}
	deadline := new(big.Int).SetUint64(head.Time + BatchDeadline)
	sig, err := order.SignDigest(d.Key, BatchDigest(chainID, d.Wallet, nonce, deadline, calls))
	if err != nil {
		return nil, fmt.Errorf("deposit wallet %s: sign batch: %w", d.Wallet.Hex(), err)
	}
	type abiCall struct {
		Target common.Address
		Value  *big.Int
		Data   []byte
	}
	packed := make([]abiCall, len(calls))
	for i, c := range calls {
		packed[i] = abiCall(c)
	}
	return depositWalletABI.Pack("executeBatch", packed, deadline, sig)
}

// BatchDigest is the EIP-712 digest the owner signs for a batch of wallet's.
func BatchDigest(chainID *big.Int, wallet common.Address, nonce, deadline *big.Int, calls []Call) common.Hash {
	hashes := make([]byte, 0, 32*len(calls))
	for _, c := range calls {
		v := c.Value
		if v == nil {
			v = new(big.Int)
		}
		h := crypto.Keccak256(batchCallTypeHash[:], common.LeftPadBytes(c.Target[:], 32), common.BigToHash(v).Bytes(), crypto.Keccak256(c.Data))
		hashes = append(hashes, h...)
	}
	structHash := crypto.Keccak256Hash(batchTypeHash[:], common.LeftPadBytes(wallet[:], 32), common.BigToHash(nonce).Bytes(),
		common.BigToHash(deadline).Bytes(), crypto.Keccak256(hashes))
	sep := order.DomainSeparator(order.Domain{Name: "DepositWallet", Version: "1", ChainID: chainID.Int64(), VerifyingContract: &wallet})
	return order.TypedDataHash(sep, structHash)
}
