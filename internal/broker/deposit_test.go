package broker

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/params"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/clobsim"
	"github.com/polybot/polybot/internal/testing/contracts"
)

// A live broker with signature type 3 trades from the deposit wallet: its orders name the wallet
// as maker and signer and carry the owner's ERC-7739 signature, which the fake CLOB has the
// wallet on the chain check; the shares land in the wallet. Before the CLOB has enabled the
// account for its owner-bound key, the copy fails with the fix in the error.
func TestDepositWalletSignatureTypeTradesFromTheWallet(t *testing.T) {
	wallet := common.HexToAddress("0x00000000000000000000000000000000DeC0DE03")
	f := newFixture(t, func(o *clobsim.Options, b *CLOBOptions) {
		owner := crypto.PubkeyToAddress(b.Key.PublicKey)
		acct, err := contracts.DepositWalletAccount(owner)
		if err != nil {
			t.Fatal(err)
		}
		chain := simulated.NewBackend(types.GenesisAlloc{wallet: acct}, func(_ *node.Config, ec *ethconfig.Config) {
			cfg := *params.AllDevChainProtocolChanges
			cfg.ChainID = big.NewInt(137) // the orders' domain binds the chain id
			ec.Genesis.Config = &cfg
			ec.NetworkId = 137
		})
		t.Cleanup(func() { _ = chain.Close() })
		o.Chain = chain.Client()
		o.Funders = map[common.Address]common.Address{owner: wallet}
		o.Balances[wallet] = clobsim.Balance{Collateral: 100 * unit}
		b.SignatureType, b.Funder = order.Poly1271, wallet
	})
	_, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit))
	if !errors.Is(err, ErrRefused) && clob.KindOf(err) != clob.KindValidation {
		t.Fatalf("before the account is enabled: err = %v, want a refusal", err)
	}
	if err == nil || !strings.Contains(err.Error(), "deposit wallet") {
		t.Fatalf("the refusal does not say what to do: %v", err)
	}
	f.srv.AllowDepositWalletKey(f.addr)
	if _, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit)); err != nil {
		t.Fatal(err)
	}
	if bal := f.srv.Balance(wallet); bal.Tokens[tokenNormal] != 10_392_156 {
		t.Fatalf("wallet balance %+v", bal)
	}
	if bal := f.srv.Balance(f.addr); bal.Tokens[tokenNormal] != 50*unit {
		t.Fatalf("the owner's own balance moved: %+v", bal)
	}
}
