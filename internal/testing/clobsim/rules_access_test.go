package clobsim

import (
	"context"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
)

// TestAClosedMarketHasNoBook: once closed, GET /book (and the routes read from the book) answer
// 404 with the CLOB's text, orders to it are refused, and GET /markets reports it closed.
func TestAClosedMarketHasNoBook(t *testing.T) {
	s := start(t, Options{Markets: []Market{{TokenID: "1", ConditionID: "0xc1", TickSize: d("0.01"), MinSize: d("5")}}})
	ctx := context.Background()
	if code, _ := get(t, ctx, s.URL()+"/book?token_id=1", nil); code != http.StatusOK {
		t.Fatalf("open market: GET /book %d", code)
	}
	s.CloseMarket("1")
	for _, route := range []string{"/book", "/tick-size", "/neg-risk", "/fee-rate"} {
		code, body := get(t, ctx, s.URL()+route+"?token_id=1", nil)
		if code != http.StatusNotFound || strings.TrimSpace(body) != `{"error":"No orderbook exists for the requested token id"}` {
			t.Errorf("closed market: GET %s = %d %q", route, code, body)
		}
	}
	if code, body := get(t, ctx, s.URL()+"/markets/0xc1", nil); code != http.StatusOK || !strings.Contains(body, `"closed":true`) {
		t.Errorf("GET /markets = %d %s", code, body)
	}
	s.mu.Lock()
	b := s.bookLocked("1")
	s.mu.Unlock()
	if b != nil {
		t.Error("a closed market's book is still given to orders")
	}
}

// TestAccountRules: the order version, the deposit wallet flow, the signer bound to the API key
// and closed-only mode refuse an order with the CLOB's own words; a SELL in closed-only mode and
// a deposit-wallet order under the wallet's own key are taken.
func TestAccountRules(t *testing.T) {
	eoa, wallet := common.HexToAddress("0xE0A"), common.HexToAddress("0xDE90517")
	mk := func(sigType order.SignatureType, side order.Side, maker, signer common.Address) *order.OrderV2 {
		return &order.OrderV2{Maker: maker, Signer: signer, Side: side, SignatureType: sigType,
			MakerAmount: big.NewInt(1), TakerAmount: big.NewInt(1)}
	}
	for _, c := range []struct {
		name  string
		setup func(s *Server)
		o     *order.OrderV2
		acct  common.Address
		want  string
	}{
		{"an EOA order under its own key", nil, mk(order.EOA, order.Buy, eoa, eoa), eoa, ""},
		{"after /version changed", func(s *Server) { s.SetVersion(3) }, mk(order.EOA, order.Buy, eoa, eoa), eoa, "order_version_mismatch"},
		{"an EOA order of an account that must use its deposit wallet", func(s *Server) { s.RequireDepositWallet(eoa) },
			mk(order.EOA, order.Buy, eoa, eoa), eoa, "maker address not allowed, please use the deposit wallet flow"},
		{"a proxy order of an account that must use its deposit wallet", func(s *Server) { s.RequireDepositWallet(eoa) },
			mk(order.PolyProxy, order.Buy, wallet, eoa), eoa, "maker address not allowed, please use the deposit wallet flow"},
		{"a deposit-wallet order under the owner EOA's key", nil,
			mk(order.Poly1271, order.Buy, wallet, wallet), eoa, "the order signer address has to be the address of the API KEY"},
		{"a deposit-wallet order under the owner EOA's key, the account enabled for it", func(s *Server) {
			s.funders = map[common.Address]common.Address{eoa: wallet}
			s.AllowDepositWalletKey(eoa)
		}, mk(order.Poly1271, order.Buy, wallet, wallet), eoa, ""},
		{"an enabled owner's key, for a wallet not its own", func(s *Server) {
			s.funders = map[common.Address]common.Address{eoa: common.HexToAddress("0xD1FF")}
			s.AllowDepositWalletKey(eoa)
		}, mk(order.Poly1271, order.Buy, wallet, wallet), eoa, "the order signer address has to be the address of the API KEY"},
		{"an enabled owner's key, for an EOA order of another signer", func(s *Server) {
			s.funders = map[common.Address]common.Address{eoa: wallet}
			s.AllowDepositWalletKey(eoa)
		}, mk(order.EOA, order.Buy, wallet, wallet), eoa, "the order signer address has to be the address of the API KEY"},
		{"a deposit-wallet order under the wallet's key", func(s *Server) { s.RequireDepositWallet(wallet) },
			mk(order.Poly1271, order.Buy, wallet, wallet), wallet, ""},
		{"a signer that is not the key's", nil, mk(order.EOA, order.Buy, wallet, wallet), eoa,
			"the order signer address has to be the address of the API KEY"},
		{"a BUY in closed-only mode", func(s *Server) { s.SetClosedOnly(eoa, true) }, mk(order.EOA, order.Buy, eoa, eoa), eoa,
			"'" + strings.ToLower(eoa.Hex()) + "' address in closed only mode"},
		{"a SELL in closed-only mode", func(s *Server) { s.SetClosedOnly(eoa, true) }, mk(order.EOA, order.Sell, eoa, eoa), eoa, ""},
	} {
		s := &Server{version: 2}
		if c.setup != nil {
			c.setup(s)
		}
		rej := s.checkAccess(c.o, Account{Address: c.acct}, 2)
		switch {
		case c.want == "" && rej != nil:
			t.Errorf("%s: refused with %q", c.name, rej.msg)
		case c.want != "" && rej == nil:
			t.Errorf("%s: taken, want %q", c.name, c.want)
		case c.want != "" && rej.msg != c.want:
			t.Errorf("%s: %q, want %q", c.name, rej.msg, c.want)
		}
	}
}

// TestAGeoblockedRegionGets403BeforeAuthentication: POST /order from a blocked region answers
// 403 with the CLOB's body, whatever the request carries; other routes keep working.
func TestAGeoblockedRegionGets403BeforeAuthentication(t *testing.T) {
	s := start(t, Options{})
	s.SetGeoblocked(true)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.URL()+"/order", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(raw)
	want := `{"error":"Trading restricted in your region, please refer to available regions - https://docs.polymarket.com/developers/CLOB/geoblock"}`
	if resp.StatusCode != http.StatusForbidden || strings.TrimSpace(body) != want {
		t.Errorf("POST /order = %d %s, want 403 %s", resp.StatusCode, body, want)
	}
	if code, _ := get(t, context.Background(), s.URL()+"/book?token_id=1", nil); code != http.StatusOK {
		t.Errorf("GET /book from a blocked region: %d", code)
	}
	s.SetGeoblocked(false)
	resp, err = http.DefaultClient.Post(s.URL()+"/order", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusForbidden {
		t.Error("POST /order still blocked after SetGeoblocked(false)")
	}
}

// TestClosedOnlyFlagIsReportedToTheKeyHolder: GET /auth/ban-status/closed-only (L2) answers
// {"closed_only": …} for the key holder, its funder's flag included, and 401 without a key.
func TestClosedOnlyFlagIsReportedToTheKeyHolder(t *testing.T) {
	key, _ := crypto.GenerateKey()
	addr, funder := crypto.PubkeyToAddress(key.PublicKey), common.HexToAddress("0xF00D")
	creds := DeriveCredentials(addr, 0)
	s := start(t, Options{Accounts: map[string]Account{creds.APIKey: {Credentials: creds, Address: addr}},
		Funders: map[common.Address]common.Address{addr: funder}})
	url := s.URL() + "/auth/ban-status/closed-only"
	ask := func() (int, string) {
		m, err := clob.L2Headers(creds, addr, time.Now().Unix(), http.MethodGet, "/auth/ban-status/closed-only", "")
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		clob.SetHeaders(h, m)
		code, body := get(t, context.Background(), url, h)
		return code, strings.TrimSpace(body)
	}
	if code, body := ask(); code != http.StatusOK || body != `{"closed_only":false}` {
		t.Errorf("before: %d %s", code, body)
	}
	s.SetClosedOnly(funder, true)
	if code, body := ask(); code != http.StatusOK || body != `{"closed_only":true}` {
		t.Errorf("funder closed-only: %d %s", code, body)
	}
	if code, _ := get(t, context.Background(), url, nil); code != http.StatusUnauthorized {
		t.Errorf("without a key: %d, want 401", code)
	}
}
