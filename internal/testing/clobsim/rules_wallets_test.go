package clobsim

import (
	"context"
	"crypto/ecdsa"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/testing/contracts"
)

// The vectors of Polymarket/rs-clob-client src/lib.rs (derive_proxy_wallet_polygon,
// derive_safe_wallet_polygon) for the public Anvil account: clobsim derives the wallets itself.
func TestClobsimDerivesProxyAndSafeAsTheExchange(t *testing.T) {
	owner := common.HexToAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
	if got, want := proxyOf(owner), common.HexToAddress("0x365f0cA36ae1F641E02Fe3b7743673DA42A13a70"); got != want {
		t.Errorf("proxy %s, want %s", got.Hex(), want.Hex())
	}
	if got, want := safeOf(owner), common.HexToAddress("0xd93b25Cb943D14d0d34FBAf01fc93a0F8b5f6e47"); got != want {
		t.Errorf("safe %s, want %s", got.Hex(), want.Hex())
	}
}

// Each signature type is checked as the exchange checks it: the ECDSA signer for 0/1/2 with the
// maker its own address, proxy or Safe; for 3 the deposit wallet's isValidSignature on the
// chain, which accepts only its owner's wrapped signature; without a chain, type 3 is refused
// with a message that names the missing option.
func TestSignatureTypesAreCheckedAsTheExchangeDoes(t *testing.T) {
	key, _ := crypto.GenerateKey()
	other, _ := crypto.GenerateKey()
	signer := crypto.PubkeyToAddress(key.PublicKey)
	wallet := common.HexToAddress("0x00000000000000000000000000000000DeC0DE03")
	acct, err := contracts.DepositWalletAccount(signer)
	if err != nil {
		t.Fatal(err)
	}
	backend := simulated.NewBackend(types.GenesisAlloc{wallet: acct})
	t.Cleanup(func() { _ = backend.Close() })
	chainID, err := backend.Client().ChainID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d := order.ExchangeDomain(order.V2, chainID.Int64(), DefaultCTFExchange)
	mk := func(typ order.SignatureType, maker, sgn common.Address) *order.OrderV2 {
		return &order.OrderV2{Salt: big.NewInt(1), Maker: maker, Signer: sgn, TokenID: big.NewInt(1),
			MakerAmount: big.NewInt(5), TakerAmount: big.NewInt(10), SignatureType: typ, Timestamp: big.NewInt(1), Expiration: new(big.Int)}
	}
	withChain := &Server{walletChain: backend.Client()}
	for _, c := range []struct {
		name string
		s    *Server
		o    *order.OrderV2
		key  *ecdsa.PrivateKey
		want string // "" accepted
	}{
		{"EOA signed by its maker", withChain, mk(order.EOA, signer, signer), key, ""},
		{"EOA signed by another key", withChain, mk(order.EOA, signer, signer), other, "invalid signature"},
		{"proxy whose maker is the signer's proxy", withChain, mk(order.PolyProxy, proxyOf(signer), signer), key, ""},
		{"proxy whose maker is the signer's safe", withChain, mk(order.PolyProxy, safeOf(signer), signer), key, "is not the proxy wallet"},
		{"safe whose maker is the signer's safe", withChain, mk(order.PolyGnosisSafe, safeOf(signer), signer), key, ""},
		{"safe whose maker is another address", withChain, mk(order.PolyGnosisSafe, wallet, signer), key, "is not the safe"},
		{"deposit wallet signed by its owner", withChain, mk(order.Poly1271, wallet, wallet), key, ""},
		{"deposit wallet signed by another key", withChain, mk(order.Poly1271, wallet, wallet), other, "invalid signature"},
		{"deposit wallet order for an address with no wallet", withChain,
			mk(order.Poly1271, common.HexToAddress("0xD1FF"), common.HexToAddress("0xD1FF")), key, "invalid signature"},
		{"deposit wallet without a chain", &Server{}, mk(order.Poly1271, wallet, wallet), key, "Options.Chain"},
	} {
		sig, hash, err := order.SignV2(c.key, c.o, d)
		if err != nil {
			t.Fatalf("%s: sign: %v", c.name, err)
		}
		rej := c.s.checkSigner(context.Background(), c.o, hash, sig)
		switch {
		case c.want == "" && rej != nil:
			t.Errorf("%s: refused with %q", c.name, rej.msg)
		case c.want != "" && rej == nil:
			t.Errorf("%s: taken, want %q", c.name, c.want)
		case c.want != "" && !strings.Contains(rej.msg, c.want):
			t.Errorf("%s: %q, want it to contain %q", c.name, rej.msg, c.want)
		}
	}
}

// An API key cannot be bound to a deposit wallet: L1 headers naming the wallet as POLY_ADDRESS
// are refused with 401 "Invalid L1 Request headers", whether the owner's ClobAuth signature is
// plain or ERC-7739-wrapped (py-clob-client-v2 issues 58, 65, 103 quote these answers); the same
// owner's own L1 headers get a key.
func TestL1AuthCannotBindAKeyToADepositWallet(t *testing.T) {
	s := start(t, Options{})
	key, _ := crypto.GenerateKey()
	wallet := common.HexToAddress("0x00000000000000000000000000000000DeC0DE03")
	const ts = "1790000000"
	// ClobAuth(address address,string timestamp,uint256 nonce,string message) for addr, under
	// ClobAuthDomain ("ClobAuthDomain", "1", chain 137), signed by the owner key.
	sign := func(addr common.Address) []byte {
		typeHash := crypto.Keccak256([]byte("ClobAuth(address address,string timestamp,uint256 nonce,string message)"))
		structHash := crypto.Keccak256(typeHash, common.LeftPadBytes(addr[:], 32), crypto.Keccak256([]byte(ts)),
			make([]byte, 32), crypto.Keccak256([]byte(clob.ClobAuthMessage)))
		sig, err := order.SignDigest(key, order.TypedDataHash(order.DomainSeparator(clob.ClobAuthDomain(137)), common.BytesToHash(structHash)))
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	plain := sign(wallet)
	wrapped := append(append([]byte(nil), plain...), make([]byte, 64)...)
	wrapped = append(wrapped, "ClobAuth(address address,string timestamp,uint256 nonce,string message)"...)
	wrapped = append(wrapped, 0, 70)
	post := func(h map[string]string) (int, string) {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.URL()+"/auth/api-key", nil)
		if err != nil {
			t.Fatal(err)
		}
		clob.SetHeaders(req.Header, h)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for name, sig := range map[string][]byte{"plain": plain, "ERC-7739-wrapped": wrapped} {
		code, body := post(map[string]string{clob.HeaderAddress: wallet.Hex(), clob.HeaderSignature: hexutil.Encode(sig),
			clob.HeaderTimestamp: ts, clob.HeaderNonce: "0"})
		if code != http.StatusUnauthorized || !strings.Contains(body, "Invalid L1 Request headers") {
			t.Errorf("%s ClobAuth for the wallet: %d %s, want 401 Invalid L1 Request headers", name, code, body)
		}
	}
	owner := crypto.PubkeyToAddress(key.PublicKey)
	if code, body := post(map[string]string{clob.HeaderAddress: owner.Hex(), clob.HeaderSignature: hexutil.Encode(sign(owner)),
		clob.HeaderTimestamp: ts, clob.HeaderNonce: "0"}); code != http.StatusOK || !strings.Contains(body, "apiKey") {
		t.Fatalf("the owner's own L1 headers: %d %s", code, body)
	}
}
