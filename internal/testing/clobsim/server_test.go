package clobsim

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/polybot/polybot/internal/testing/leaktest"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
)

// leaktest: the deposit-wallet tests run a simulated chain (rules_wallets_test.go).
func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

var d = decimal.RequireFromString

func start(t *testing.T, opts Options) *Server {
	t.Helper()
	if opts.Markets == nil {
		opts.Markets = []Market{{TokenID: "1", TickSize: d("0.01"), MinSize: d("5"),
			Asks: []order.Level{{Price: d("0.6"), Size: d("10")}, {Price: d("0.55"), Size: d("5")}, {Price: d("0.55"), Size: d("1.5")}}}}
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, ctx context.Context, url string, h http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestNewRefusesBadOptions(t *testing.T) {
	bad := map[string]Options{
		"an unknown tick size":            {Markets: []Market{{TokenID: "1", TickSize: d("0.02")}}},
		"a level off the tick grid":       {Markets: []Market{{TokenID: "1", TickSize: d("0.01"), Bids: []order.Level{{Price: d("0.505"), Size: d("1")}}}}},
		"a size with 7 decimals":          {Markets: []Market{{TokenID: "1", TickSize: d("0.01"), Bids: []order.Level{{Price: d("0.5"), Size: d("0.0000001")}}}}},
		"a token id that is not a number": {Markets: []Market{{TokenID: "0xabc", TickSize: d("0.01")}}},
		"a market listed twice":           {Markets: []Market{{TokenID: "1", TickSize: d("0.01")}, {TokenID: "1", TickSize: d("0.01")}}},
		"equal exchanges":                 {Exchanges: Exchanges{CTF: common.HexToAddress("0x1"), NegRisk: common.HexToAddress("0x1")}},
		"an account under another key":    {Accounts: map[string]Account{"a": {Credentials: clob.Credentials{APIKey: "b", Secret: "AAAA", Passphrase: "p"}}}},
	}
	for name, o := range bad {
		if _, err := New(o); err == nil {
			t.Errorf("New accepted %s", name)
		}
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "example.com:80"} {
		if err := s.Start(addr); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("Start(%q) = %v, want a loopback refusal", addr, err)
		}
	}
}

func TestBookIsAggregatedBestLast(t *testing.T) {
	s := start(t, Options{})
	code, body := get(t, context.Background(), s.URL()+"/book?token_id=1", nil)
	if code != 200 || !strings.Contains(body, `"asks":[{"price":"0.6","size":"10"},{"price":"0.55","size":"6.5"}]`) {
		t.Errorf("GET /book = %d %s", code, body)
	}
	if code, _ := get(t, context.Background(), s.URL()+"/book?token_id=2", nil); code != http.StatusNotFound {
		t.Errorf("unknown token: %d", code)
	}
	if code, body := get(t, context.Background(), s.URL()+"/tick-size?token_id=1", nil); body != `{"minimum_tick_size":0.01}` {
		t.Errorf("GET /tick-size = %d %s", code, body)
	}
	if n := s.Requests(RouteBook); n != 2 {
		t.Errorf("book requests %d, want 2", n)
	}
}

func TestPrivateRoutesVerifyTheHMACOverThePathWithoutQuery(t *testing.T) {
	key, _ := crypto.GenerateKey()
	addr := crypto.PubkeyToAddress(key.PublicKey)
	creds := DeriveCredentials(addr, 0)
	s := start(t, Options{Accounts: map[string]Account{creds.APIKey: {Credentials: creds, Address: addr}},
		Balances: map[common.Address]Balance{addr: {Collateral: 42}}})
	url := s.URL() + "/balance-allowance?asset_type=COLLATERAL&signature_type=0"
	sign := func(path string) http.Header {
		m, err := clob.L2Headers(creds, addr, time.Now().Unix(), http.MethodGet, path, "")
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		clob.SetHeaders(h, m)
		return h
	}
	if code, body := get(t, context.Background(), url, sign("/balance-allowance")); code != 200 || !strings.Contains(body, `"balance":"42"`) {
		t.Errorf("signed over the path: %d %s", code, body)
	}
	h := sign("/balance-allowance")
	withQuery, err := clob.HMACSignature(creds.Secret, h[clob.HeaderTimestamp][0], http.MethodGet, "/balance-allowance?asset_type=COLLATERAL&signature_type=0", "")
	if err != nil {
		t.Fatal(err)
	}
	h[clob.HeaderSignature] = []string{withQuery}
	if code, _ := get(t, context.Background(), url, h); code != http.StatusUnauthorized {
		t.Errorf("signed over path and query: %d, want 401", code)
	}
	if code, _ := get(t, context.Background(), url, nil); code != http.StatusUnauthorized {
		t.Errorf("unsigned: %d, want 401", code)
	}
}

func TestStalledHandlersEndWhenTheClientLeavesOrTheServerCloses(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	s.Delay(RouteVersion, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		get(t, ctx, s.URL()+"/version", nil)
	}()
	for s.Requests(RouteVersion) == 0 {
		time.Sleep(time.Millisecond) // wait for the request to arrive
	}
	cancel()
	<-done
	// A second stalled request is ended by Close, which waits for every handler.
	s.StallAfterAccept(RouteTime, time.Hour)
	done = make(chan struct{})
	go func() {
		defer close(done)
		get(t, context.Background(), s.URL()+"/time", nil)
	}()
	for s.Requests(RouteTime) == 0 {
		time.Sleep(time.Millisecond)
	}
	s.Close()
	<-done
}

func TestFailNextCountsDown(t *testing.T) {
	s := start(t, Options{})
	s.FailNext(RouteVersion, 2, http.StatusServiceUnavailable, 1500*time.Millisecond)
	var codes []int
	for i := 0; i < 3; i++ {
		code, _ := get(t, context.Background(), s.URL()+"/version", nil)
		codes = append(codes, code)
	}
	if codes[0] != 503 || codes[1] != 503 || codes[2] != 200 || s.Requests(RouteVersion) != 3 {
		t.Errorf("codes %v, requests %d", codes, s.Requests(RouteVersion))
	}
}
