package contracts

import (
	"context"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/params"
)

// The Token stand-in deploys on go-ethereum's simulated chain and moves balances as ERC-20
// says: a transfer beyond the balance reverts.
func TestTokenMovesBalancesAndRefusesOverdrafts(t *testing.T) {
	key, _ := crypto.GenerateKey()
	from := crypto.PubkeyToAddress(key.PublicKey)
	backend := simulated.NewBackend(types.GenesisAlloc{from: {Balance: new(big.Int).Mul(big.NewInt(1e18), big.NewInt(100))}})
	defer backend.Close()
	client := backend.Client()
	tok := MustLoad("Token")
	data, err := tok.Creation("Polymarket USD", "pUSD")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	send := func(to *common.Address, data []byte) *types.Receipt {
		t.Helper()
		nonce, err := client.PendingNonceAt(ctx, from)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := types.SignNewTx(key, types.LatestSignerForChainID(params.AllDevChainProtocolChanges.ChainID), &types.LegacyTx{
			Nonce: nonce, GasPrice: big.NewInt(10e9), Gas: 3_000_000, To: to, Data: data,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := client.SendTransaction(ctx, tx); err != nil {
			t.Fatal(err)
		}
		backend.Commit()
		// The simulated chain indexes transactions in the background after Commit; wait
		// for the receipt the way a client waits for a transaction to be mined.
		r, err := waitReceipt(ctx, client, tx.Hash())
		if err != nil {
			t.Fatalf("receipt of %s: %v", tx.Hash(), err)
		}
		return r
	}
	created := send(nil, data)
	if created.Status != types.ReceiptStatusSuccessful {
		t.Fatal("deploying Token failed")
	}
	addr := created.ContractAddress
	other := common.HexToAddress("0x1111111111111111111111111111111111111111")
	mint, _ := tok.ABI.Pack("mint", from, big.NewInt(5_000_000))
	send(&addr, mint)
	move, _ := tok.ABI.Pack("transfer", other, big.NewInt(2_000_000))
	if r := send(&addr, move); r.Status != types.ReceiptStatusSuccessful {
		t.Fatal("a transfer within the balance reverted")
	}
	over, _ := tok.ABI.Pack("transfer", other, big.NewInt(3_000_001))
	if r := send(&addr, over); r.Status != types.ReceiptStatusFailed {
		t.Fatal("a transfer beyond the balance succeeded")
	}
	balanceOf := func(who common.Address) *big.Int {
		in, _ := tok.ABI.Pack("balanceOf", who)
		out, err := client.CallContract(ctx, ethereum.CallMsg{To: &addr, Data: in}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return new(big.Int).SetBytes(out)
	}
	if got := balanceOf(other); got.Int64() != 2_000_000 {
		t.Fatalf("receiver holds %s, want 2000000", got)
	}
	if got := balanceOf(from); got.Int64() != 3_000_000 {
		t.Fatalf("sender holds %s, want 3000000", got)
	}
	// The runtime code placed in an allocation is the code the creation transaction deployed.
	code, err := tok.Runtime("Polymarket USD", "pUSD")
	if err != nil {
		t.Fatal(err)
	}
	deployed, err := client.CodeAt(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(code) == 0 || string(code) != string(deployed) {
		t.Fatalf("Runtime gave %d bytes, the chain holds %d", len(code), len(deployed))
	}
}

func waitReceipt(ctx context.Context, client simulated.Client, hash common.Hash) (*types.Receipt, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := client.TransactionReceipt(ctx, hash)
		if err == nil {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last answer: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}
