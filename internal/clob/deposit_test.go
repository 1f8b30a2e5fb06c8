package clob_test

import (
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/params"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/testing/clobsim"
	"github.com/polybot/polybot/internal/testing/contracts"
)

// depositWallet is the trader's deposit wallet in these tests; on Polygon it would be the
// factory's CREATE2 address for the trader.
var depositWallet = common.HexToAddress("0x00000000000000000000000000000000DeC0DE03")

// depositChain is a simulated chain under chain id 137 (the order domain binds it) holding the
// trader's deposit wallet stand-in.
func depositChain(t *testing.T) *simulated.Backend {
	t.Helper()
	acct, err := contracts.DepositWalletAccount(trader)
	if err != nil {
		t.Fatal(err)
	}
	b := simulated.NewBackend(types.GenesisAlloc{depositWallet: acct}, func(_ *node.Config, ec *ethconfig.Config) {
		cfg := *params.AllDevChainProtocolChanges
		cfg.ChainID = big.NewInt(137)
		ec.Genesis.Config = &cfg
		ec.NetworkId = 137
	})
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// A deposit-wallet account trades the way the newest official clients set it up
// (clob-client-v2 v1.1.0, py-clob-client-v2 1.0.x): the API key derived by the owner EOA over L1,
// balance asked with signature_type 3 (the wallet's), orders signed by the owner with the
// ERC-7739 wrapper, maker = signer = the wallet, which clobsim checks by calling the wallet on
// the chain. Until the CLOB enables the account for it, the order is refused because its signer
// is not the key's address, and polybot's error says what to do; once enabled, it is taken. An
// order signed by another key is refused by the wallet itself.
func TestDepositWalletOrdersUnderTheOwnersKey(t *testing.T) {
	chain := depositChain(t)
	e := newEnv(t, func(o *clobsim.Options) {
		o.Chain = chain.Client()
		o.Funders = map[common.Address]common.Address{trader: depositWallet}
		o.Balances[depositWallet] = clobsim.Balance{Collateral: 300e6}
	}, nil)
	ba, err := e.c.BalanceAllowance(ctx, clob.AssetCollateral, "", int(order.Poly1271))
	if err != nil {
		t.Fatal(err)
	}
	if !ba.Balance.Equal(d("300000000")) {
		t.Fatalf("signature_type 3 balance %s, want the wallet's 300000000", ba.Balance)
	}
	m, tk := limit(t, order.Buy, "0.40", "10")
	wallet := spec{side: order.Buy, maker: m, taker: tk, sigType: order.Poly1271, makerAddr: depositWallet, signerAddr: depositWallet}

	body, hash := e.sign(t, wallet)
	_, err = e.c.PostOrder(ctx, body)
	ae := wantKind(t, err, clob.KindValidation)
	if ae.Message != "the order signer address has to be the address of the API KEY" {
		t.Fatalf("message %q", ae.Message)
	}
	if !strings.Contains(err.Error(), "enabled API trading for the account") || !strings.Contains(err.Error(), "docs/live-trading.md") {
		t.Errorf("the error does not tell the user what to do: %v", err)
	}
	if _, ok := e.sim.Order(hash); ok {
		t.Fatal("a refused order is on the book")
	}

	e.sim.AllowDepositWalletKey(trader)
	body, hash = e.sign(t, wallet)
	r, err := e.c.PostOrder(ctx, body)
	if err != nil || r.OrderID != hash.Hex() {
		t.Fatalf("enabled account: PostOrder = %+v, %v; want accepted", r, err)
	}

	stranger := wallet
	stranger.key = otherKey
	body, _ = e.sign(t, stranger)
	_, err = e.c.PostOrder(ctx, body)
	if ae := wantKind(t, err, clob.KindValidation); ae.Message != "invalid signature" {
		t.Fatalf("an order the wallet's owner did not sign: %q", ae.Message)
	}
}

// An account that must use its deposit wallet is told how when it sends an EOA order.
func TestDepositWalletFlowRefusalSaysWhatToSet(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.sim.RequireDepositWallet(trader)
	m, tk := limit(t, order.Buy, "0.40", "10")
	body, _ := e.sign(t, spec{side: order.Buy, maker: m, taker: tk})
	_, err := e.c.PostOrder(ctx, body)
	wantKind(t, err, clob.KindValidation)
	if !strings.Contains(err.Error(), "live.signature_type: 3") {
		t.Errorf("the error does not name the setting: %v", err)
	}
}
