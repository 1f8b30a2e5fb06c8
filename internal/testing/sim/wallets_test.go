package sim

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/shopspring/decimal"
	"golang.org/x/time/rate"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/clobsim"
	"github.com/polybot/polybot/internal/testing/contracts"
)

func callOut(t *testing.T, c *ethclient.Client, to common.Address, a contracts.Artifact, method string, args ...any) []byte {
	t.Helper()
	in, err := a.ABI.Pack(method, args...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.CallContract(context.Background(), ethereum.CallMsg{To: &to, Data: in}, nil)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return out
}

// A deposit wallet asked of polysim is on its chain from the first block: it holds its pUSD,
// names its owner, and accepts the POLY_1271 order signature polybot makes with the owner key
// (and not one made with another key), as the exchange would ask it.
func TestDepositWalletsAreOnChainWithTheirPUSD(t *testing.T) {
	ownerKey, _ := crypto.GenerateKey()
	otherKey, _ := crypto.GenerateKey()
	owner := crypto.PubkeyToAddress(ownerKey.PublicKey)
	wallet := common.HexToAddress("0x00000000000000000000000000000000DeC0DE03")
	s := newSim(t, Options{WalletOptions: WalletOptions{DepositWallets: []DepositWallet{{Owner: owner, Address: wallet, PUSD: 250_000_000}}}})
	c := dial(t, s.HTTPURL())
	tok, dw := contracts.MustLoad("Token"), contracts.MustLoad("DepositWallet")

	if got := new(big.Int).SetBytes(callOut(t, c, s.PUSD(), tok, "balanceOf", wallet)); got.Int64() != 250_000_000 {
		t.Fatalf("the wallet holds %s pUSD base units, want 250000000", got)
	}
	if got := new(big.Int).SetBytes(callOut(t, c, s.PUSD(), tok, "totalSupply")); got.Int64() != 250_000_000 {
		t.Fatalf("total supply %s", got)
	}
	sym, err := tok.ABI.Unpack("symbol", callOut(t, c, s.PUSD(), tok, "symbol"))
	if err != nil || sym[0] != "pUSD" {
		t.Fatalf("symbol %v, %v", sym, err)
	}
	if got := common.BytesToAddress(callOut(t, c, wallet, dw, "owner")); got != owner {
		t.Fatalf("owner %s, want %s", got.Hex(), owner.Hex())
	}

	d := order.ExchangeDomain(order.V2, int64(s.ChainID()), polymarket.CTFExchangeV2)
	for _, k := range []struct {
		name string
		key  *ecdsa.PrivateKey
		want bool
	}{{"the owner", ownerKey, true}, {"another key", otherKey, false}} {
		o := &order.OrderV2{Salt: big.NewInt(7), Maker: wallet, Signer: wallet, TokenID: big.NewInt(1234),
			MakerAmount: big.NewInt(5_000_000), TakerAmount: big.NewInt(10_000_000), Side: order.Buy,
			SignatureType: order.Poly1271, Timestamp: big.NewInt(1_780_000_000_000), Expiration: new(big.Int)}
		sig, hash, err := order.SignV2(k.key, o, d)
		if err != nil {
			t.Fatal(err)
		}
		out := callOut(t, c, wallet, dw, "isValidSignature", hash, sig)
		if got := [4]byte(out[:4]) == contracts.DepositWalletMagic; got != k.want {
			t.Errorf("signed by %s: isValidSignature = %x, want valid %v", k.name, out[:4], k.want)
		}
	}
}

func TestNewRefusesBadDepositWallets(t *testing.T) {
	owner := common.HexToAddress("0x1")
	for name, w := range map[string]DepositWallet{
		"no owner":       {Address: common.HexToAddress("0x2")},
		"no address":     {Owner: owner},
		"negative pUSD":  {Owner: owner, Address: common.HexToAddress("0x2"), PUSD: -1},
		"on an exchange": {Owner: owner, Address: polymarket.CTFExchangeV2},
	} {
		if s, err := New(Options{WalletOptions: WalletOptions{DepositWallets: []DepositWallet{w}}}); err == nil {
			_ = s.Close()
			t.Errorf("%s: New accepted %+v", name, w)
		}
	}
}

// polysim's fake CLOB asks the deposit wallets on polysim's own chain: a POLY_1271 order signed
// by the wallet's owner is taken (the account enabled for its owner-bound key), one signed by
// another key is refused by the wallet.
func TestPolysimsCLOBChecksDepositWalletOrdersOnItsChain(t *testing.T) {
	ownerKey, _ := crypto.GenerateKey()
	otherKey, _ := crypto.GenerateKey()
	owner := crypto.PubkeyToAddress(ownerKey.PublicKey)
	wallet := common.HexToAddress("0x00000000000000000000000000000000DeC0DE03")
	s := newSim(t, Options{WalletOptions: WalletOptions{DepositWallets: []DepositWallet{{Owner: owner, Address: wallet, PUSD: 100_000_000}}}})
	c, err := s.StartCLOB(CLOBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	srv := c.Server()
	creds := clobsim.DeriveCredentials(owner, 0)
	if err := srv.AddAccount(clobsim.Account{Credentials: creds, Address: owner}); err != nil {
		t.Fatal(err)
	}
	srv.SetFunder(owner, wallet)
	srv.SetBalance(wallet, clobsim.Balance{Collateral: 100_000_000})
	srv.AllowDepositWalletKey(owner)
	client, err := clob.NewClient(clob.Options{BaseURL: c.URL(), Key: ownerKey, ChainID: int64(s.ChainID()), Creds: &creds, RateLimit: rate.Inf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)

	mk, tk, err := order.LimitAmounts(order.Buy, decimal.RequireFromString("0.01"), decimal.NewFromInt(DefaultCLOBMinSize), clobTick)
	if err != nil {
		t.Fatal(err)
	}
	d := order.ExchangeDomain(order.V2, int64(s.ChainID()), c.ctf)
	for i, k := range []struct {
		name string
		key  *ecdsa.PrivateKey
		want string
	}{{"the owner", ownerKey, ""}, {"another key", otherKey, "invalid signature"}} {
		o := order.OrderV2{Salt: big.NewInt(int64(i + 1)), Maker: wallet, Signer: wallet, TokenID: MarketToken(0),
			MakerAmount: mk, TakerAmount: tk, Side: order.Buy, SignatureType: order.Poly1271,
			Timestamp: big.NewInt(1_790_000_000_000), Expiration: new(big.Int)}
		if s.marketsEx[MarketToken(0).String()] == c.neg {
			t.Fatal("market 0 is expected on the normal exchange")
		}
		sig, hash, err := order.SignV2(k.key, &o, d)
		if err != nil {
			t.Fatal(err)
		}
		body, err := order.SignedOrderV2{Order: o, Signature: sig}.PostOrderBody(creds.APIKey, order.GTC, false)
		if err != nil {
			t.Fatal(err)
		}
		r, err := client.PostOrder(context.Background(), body)
		switch {
		case k.want == "" && (err != nil || r.OrderID != hash.Hex()):
			t.Errorf("signed by %s: PostOrder = %+v, %v; want taken", k.name, r, err)
		case k.want != "" && (err == nil || !strings.Contains(err.Error(), k.want)):
			t.Errorf("signed by %s: err %v, want %q", k.name, err, k.want)
		}
	}
}

// With CLOBOptions.DepositWallet the trading account trades from a deposit wallet deployed for
// its key: the wallet is on chain once a block is mined, owned by the key, its address written
// beside the credentials, and the CLOB takes the key's POLY_1271 orders for it.
func TestTheCLOBsAccountCanTradeFromADepositWallet(t *testing.T) {
	s := newSim(t, Options{})
	dir := t.TempDir()
	c, err := s.StartCLOB(CLOBOptions{DepositWallet: true, CredsDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if c.Funder() == c.Address() {
		t.Fatal("the funder is the key's own address")
	}
	if _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	cl := dial(t, s.HTTPURL())
	if got := common.BytesToAddress(callOut(t, cl, c.Funder(), contracts.MustLoad("DepositWallet"), "owner")); got != c.Address() {
		t.Fatalf("the wallet's owner is %s, want the account's key %s", got.Hex(), c.Address().Hex())
	}
	if b, err := os.ReadFile(filepath.Join(dir, FunderFile)); err != nil || strings.TrimSpace(string(b)) != c.Funder().Hex() {
		t.Fatalf("%s holds %q, %v; want %s", FunderFile, b, err, c.Funder().Hex())
	}
	creds := c.Credentials()
	client, err := clob.NewClient(clob.Options{BaseURL: c.URL(), Key: c.Key(), ChainID: int64(s.ChainID()), Creds: &creds, RateLimit: rate.Inf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	ba, err := client.BalanceAllowance(context.Background(), clob.AssetCollateral, "", int(order.Poly1271))
	if err != nil || !ba.Balance.Equal(decimal.NewFromInt(DefaultCLOBCollateral)) {
		t.Fatalf("signature_type 3 balance %v, %v; want the account's collateral in the wallet", ba, err)
	}
	mk, tk, err := order.LimitAmounts(order.Buy, decimal.RequireFromString("0.01"), decimal.NewFromInt(DefaultCLOBMinSize), clobTick)
	if err != nil {
		t.Fatal(err)
	}
	o := order.OrderV2{Salt: big.NewInt(1), Maker: c.Funder(), Signer: c.Funder(), TokenID: MarketToken(0),
		MakerAmount: mk, TakerAmount: tk, Side: order.Buy, SignatureType: order.Poly1271,
		Timestamp: big.NewInt(1_790_000_000_000), Expiration: new(big.Int)}
	sig, hash, err := order.SignV2(c.Key(), &o, order.ExchangeDomain(order.V2, int64(s.ChainID()), c.ctf))
	if err != nil {
		t.Fatal(err)
	}
	body, err := order.SignedOrderV2{Order: o, Signature: sig}.PostOrderBody(creds.APIKey, order.GTC, false)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := client.PostOrder(context.Background(), body); err != nil || r.OrderID != hash.Hex() {
		t.Fatalf("PostOrder = %+v, %v; want taken", r, err)
	}
}
