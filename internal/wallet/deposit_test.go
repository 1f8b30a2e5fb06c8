package wallet

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"

	"github.com/polybot/polybot/internal/testing/contracts"
)

type depositChain struct {
	backend *simulated.Backend
	client  simulated.Client
	token   common.Address
	wallet  common.Address
	owner   *DepositWallet
}

func eth(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

// newDepositChain starts a simulated chain with a pUSD stand-in and a deposit wallet stand-in
// owned by ownerKey holding 5 pUSD; strangerKey has gas money too.
func newDepositChain(t *testing.T, ownerKey, strangerKey *ecdsaKey) *depositChain {
	t.Helper()
	owner := crypto.PubkeyToAddress(ownerKey.PublicKey)
	wallet := common.HexToAddress("0x00000000000000000000000000000000DeC0DE03")
	acct, err := contracts.DepositWalletAccount(owner)
	if err != nil {
		t.Fatal(err)
	}
	backend := simulated.NewBackend(types.GenesisAlloc{
		owner: {Balance: eth(100)},
		crypto.PubkeyToAddress(strangerKey.PublicKey): {Balance: eth(100)},
		wallet: acct,
	})
	t.Cleanup(func() { _ = backend.Close() })
	c := &depositChain{backend: backend, client: backend.Client(), wallet: wallet}
	tok := contracts.MustLoad("Token")
	create, err := tok.Creation("Polymarket USD", "pUSD")
	if err != nil {
		t.Fatal(err)
	}
	r := c.mine(t, ownerKey, nil, create)
	c.token = r.ContractAddress
	mint, _ := tok.ABI.Pack("mint", wallet, big.NewInt(5_000_000))
	c.mine(t, ownerKey, &c.token, mint)
	return c
}

type ecdsaKey = ecdsa.PrivateKey

// mine sends a plain transaction from key and waits for its receipt.
func (c *depositChain) mine(t *testing.T, key *ecdsaKey, to *common.Address, data []byte) *types.Receipt {
	t.Helper()
	ctx := context.Background()
	from := crypto.PubkeyToAddress(key.PublicKey)
	nonce, err := c.client.PendingNonceAt(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	chainID, _ := c.client.ChainID(ctx)
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(chainID), &types.LegacyTx{Nonce: nonce, GasPrice: big.NewInt(10e9), Gas: 3_000_000, To: to, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.client.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	return c.receipt(t, tx.Hash())
}

// receipt commits a block and waits for hash's receipt (the simulated chain indexes after
// Commit, in the background).
func (c *depositChain) receipt(t *testing.T, hash common.Hash) *types.Receipt {
	t.Helper()
	c.backend.Commit()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := c.client.TransactionReceipt(ctx, hash)
		if err == nil {
			return r
		}
		select {
		case <-ctx.Done():
			t.Fatalf("receipt of %s: %v", hash, err)
		case <-tick.C:
		}
	}
}

func (c *depositChain) balance(t *testing.T, who common.Address) int64 {
	t.Helper()
	in, _ := contracts.MustLoad("Token").ABI.Pack("balanceOf", who)
	out, err := c.client.CallContract(context.Background(), ethereum.CallMsg{To: &c.token, Data: in}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return new(big.Int).SetBytes(out).Int64()
}

// A call sent through the deposit wallet reaches its target as the wallet: a pUSD transfer from
// the wallet's balance succeeds, signed by the owner and paid by the owner key. Sent again, it
// runs again (the wallet's nonce moved on and was read afresh).
func TestDepositWalletSendsACallAsTheWallet(t *testing.T) {
	ownerKey, _ := crypto.GenerateKey()
	strangerKey, _ := crypto.GenerateKey()
	c := newDepositChain(t, ownerKey, strangerKey)
	dw := DepositWallet{Client: c.client, Key: ownerKey, Wallet: c.wallet}
	var caller Caller = dw
	if caller.Funder() != c.wallet {
		t.Fatalf("funder %s, want the wallet %s", caller.Funder(), c.wallet)
	}
	recipient := common.HexToAddress("0x000000000000000000000000000000000000beef")
	transfer, _ := contracts.MustLoad("Token").ABI.Pack("transfer", recipient, big.NewInt(2_000_000))
	for i, want := range []int64{2_000_000, 4_000_000} {
		hash, err := caller.Send(context.Background(), c.token, transfer)
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if r := c.receipt(t, hash); r.Status != types.ReceiptStatusSuccessful {
			t.Fatalf("send %d: the batch reverted", i)
		}
		if got := c.balance(t, recipient); got != want {
			t.Fatalf("after send %d the recipient holds %d, want %d", i, got, want)
		}
	}
	if got := c.balance(t, c.wallet); got != 1_000_000 {
		t.Fatalf("the wallet holds %d, want 1000000", got)
	}
}

// A batch signed by a key that does not own the wallet is refused, and the wallet's tokens stay.
func TestDepositWalletRefusesABatchSignedByAnotherKey(t *testing.T) {
	ownerKey, _ := crypto.GenerateKey()
	strangerKey, _ := crypto.GenerateKey()
	c := newDepositChain(t, ownerKey, strangerKey)
	recipient := crypto.PubkeyToAddress(strangerKey.PublicKey)
	transfer, _ := contracts.MustLoad("Token").ABI.Pack("transfer", recipient, big.NewInt(1_000_000))
	stranger := DepositWallet{Client: c.client, Key: strangerKey, Wallet: c.wallet}
	_, err := stranger.Send(context.Background(), c.token, transfer)
	if err == nil {
		t.Fatal("a batch signed by a stranger was sent")
	}
	if !strings.Contains(err.Error(), "wallet's owner") || !strings.Contains(err.Error(), "docs/live-trading.md") {
		t.Errorf("the error does not say what to check: %v", err)
	}
	// Sent anyway, with gas fixed, the chain refuses it too.
	input, err := stranger.batchInput(context.Background(), []Call{{Target: c.token, Data: transfer}})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.mine(t, strangerKey, &c.wallet, input); r.Status != types.ReceiptStatusFailed {
		t.Fatal("the wallet ran a batch its owner did not sign")
	}
	if got := c.balance(t, c.wallet); got != 5_000_000 {
		t.Fatalf("the wallet holds %d, want 5000000", got)
	}
}
