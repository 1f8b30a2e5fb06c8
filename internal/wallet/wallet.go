// Package wallet sends a contract call from the address that holds polybot's funds (the funder),
// whatever kind of Polymarket wallet that is. The owner key always signs and pays the gas; how
// the call reaches the target differs per signature type:
//
//	0 EOA             the owner key calls the target itself
//	1 Polymarket proxy the owner calls the proxy factory, which forwards to the owner's proxy
//	2 Gnosis Safe     the owner sends execTransaction to the Safe, signed by the owner
//	3 deposit wallet  the owner sends the wallet's batch call, authorised by the owner
//
// Redemption of winnings and approvals use it; docs/live-trading.md has the table of each
// wallet type's paths.
package wallet

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// Caller sends one call to `to` with calldata `data` on behalf of its funder and returns the
// hash of the transaction that carries it. A returned hash is only a first report: the caller of
// Send reads the receipt (status and events) before believing the call did anything.
type Caller interface {
	// Funder is the address the call acts for (the address that holds the tokens).
	Funder() common.Address
	Send(ctx context.Context, to common.Address, data []byte) (common.Hash, error)
}

// Client is what sending a transaction needs from a node (*ethclient.Client is one).
type Client interface {
	PendingNonceAt(ctx context.Context, account common.Address) (uint64, error)
	SuggestGasPrice(ctx context.Context) (*big.Int, error)
	EstimateGas(ctx context.Context, msg ethereum.CallMsg) (uint64, error)
	SendTransaction(ctx context.Context, tx *types.Transaction) error
	ChainID(ctx context.Context) (*big.Int, error)
}

// SendTx signs a transaction from key's address to `to` with `data`, gas estimated with a fifth
// as margin, and sends it. Every wallet type ends here: the owner key pays the gas.
func SendTx(ctx context.Context, c Client, key *ecdsa.PrivateKey, to common.Address, data []byte) (common.Hash, error) {
	from := crypto.PubkeyToAddress(key.PublicKey)
	chainID, err := c.ChainID(ctx)
	if err != nil {
		return common.Hash{}, fmt.Errorf("chain id: %w", err)
	}
	nonce, err := c.PendingNonceAt(ctx, from)
	if err != nil {
		return common.Hash{}, fmt.Errorf("nonce: %w", err)
	}
	price, err := c.SuggestGasPrice(ctx)
	if err != nil {
		return common.Hash{}, fmt.Errorf("gas price: %w", err)
	}
	gas, err := c.EstimateGas(ctx, ethereum.CallMsg{From: from, To: &to, GasPrice: price, Data: data})
	if err != nil {
		return common.Hash{}, fmt.Errorf("estimate gas: %w", err)
	}
	gas += gas / 5
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(chainID), &types.LegacyTx{
		Nonce: nonce, GasPrice: price, Gas: gas, To: &to, Data: data,
	})
	if err != nil {
		return common.Hash{}, fmt.Errorf("sign: %w", err)
	}
	if err := c.SendTransaction(ctx, tx); err != nil {
		return common.Hash{}, fmt.Errorf("send: %w", err)
	}
	return tx.Hash(), nil
}

// EOA is signature type 0: the owner key holds the funds and calls the target itself.
type EOA struct {
	Client Client
	Key    *ecdsa.PrivateKey
}

// Funder implements Caller.
func (e EOA) Funder() common.Address { return crypto.PubkeyToAddress(e.Key.PublicKey) }

// Send implements Caller.
func (e EOA) Send(ctx context.Context, to common.Address, data []byte) (common.Hash, error) {
	return SendTx(ctx, e.Client, e.Key, to, data)
}
