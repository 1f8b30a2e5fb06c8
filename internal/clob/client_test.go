package clob_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/time/rate"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/clobsim"
	"github.com/polybot/polybot/internal/testing/leaktest"
)

// leaktest: the deposit-wallet tests run a simulated chain (deposit_test.go).
func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

const (
	tokenA   = "71321045679252212594626385532706912750332728571942532289631379312455583992563" // tick 0.01, min 5
	tokenNeg = "52114319501245915516055106046884209969926127482827954674443846427813813222426" // neg risk, tick 0.001
	condA    = "0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	condNeg  = "0xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

var (
	traderKey, _ = crypto.HexToECDSA("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
	otherKey, _  = crypto.HexToECDSA("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
	trader       = crypto.PubkeyToAddress(traderKey.PublicKey)
	// The trader's Polymarket proxy wallet: the rs-clob-client derive_proxy_wallet_polygon vector
	// for this key, the maker the exchange (and clobsim) derive for its proxy orders.
	proxyWallet = common.HexToAddress("0x365f0cA36ae1F641E02Fe3b7743673DA42A13a70")
	d           = decimal.RequireFromString
)

// sleeper records the waits the client asks for and returns at once.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

type env struct {
	sim   *clobsim.Server
	c     *clob.Client
	slp   *sleeper
	creds clob.Credentials
	salt  int64
}

func markets() []clobsim.Market {
	return []clobsim.Market{{
		TokenID: tokenA, ConditionID: condA, TickSize: d("0.01"), MinSize: d("5"),
		Asks: []order.Level{{Price: d("0.55"), Size: d("100")}, {Price: d("0.56"), Size: d("100")}, {Price: d("0.60"), Size: d("50")}},
		Bids: []order.Level{{Price: d("0.50"), Size: d("100")}, {Price: d("0.48"), Size: d("200")}},
	}, {
		TokenID: tokenNeg, ConditionID: condNeg, TickSize: d("0.001"), MinSize: d("1"), NegRisk: true, FeeRateBps: 100,
		Asks: []order.Level{{Price: d("0.301"), Size: d("40")}},
	}}
}

// newEnv starts a fake CLOB with two markets and a funded trader, and a client that derived its
// API key through L1.
func newEnv(t *testing.T, simOpts func(*clobsim.Options), clientOpts func(*clob.Options)) *env {
	t.Helper()
	so := clobsim.Options{
		Markets: markets(),
		Funders: map[common.Address]common.Address{trader: proxyWallet},
		Balances: map[common.Address]clobsim.Balance{
			trader:      {Collateral: 1000e6, Tokens: map[string]int64{tokenA: 100e6}},
			proxyWallet: {Collateral: 500e6},
		},
	}
	if simOpts != nil {
		simOpts(&so)
	}
	sim, err := clobsim.New(so)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	e := &env{sim: sim, slp: &sleeper{}}
	co := clob.Options{BaseURL: sim.URL(), Key: traderKey, RateLimit: rate.Inf, Timeout: 5 * time.Second, Sleep: e.slp.sleep}
	if clientOpts != nil {
		clientOpts(&co)
	}
	e.c = newClient(t, co)
	creds, err := e.c.DeriveAPIKey(context.Background(), 0)
	if err != nil {
		t.Fatalf("derive API key: %v", err)
	}
	if creds != clobsim.DeriveCredentials(trader, 0) {
		t.Fatalf("derived %v, want the server's credentials for %s", creds, trader)
	}
	if err := e.c.SetCredentials(creds); err != nil {
		t.Fatal(err)
	}
	e.creds = creds
	return e
}

func newClient(t *testing.T, o clob.Options) *clob.Client {
	t.Helper()
	c, err := clob.NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// spec describes an order to sign; zero fields take the trader's EOA defaults.
type spec struct {
	token        string
	side         order.Side
	maker, taker int64 // base units
	typ          order.OrderType
	sigType      order.SignatureType
	makerAddr    common.Address
	signerAddr   common.Address
	key          *ecdsa.PrivateKey
	exchange     common.Address
	postOnly     bool
}

// sign builds, signs and encodes an order; it returns the POST /order body and the order hash.
func (e *env) sign(t *testing.T, s spec) ([]byte, common.Hash) {
	t.Helper()
	e.salt++
	if s.token == "" {
		s.token = tokenA
	}
	if s.typ == 0 {
		s.typ = order.GTC
	}
	if s.makerAddr == (common.Address{}) {
		s.makerAddr = trader
	}
	if s.signerAddr == (common.Address{}) {
		s.signerAddr = trader
	}
	if s.key == nil {
		s.key = traderKey
	}
	if s.exchange == (common.Address{}) {
		s.exchange = clobsim.DefaultCTFExchange
		if s.token == tokenNeg {
			s.exchange = clobsim.DefaultNegRiskExchange
		}
	}
	tok, _ := new(big.Int).SetString(s.token, 10)
	o := order.OrderV2{
		Salt: big.NewInt(e.salt), Maker: s.makerAddr, Signer: s.signerAddr, TokenID: tok,
		MakerAmount: big.NewInt(s.maker), TakerAmount: big.NewInt(s.taker), Side: s.side,
		SignatureType: s.sigType, Timestamp: big.NewInt(1_790_000_000_000 + e.salt),
	}
	sig, hash, err := order.SignV2(s.key, &o, order.ExchangeDomain(order.V2, 137, s.exchange))
	if err != nil {
		t.Fatal(err)
	}
	body, err := order.SignedOrderV2{Order: o, Signature: sig}.PostOrderBody(e.creds.APIKey, s.typ, s.postOnly)
	if err != nil {
		t.Fatal(err)
	}
	return body, hash
}

func limit(t *testing.T, side order.Side, price, size string) (int64, int64) {
	t.Helper()
	m, tk, err := order.LimitAmounts(side, d(price), d(size), d("0.01"))
	if err != nil {
		t.Fatal(err)
	}
	return m.Int64(), tk.Int64()
}

func market(t *testing.T, side order.Side, price, amount string) (int64, int64) {
	t.Helper()
	m, tk, err := order.MarketAmounts(order.V2, side, d(price), d(amount), d("0.01"))
	if err != nil {
		t.Fatal(err)
	}
	return m.Int64(), tk.Int64()
}

func wantKind(t *testing.T, err error, kind clob.ErrorKind) *clob.APIError {
	t.Helper()
	var ae *clob.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v is not an APIError of kind %s", err, kind)
	}
	if ae.Kind != kind {
		t.Fatalf("error %v has kind %s, want %s", err, ae.Kind, kind)
	}
	return ae
}

func wantAmounts(t *testing.T, r *clob.PostOrderResponse, status, making, taking string) {
	t.Helper()
	if r.Status != status || !r.MakingAmount.Equal(d(making)) || !r.TakingAmount.Equal(d(taking)) || !r.Success {
		t.Fatalf("answer %+v, want status %s making %s taking %s", r, status, making, taking)
	}
}

var ctx = context.Background()

func TestFOKBuyMatchesInFullAndMovesTheBalance(t *testing.T) {
	e := newEnv(t, nil, nil)
	m, tk := market(t, order.Buy, "0.56", "11")
	body, hash := e.sign(t, spec{side: order.Buy, maker: m, taker: tk, typ: order.FOK})
	r, err := e.c.PostOrder(ctx, body)
	if err != nil {
		t.Fatal(err)
	}
	// The market BUY spends its 11 USDC at the best ask 0.55: 20 shares, more than the 19.6428
	// its limit of 0.56 guarantees.
	wantAmounts(t, r, clob.StatusMatched, "11", "20")
	if r.OrderID != hash.Hex() || len(r.TransactionsHashes) != 1 {
		t.Errorf("order id %s (want %s), tx hashes %v", r.OrderID, hash.Hex(), r.TransactionsHashes)
	}
	ba, err := e.c.BalanceAllowance(ctx, clob.AssetCollateral, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !ba.Balance.Equal(d("989000000")) {
		t.Errorf("collateral balance %s, want 989000000 (1000e6 - 11e6)", ba.Balance)
	}
	// The CLOB forgets a filled order (py-clob-client issue 217); its trade is listed.
	if o, err := e.c.GetOrder(ctx, hash.Hex()); !errors.Is(err, clob.ErrOrderNotFound) {
		t.Errorf("GetOrder of the filled order = %+v, %v; want ErrOrderNotFound", o, err)
	}
	wantTrade(t, e, hash, "20")
}

// wantTrade checks that GET /data/trades lists one confirmed trade of the taker order h for
// shares, with the fields the official clients read.
func wantTrade(t *testing.T, e *env, h common.Hash, shares string) {
	t.Helper()
	ts, err := e.c.Trades(context.Background(), clob.TradeParams{AssetID: tokenA})
	if err != nil {
		t.Fatal(err)
	}
	var got []clob.Trade
	for _, tr := range ts {
		if strings.EqualFold(tr.TakerOrderID, h.Hex()) {
			got = append(got, tr)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d trades of order %s, want 1: %+v", len(got), h.Hex(), ts)
	}
	tr := got[0]
	if clob.TradeStatus(tr.Status) != clob.TradeConfirmed || !tr.Size.Equal(d(shares)) || tr.Side != "BUY" ||
		tr.AssetID != tokenA || tr.TransactionHash == "" || len(tr.MakerOrders) == 0 || tr.TraderSide != "TAKER" {
		t.Errorf("trade = %+v", tr)
	}
}

func TestFOKThatCannotFillIsKilledAndTradesNothing(t *testing.T) {
	e := newEnv(t, nil, nil)
	m, tk := market(t, order.Buy, "0.56", "200") // 357 shares; only 200 at <= 0.56
	body, hash := e.sign(t, spec{side: order.Buy, maker: m, taker: tk, typ: order.FOK})
	_, err := e.c.PostOrder(ctx, body)
	wantKind(t, err, clob.KindNotFilled)
	if _, ok := e.sim.Order(hash); ok {
		t.Error("a killed FOK order was recorded")
	}
	if _, asks := e.sim.Levels(tokenA); len(asks) != 3 {
		t.Errorf("book changed: asks %v", asks)
	}
}

func TestFAKFillsWhatCrossesAndCancelsTheRest(t *testing.T) {
	e := newEnv(t, nil, nil)
	m, tk := market(t, order.Buy, "0.56", "200")
	body, _ := e.sign(t, spec{side: order.Buy, maker: m, taker: tk, typ: order.FAK})
	r, err := e.c.PostOrder(ctx, body)
	if err != nil {
		t.Fatal(err)
	}
	// 100 at 0.55 and 100 at 0.56; the 0.60 level is above the limit.
	wantAmounts(t, r, clob.StatusMatched, "111", "200")
	book, err := e.c.Book(ctx, tokenA)
	if err != nil {
		t.Fatal(err)
	}
	if len(book.Asks) != 1 || !book.Asks[0].Price.Equal(d("0.6")) || !book.LastTradePrice.Equal(d("0.56")) {
		t.Errorf("asks after FAK %v, last trade %s", book.Asks, book.LastTradePrice)
	}
	// Nothing crosses at 0.56 any more: a second FAK is refused as unfilled.
	body, _ = e.sign(t, spec{side: order.Buy, maker: m, taker: tk, typ: order.FAK})
	_, err = e.c.PostOrder(ctx, body)
	wantKind(t, err, clob.KindNotFilled)
}

func TestGTCRestsOnTheBookAndCanBeCanceled(t *testing.T) {
	e := newEnv(t, nil, nil)
	m, tk := limit(t, order.Buy, "0.52", "10")
	body, hash := e.sign(t, spec{side: order.Buy, maker: m, taker: tk})
	r, err := e.c.PostOrder(ctx, body)
	if err != nil {
		t.Fatal(err)
	}
	wantAmounts(t, r, clob.StatusLive, "0", "0")
	book, err := e.c.Book(ctx, tokenA)
	if err != nil {
		t.Fatal(err)
	}
	best := book.Bids[len(book.Bids)-1]
	if !best.Price.Equal(d("0.52")) || !best.Size.Equal(d("10")) {
		t.Errorf("best bid %v, want 10 at 0.52", best)
	}
	o, err := e.c.GetOrder(ctx, hash.Hex())
	if err != nil || o.Status != "LIVE" || !o.Price.Equal(d("0.52")) || !o.OriginalSize.Equal(d("10")) {
		t.Fatalf("GetOrder = %+v, %v", o, err)
	}
	if _, err := e.c.CancelOrder(ctx, hash.Hex()); err != nil {
		t.Fatal(err)
	}
	if o, err := e.c.GetOrder(ctx, hash.Hex()); err != nil || o.Status != "CANCELED" {
		t.Fatalf("after cancel GetOrder = %+v, %v", o, err)
	}
	if _, err := e.c.CancelOrder(ctx, hash.Hex()); !errors.Is(err, clob.ErrNotCanceled) {
		t.Errorf("second cancel: %v, want ErrNotCanceled", err)
	}
}

func TestGTCFillsWhatCrossesAndRestsTheRest(t *testing.T) {
	e := newEnv(t, nil, nil)
	m, tk := limit(t, order.Buy, "0.55", "150")
	body, hash := e.sign(t, spec{side: order.Buy, maker: m, taker: tk})
	r, err := e.c.PostOrder(ctx, body)
	if err != nil {
		t.Fatal(err)
	}
	wantAmounts(t, r, clob.StatusLive, "55", "100")
	o, _ := e.sim.Order(hash)
	if o.SizeMatched != 100e6 || o.Status != "LIVE" {
		t.Errorf("server order %+v", o)
	}
	// A SELL at 0.55 now meets the resting 50 first, then the 0.50 bids are below its limit.
	m, tk = limit(t, order.Sell, "0.55", "80")
	body, _ = e.sign(t, spec{side: order.Sell, maker: m, taker: tk, typ: order.FAK})
	r, err = e.c.PostOrder(ctx, body)
	if err != nil {
		t.Fatal(err)
	}
	wantAmounts(t, r, clob.StatusMatched, "50", "27.5")
	if o, _ := e.sim.Order(hash); o.Status != "MATCHED" || o.SizeMatched != 150e6 {
		t.Errorf("resting order after being taken: %+v", o)
	}
}

func TestDuplicateOrderIsRefused(t *testing.T) {
	e := newEnv(t, nil, nil)
	m, tk := limit(t, order.Buy, "0.40", "10")
	body, _ := e.sign(t, spec{side: order.Buy, maker: m, taker: tk})
	if _, err := e.c.PostOrder(ctx, body); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.PostOrder(ctx, body)
	ae := wantKind(t, err, clob.KindDuplicate)
	if ae.Status != http.StatusBadRequest || !strings.Contains(ae.Message, "Duplicated") {
		t.Errorf("duplicate answer %+v", ae)
	}
}

func TestTamperedHMACIsAnAuthError(t *testing.T) {
	e := newEnv(t, nil, nil)
	bad := e.creds
	bad.Secret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	c := newClient(t, clob.Options{BaseURL: e.sim.URL(), Key: traderKey, Creds: &bad, RateLimit: rate.Inf, Sleep: e.slp.sleep})
	_, err := c.BalanceAllowance(ctx, clob.AssetCollateral, "", 0)
	if ae := wantKind(t, err, clob.KindAuth); ae.Status != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", ae.Status)
	}
	m, tk := limit(t, order.Buy, "0.40", "10")
	body, hash := e.sign(t, spec{side: order.Buy, maker: m, taker: tk})
	_, err = c.PostOrder(ctx, body)
	wantKind(t, err, clob.KindAuth)
	if errors.Is(err, clob.ErrUnknownOutcome) || clob.IsRetryable(err) {
		t.Errorf("a refused signature is neither unknown nor retryable: %v", err)
	}
	if _, ok := e.sim.Order(hash); ok {
		t.Error("the order was placed despite the bad HMAC")
	}
	if len(e.slp.got()) != 0 {
		t.Errorf("auth failures were retried: waits %v", e.slp.got())
	}
}

func TestSignatureRules(t *testing.T) {
	e := newEnv(t, nil, nil)
	m, tk := limit(t, order.Buy, "0.40", "10")
	cases := []struct {
		name    string
		s       spec
		wantErr string // "" accepted
	}{
		{"an EOA order signed by its maker is accepted", spec{}, ""},
		{"an order signed by another key is refused", spec{key: otherKey}, "invalid signature"},
		{"an order signed for the neg-risk exchange of a normal market is refused", spec{exchange: clobsim.DefaultNegRiskExchange}, "invalid signature"},
		{"an order of a signer that is not the API key's address is refused",
			spec{key: otherKey, makerAddr: crypto.PubkeyToAddress(otherKey.PublicKey), signerAddr: crypto.PubkeyToAddress(otherKey.PublicKey)}, "address of the API KEY"},
		{"a proxy order whose maker is the signer's funder is accepted", spec{sigType: order.PolyProxy, makerAddr: proxyWallet}, ""},
		{"a safe order whose maker is not the signer's safe is refused", spec{sigType: order.PolyGnosisSafe, makerAddr: common.HexToAddress("0xbad")}, "is not the safe"},
		// Deposit-wallet (POLY_1271) orders: deposit_test.go.
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.s.side, c.s.maker, c.s.taker = order.Buy, m, tk
			body, hash := e.sign(t, c.s)
			r, err := e.c.PostOrder(ctx, body)
			if c.wantErr == "" {
				if err != nil || r.OrderID != hash.Hex() {
					t.Fatalf("PostOrder = %+v, %v; want accepted", r, err)
				}
				return
			}
			if ae := wantKind(t, err, clob.KindValidation); !strings.Contains(ae.Message, c.wantErr) {
				t.Errorf("message %q, want it to contain %q", ae.Message, c.wantErr)
			}
		})
	}
}

func TestNegRiskMarketTakesOrdersSignedForTheNegRiskExchange(t *testing.T) {
	e := newEnv(t, nil, nil)
	info, err := e.c.Market(ctx, tokenNeg)
	if err != nil {
		t.Fatal(err)
	}
	if !info.NegRisk || !info.TickSize.Equal(d("0.001")) || info.FeeRateBps != 100 || !info.MinSize.Equal(d("1")) {
		t.Fatalf("Market = %+v", info)
	}
	mk, tk, err := order.LimitAmounts(order.Buy, d("0.301"), d("10"), info.TickSize)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := e.sign(t, spec{token: tokenNeg, side: order.Buy, maker: mk.Int64(), taker: tk.Int64(), typ: order.FOK})
	r, err := e.c.PostOrder(ctx, body)
	if err != nil {
		t.Fatal(err)
	}
	wantAmounts(t, r, clob.StatusMatched, "3.01", "10")
}

func TestOffTickPriceIsRefusedWithTheAPIsMessage(t *testing.T) {
	e := newEnv(t, nil, nil)
	// 10 shares at 0.555 on a 0.01 grid (order.LimitAmounts would refuse to build it).
	body, _ := e.sign(t, spec{side: order.Buy, maker: 5_550_000, taker: 10_000_000})
	_, err := e.c.PostOrder(ctx, body)
	ae := wantKind(t, err, clob.KindTickSize)
	if !strings.Contains(ae.Message, "Price (0.555) breaks minimum tick size rule: 0.01") {
		t.Errorf("message %q", ae.Message)
	}
}

func TestSizeBelowMinimumAndMissingBalanceAreRefused(t *testing.T) {
	e := newEnv(t, nil, nil)
	m, tk := limit(t, order.Buy, "0.40", "4")
	body, _ := e.sign(t, spec{side: order.Buy, maker: m, taker: tk})
	_, err := e.c.PostOrder(ctx, body)
	if ae := wantKind(t, err, clob.KindValidation); !strings.Contains(ae.Message, "lower than the minimum: 5") {
		t.Errorf("message %q", ae.Message)
	}
	e.sim.SetBalance(trader, clobsim.Balance{Collateral: 1e6})
	m, tk = limit(t, order.Buy, "0.40", "10")
	body, _ = e.sign(t, spec{side: order.Buy, maker: m, taker: tk})
	_, err = e.c.PostOrder(ctx, body)
	wantKind(t, err, clob.KindInsufficientBalance)
}

func TestV1OrderIsAVersionMismatchAndTheVersionIsReread(t *testing.T) {
	e := newEnv(t, nil, nil)
	tok, _ := new(big.Int).SetString(tokenA, 10)
	m, tk := limit(t, order.Buy, "0.40", "10")
	o := order.OrderV1{Salt: big.NewInt(7), Maker: trader, Signer: trader, TokenID: tok, MakerAmount: big.NewInt(m),
		TakerAmount: big.NewInt(tk), Expiration: new(big.Int), Nonce: new(big.Int), FeeRateBps: new(big.Int), Side: order.Buy}
	sig, _, err := order.SignV1(traderKey, &o, order.ExchangeDomain(order.V1, 137, polymarket.CTFExchangeV1))
	if err != nil {
		t.Fatal(err)
	}
	body, err := order.SignedOrderV1{Order: o, Signature: sig}.PostOrderBody(e.creds.APIKey, order.GTC, false)
	if err != nil {
		t.Fatal(err)
	}
	before := e.sim.Requests(clobsim.RouteVersion)
	_, err = e.c.PostOrder(ctx, body)
	if ae := wantKind(t, err, clob.KindVersionMismatch); !strings.Contains(ae.Message, "order_version_mismatch") {
		t.Errorf("message %q", ae.Message)
	}
	if got := e.sim.Requests(clobsim.RouteVersion) - before; got != 1 || e.c.ProtocolVersion() != 2 {
		t.Errorf("GET /version read %d times after the mismatch, version %d; want once, 2", got, e.c.ProtocolVersion())
	}
}

func TestRequireV2(t *testing.T) {
	e := newEnv(t, nil, nil)
	if err := e.c.RequireV2(ctx); err != nil {
		t.Fatalf("RequireV2 on a V2 CLOB: %v", err)
	}
	e.sim.SetVersion(1)
	err := e.c.RequireV2(ctx)
	if !errors.Is(err, clob.ErrNotV2) || !strings.Contains(err.Error(), "version 1") {
		t.Errorf("RequireV2 on a V1 CLOB: %v", err)
	}
}

func TestTooManyRequestsIsRetriedAfterRetryAfter(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.sim.FailNext(clobsim.RouteBook, 1, http.StatusTooManyRequests, 2*time.Second)
	if _, err := e.c.Book(ctx, tokenA); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.Requests(clobsim.RouteBook); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	if w := e.slp.got(); len(w) != 1 || w[0] != 2*time.Second {
		t.Errorf("waits %v, want [2s] from Retry-After", w)
	}
	// A 429 on POST /order cannot have placed the order: it is retried too.
	e.sim.FailNext(clobsim.RoutePostOrder, 1, http.StatusTooManyRequests, time.Second)
	m, tk := limit(t, order.Buy, "0.40", "10")
	body, _ := e.sign(t, spec{side: order.Buy, maker: m, taker: tk})
	if _, err := e.c.PostOrder(ctx, body); err != nil {
		t.Fatalf("PostOrder after a 429: %v", err)
	}
	if n := e.sim.Requests(clobsim.RoutePostOrder); n != 2 {
		t.Errorf("%d POST /order, want 2", n)
	}
}

func TestServerErrorStormExhaustsTheRetryBudget(t *testing.T) {
	e := newEnv(t, nil, func(o *clob.Options) { o.BackoffBase, o.BackoffMax = 100*time.Millisecond, 300*time.Millisecond })
	e.sim.FailNext(clobsim.RouteBook, 1000, http.StatusBadGateway, 0)
	_, err := e.c.Book(ctx, tokenA)
	wantKind(t, err, clob.KindRetryable)
	if !clob.IsRetryable(err) {
		t.Errorf("IsRetryable(%v) = false", err)
	}
	if n := e.sim.Requests(clobsim.RouteBook); n != 1+clob.DefaultMaxRetries {
		t.Errorf("%d requests, want %d", n, 1+clob.DefaultMaxRetries)
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	if w := e.slp.got(); len(w) != len(want) || w[0] != want[0] || w[1] != want[1] || w[2] != want[2] {
		t.Errorf("waits %v, want %v (capped exponential)", w, want)
	}
}

func TestPostOrderIsNotRetriedAfterAnAmbiguousFailure(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.sim.FailNext(clobsim.RoutePostOrder, 1000, http.StatusInternalServerError, 0)
	m, tk := limit(t, order.Buy, "0.40", "10")
	body, _ := e.sign(t, spec{side: order.Buy, maker: m, taker: tk})
	_, err := e.c.PostOrder(ctx, body)
	if !errors.Is(err, clob.ErrUnknownOutcome) || clob.IsRetryable(err) {
		t.Fatalf("PostOrder after a 500: %v, want ErrUnknownOutcome, not retryable", err)
	}
	if n := e.sim.Requests(clobsim.RoutePostOrder); n != 1 {
		t.Errorf("%d POST /order, want 1", n)
	}
}

func TestTimeoutAfterAcceptIsAnUnknownOutcomeResolvedByHash(t *testing.T) {
	e := newEnv(t, nil, func(o *clob.Options) { o.Timeout = 300 * time.Millisecond })
	e.sim.StallAfterAccept(clobsim.RoutePostOrder, time.Hour)
	m, tk := market(t, order.Buy, "0.56", "11")
	body, hash := e.sign(t, spec{side: order.Buy, maker: m, taker: tk, typ: order.FOK})
	_, err := e.c.PostOrder(ctx, body)
	if !errors.Is(err, clob.ErrUnknownOutcome) {
		t.Fatalf("PostOrder = %v, want ErrUnknownOutcome", err)
	}
	if n := e.sim.Requests(clobsim.RoutePostOrder); n != 1 {
		t.Errorf("%d POST /order, want 1 (no blind retry)", n)
	}
	e.sim.ClearFaults()
	waitFor(t, func() bool { _, ok := e.sim.Order(hash); return ok })
	// The filled order is forgotten by GET /data/order; its trade shows it reached the CLOB.
	if _, err := e.c.GetOrder(ctx, hash.Hex()); !errors.Is(err, clob.ErrOrderNotFound) {
		t.Fatalf("GetOrder by hash after the timeout: %v, want not found", err)
	}
	wantTrade(t, e, hash, "20")
	// Sending it again would have been refused as a duplicate.
	_, err = e.c.PostOrder(ctx, body)
	wantKind(t, err, clob.KindDuplicate)
}

func TestUnknownOrderIsErrOrderNotFound(t *testing.T) {
	e := newEnv(t, nil, nil)
	_, err := e.c.GetOrder(ctx, common.HexToHash("0x1234").Hex())
	if !errors.Is(err, clob.ErrOrderNotFound) {
		t.Errorf("GetOrder of an unknown hash: %v", err)
	}
	// Some servers answer 200 with null.
	e.sim.Override(clobsim.RouteGetOrder, func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		_, _ = w.Write([]byte("null"))
	})
	if _, err := e.c.GetOrder(ctx, common.HexToHash("0x1234").Hex()); !errors.Is(err, clob.ErrOrderNotFound) {
		t.Errorf("GetOrder answered null: %v", err)
	}
}

func TestMalformedAnswersAreErrors(t *testing.T) {
	e := newEnv(t, nil, nil)
	cases := []struct{ name, body string }{
		{"truncated JSON", `{"bids":[`},
		{"an array", `[]`},
		{"null", `null`},
		{"a tick size that is not a number", `{"tick_size":"abc"}`},
		{"a price in exponent notation", `{"tick_size":"0.01","bids":[{"price":"1e999999999","size":"1"}]}`},
		{"a price above 1", `{"tick_size":"0.01","asks":[{"price":"2","size":"1"}]}`},
		{"a level without size", `{"tick_size":"0.01","asks":[{"price":"0.5"}]}`},
		{"a negative size", `{"tick_size":"0.01","asks":[{"price":"0.5","size":"-1"}]}`},
		{"a boolean that is a number", `{"tick_size":"0.01","neg_risk":7}`},
		{"a level that is a string", `{"tick_size":"0.01","bids":["0.5"]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.sim.Override(clobsim.RouteBook, func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
				_, _ = w.Write([]byte(c.body))
			})
			b, err := e.c.Book(ctx, tokenA)
			if err == nil {
				t.Fatalf("Book = %+v, want an error", b)
			}
			if !errors.Is(err, clob.ErrMalformedResponse) {
				t.Errorf("error %v, want ErrMalformedResponse", err)
			}
		})
	}
	t.Run("an answer over 1 MiB", func(t *testing.T) {
		e.sim.Override(clobsim.RouteBook, func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
			_, _ = w.Write([]byte(`{"market":"` + strings.Repeat("x", clob.MaxResponseBytes) + `"}`))
		})
		_, err := e.c.Book(ctx, tokenA)
		if ae := wantKind(t, err, clob.KindUnknown); !strings.Contains(ae.Message, "larger than") {
			t.Errorf("message %q", ae.Message)
		}
	})
	e.sim.ClearFaults()
	// A malformed answer to POST /order leaves the order's fate unknown.
	e.sim.Override(clobsim.RoutePostOrder, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		next.ServeHTTP(httpDiscard{h: w.Header()}, r)
		_, _ = w.Write([]byte(`{"success":tru`))
	})
	m, tk := limit(t, order.Buy, "0.40", "10")
	body, _ := e.sign(t, spec{side: order.Buy, maker: m, taker: tk})
	if _, err := e.c.PostOrder(ctx, body); !errors.Is(err, clob.ErrUnknownOutcome) || !errors.Is(err, clob.ErrMalformedResponse) {
		t.Errorf("PostOrder with a malformed answer: %v", err)
	}
	for _, bad := range []string{`{"version":"two"}`, `{}`, `{"version":-2}`} {
		e.sim.Override(clobsim.RouteVersion, func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
			_, _ = w.Write([]byte(bad))
		})
		if v, err := e.c.Version(ctx); err == nil {
			t.Errorf("Version of %s = %d, want an error", bad, v)
		}
	}
}

// waitFor waits until cond holds, failing the test after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// httpDiscard is a ResponseWriter that drops what it is given.
type httpDiscard struct{ h http.Header }

func (w httpDiscard) Header() http.Header       { return w.h.Clone() }
func (httpDiscard) Write(b []byte) (int, error) { return len(b), nil }
func (httpDiscard) WriteHeader(int)             {}

func TestGeoblockIsItsOwnKind(t *testing.T) {
	e := newEnv(t, nil, nil)
	e.sim.Override(clobsim.RoutePostOrder, func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"error":"Trading restricted in your region"}`))
	})
	m, tk := limit(t, order.Buy, "0.40", "10")
	body, _ := e.sign(t, spec{side: order.Buy, maker: m, taker: tk})
	_, err := e.c.PostOrder(ctx, body)
	if ae := wantKind(t, err, clob.KindGeoblocked); ae.Message != "Trading restricted in your region" {
		t.Errorf("message %q", ae.Message)
	}
}

func TestMarketMetadataIsCachedForItsTTL(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	e := newEnv(t, nil, func(o *clob.Options) { o.Now, o.MetadataTTL = clock, time.Minute })
	fetches := func() int { return e.sim.Requests(clobsim.RouteBook) }
	for i := 0; i < 3; i++ {
		info, err := e.c.Market(ctx, tokenA)
		if err != nil {
			t.Fatal(err)
		}
		if !info.TickSize.Equal(d("0.01")) || !info.MinSize.Equal(d("5")) || info.NegRisk || info.FeeRateBps != 0 {
			t.Fatalf("Market = %+v", info)
		}
	}
	if fetches() != 1 || e.sim.Requests(clobsim.RouteClobMarket) != 1 {
		t.Errorf("3 lookups within the TTL fetched the book %d times, the fee %d times; want 1, 1", fetches(), e.sim.Requests(clobsim.RouteClobMarket))
	}
	now.Add(int64(61 * time.Second))
	if _, err := e.c.Market(ctx, tokenA); err != nil || fetches() != 2 {
		t.Errorf("after the TTL: %d fetches, %v; want 2", fetches(), err)
	}
	e.c.InvalidateMarket(tokenA)
	if _, err := e.c.Market(ctx, tokenA); err != nil || fetches() != 3 {
		t.Errorf("after InvalidateMarket: %d fetches, %v; want 3", fetches(), err)
	}
}

func TestMarketDataEndpoints(t *testing.T) {
	e := newEnv(t, nil, nil)
	tick, err := e.c.TickSize(ctx, tokenNeg)
	if err != nil || !tick.Equal(d("0.001")) {
		t.Errorf("TickSize = %s, %v", tick, err)
	}
	neg, err := e.c.NegRisk(ctx, tokenNeg)
	if err != nil || !neg {
		t.Errorf("NegRisk = %v, %v", neg, err)
	}
	fee, err := e.c.FeeRate(ctx, tokenNeg)
	if err != nil || fee != 1000 { // the legacy base_fee, not the 100 bps charged (rules_fees.go)
		t.Errorf("FeeRate = %d, %v", fee, err)
	}
	b, err := e.c.Book(ctx, tokenA)
	if err != nil {
		t.Fatal(err)
	}
	// Best last: bids ascending, asks descending.
	if len(b.Bids) != 2 || !b.Bids[1].Price.Equal(d("0.5")) || len(b.Asks) != 3 || !b.Asks[2].Price.Equal(d("0.55")) ||
		b.Market != condA || b.AssetID != tokenA || b.Hash == "" || b.Timestamp.IsZero() {
		t.Errorf("Book = %+v", b)
	}
	p, err := order.MarketPrice(order.Buy, b.Asks, d("100"), order.FOK)
	if err != nil || !p.Equal(d("0.56")) {
		t.Errorf("MarketPrice over the served asks = %s, %v", p, err)
	}
	if _, err := e.c.Book(ctx, "999"); clob.KindOf(err) != clob.KindNotFound {
		t.Errorf("Book of an unknown token: %v", err)
	}
}

func TestClockSkewIsMeasuredAndWarnedAbout(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	e := newEnv(t, func(o *clobsim.Options) { o.Now = func() time.Time { return time.Now().Add(10 * time.Second) } },
		func(o *clob.Options) { o.Log = zap.New(core) })
	skew, err := e.c.ClockSkew(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if skew < 9*time.Second || skew > 11*time.Second {
		t.Errorf("skew %v, want about 10s", skew)
	}
	if logs.FilterMessageSnippet("clock").Len() != 1 {
		t.Errorf("warnings %v, want one about the clock", logs.All())
	}

	core2, logs2 := observer.New(zapcore.WarnLevel)
	e2 := newEnv(t, nil, func(o *clob.Options) { o.Log = zap.New(core2) })
	skew, err = e2.c.ClockSkew(ctx)
	if err != nil || skew > 2*time.Second || skew < -2*time.Second || logs2.Len() != 0 {
		t.Errorf("in-sync clocks: skew %v, %v, warnings %v", skew, err, logs2.All())
	}
}

func TestBalanceAllowanceReadsBothShapes(t *testing.T) {
	for _, m := range []bool{false, true} {
		e := newEnv(t, func(o *clobsim.Options) { o.AllowancesMap = m }, nil)
		ba, err := e.c.BalanceAllowance(ctx, clob.AssetCollateral, "", int(order.PolyProxy))
		if err != nil {
			t.Fatal(err)
		}
		max := d("115792089237316195423570985008687907853269984665640564039457584007913129639935")
		if !ba.Balance.Equal(d("500000000")) || !ba.Allowance.Equal(max) {
			t.Errorf("allowances map %v: %+v", m, ba)
		}
		if m && (len(ba.Allowances) != 3 || !ba.Allowances[clobsim.DefaultNegRiskExchange].Equal(max) || !ba.Allowances[polymarket.ExchangeV3].Equal(max)) {
			t.Errorf("allowances %v", ba.Allowances)
		}
		ba, err = e.c.BalanceAllowance(ctx, clob.AssetConditional, tokenA, 0)
		if err != nil || !ba.Balance.Equal(d("100000000")) {
			t.Errorf("conditional balance %+v, %v", ba, err)
		}
		// A Protocol V2 market's position is asked for as CONDITIONAL-V2, a CTF token is not
		// (clobsim's strict reading of the docs; the broker tests ask for a position).
		if ba, err = e.c.BalanceAllowance(ctx, clob.AssetConditionalV2, tokenA, 0); err == nil {
			t.Errorf("CONDITIONAL-V2 balance of a CTF token %+v; want it refused", ba)
		}
	}
}

func TestOwnRateLimitHoldsRequestsBack(t *testing.T) {
	e := newEnv(t, nil, func(o *clob.Options) { o.RateLimit, o.Burst = rate.Every(time.Hour), 1 })
	// The bucket's only token went to the L1 derive call.
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := e.c.Book(cctx, tokenA)
	if err == nil || !strings.Contains(err.Error(), "rate limit") {
		t.Errorf("Book over the rate limit: %v", err)
	}
	if n := e.sim.Requests(clobsim.RouteBook); n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

func TestConnectionRefusedIsRetryableAndSafeToRetry(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	slp := &sleeper{}
	creds := clobsim.DeriveCredentials(trader, 0)
	c := newClient(t, clob.Options{BaseURL: url, Key: traderKey, Creds: &creds, RateLimit: rate.Inf, Sleep: slp.sleep})
	_, err = c.Book(ctx, tokenA)
	if !clob.IsRetryable(err) || len(slp.got()) != clob.DefaultMaxRetries {
		t.Errorf("Book against a closed port: %v after %d waits", err, len(slp.got()))
	}
	// The order never left: not an unknown outcome.
	_, err = c.PostOrder(ctx, []byte(`{"order":{}}`))
	if errors.Is(err, clob.ErrUnknownOutcome) || !clob.IsRetryable(err) {
		t.Errorf("PostOrder against a closed port: %v", err)
	}
}

func TestCreateOrDeriveAndPrivateCallsWithoutCredentials(t *testing.T) {
	sim, err := clobsim.New(clobsim.Options{Markets: markets()})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(""); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	c := newClient(t, clob.Options{BaseURL: sim.URL(), Key: traderKey, RateLimit: rate.Inf})
	if _, err := c.GetOrder(ctx, "0x01"); !errors.Is(err, clob.ErrNoCredentials) {
		t.Errorf("private call without credentials: %v", err)
	}
	creds, err := c.CreateOrDeriveAPIKey(ctx, 3)
	if err != nil || creds != clobsim.DeriveCredentials(trader, 3) {
		t.Fatalf("CreateOrDeriveAPIKey = %v, %v", creds, err)
	}
	created, err := c.CreateAPIKey(ctx, 3)
	if err != nil || created != creds {
		t.Errorf("CreateAPIKey = %v, %v", created, err)
	}
	if strings.Contains(creds.String(), creds.Secret) {
		t.Error("credentials print their secret")
	}
	// L1 headers signed for another chain are refused.
	c2 := newClient(t, clob.Options{BaseURL: sim.URL(), Key: traderKey, ChainID: 80002, RateLimit: rate.Inf})
	if _, err := c2.DeriveAPIKey(ctx, 0); clob.KindOf(err) != clob.KindAuth {
		t.Errorf("L1 for the wrong chain: %v", err)
	}
}

func TestNewClientValidatesOptions(t *testing.T) {
	bad := []clob.Options{
		{BaseURL: "ftp://x"},
		{BaseURL: "http://"},
		{BaseURL: "http://x?a=b"},
		{ChainID: -1},
		{RateLimit: -1},
		{Burst: -1},
		{Timeout: -time.Second},
		{BackoffBase: time.Second, BackoffMax: time.Millisecond},
		{Creds: &clob.Credentials{APIKey: "k"}},
	}
	for _, o := range bad {
		if c, err := clob.NewClient(o); err == nil {
			c.Close()
			t.Errorf("NewClient(%+v) accepted", o)
		}
	}
	c, err := clob.NewClient(clob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// BenchmarkPostOrderLoopback signs a V2 GTC order and posts it to the fake CLOB over loopback:
// EIP-712 hash and ECDSA signature, JSON body, L2 HMAC, HTTP round trip, server-side HMAC and
// signature verification, and booking.
func BenchmarkPostOrderLoopback(b *testing.B) {
	sim, err := clobsim.New(clobsim.Options{
		Markets:  markets(),
		Balances: map[common.Address]clobsim.Balance{trader: {Collateral: 1 << 60}},
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := sim.Start(""); err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	creds := clobsim.DeriveCredentials(trader, 0)
	if err := sim.AddAccount(clobsim.Account{Credentials: creds, Address: trader}); err != nil {
		b.Fatal(err)
	}
	c, err := clob.NewClient(clob.Options{BaseURL: sim.URL(), Key: traderKey, Creds: &creds, RateLimit: rate.Inf})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	tok, _ := new(big.Int).SetString(tokenA, 10)
	maker, taker, err := order.LimitAmounts(order.Buy, d("0.40"), d("10"), d("0.01"))
	if err != nil {
		b.Fatal(err)
	}
	dom := order.ExchangeDomain(order.V2, 137, clobsim.DefaultCTFExchange)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		o := order.OrderV2{Salt: big.NewInt(int64(i + 1)), Maker: trader, Signer: trader, TokenID: tok, MakerAmount: maker,
			TakerAmount: taker, Side: order.Buy, Timestamp: big.NewInt(1_790_000_000_000)}
		sig, _, err := order.SignV2(traderKey, &o, dom)
		if err != nil {
			b.Fatal(err)
		}
		body, err := order.SignedOrderV2{Order: o, Signature: sig}.PostOrderBody(creds.APIKey, order.GTC, false)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.PostOrder(context.Background(), body); err != nil {
			b.Fatal(err)
		}
	}
}

// While the matching engine restarts (425) or the CLOB is in cancel-only mode (503), it
// answers with retry_after_seconds: the order is held back exactly that long and then sent
// again (it was never placed, so this is no duplicate), and later orders wait the pause out
// instead of meeting the same refusal.
func TestEngineRestartAndCancelOnlyAreWaitedOut(t *testing.T) {
	for _, status := range []int{http.StatusTooEarly, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var mu sync.Mutex
			now := time.Now()
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			var waits []time.Duration
			sleep := func(ctx context.Context, d time.Duration) error {
				mu.Lock()
				now = now.Add(d)
				waits = append(waits, d)
				mu.Unlock()
				return ctx.Err()
			}
			e := newEnv(t, func(o *clobsim.Options) { o.Now = clock }, func(o *clob.Options) { o.Now, o.Sleep = clock, sleep })
			if err := e.sim.Pause(status, 3*time.Second); err != nil {
				t.Fatal(err)
			}
			m, tk := limit(t, order.Buy, "0.40", "10")
			body, hash := e.sign(t, spec{side: order.Buy, maker: m, taker: tk})
			if _, err := e.c.PostOrder(ctx, body); err != nil {
				t.Fatalf("PostOrder across a %d pause: %v", status, err)
			}
			if _, ok := e.sim.Order(hash); !ok {
				t.Fatal("the order was not placed after the pause")
			}
			if n := e.sim.Requests(clobsim.RoutePostOrder); n != 2 {
				t.Fatalf("%d POST /order, want 2 (refused, then placed)", n)
			}
			if len(waits) != 1 || waits[0] != 3*time.Second {
				t.Fatalf("waits %v, want [3s] from retry_after_seconds", waits)
			}
			// A pause longer than the client waits is not waited for: the order is not placed.
			if err := e.sim.Pause(status, time.Hour); err != nil {
				t.Fatal(err)
			}
			body, _ = e.sign(t, spec{side: order.Buy, maker: m, taker: tk})
			_, err := e.c.PostOrder(ctx, body)
			if !errors.Is(err, clob.ErrNotPlaced) || errors.Is(err, clob.ErrUnknownOutcome) {
				t.Fatalf("PostOrder during a long pause = %v, want ErrNotPlaced", err)
			}
			// The next order is held back without being sent.
			before := e.sim.Requests(clobsim.RoutePostOrder)
			body, _ = e.sign(t, spec{side: order.Buy, maker: m, taker: tk})
			if _, err := e.c.PostOrder(ctx, body); !errors.Is(err, clob.ErrNotPlaced) {
				t.Fatalf("PostOrder while paused = %v, want ErrNotPlaced", err)
			}
			if n := e.sim.Requests(clobsim.RoutePostOrder); n != before {
				t.Fatalf("%d POSTs sent while the CLOB said it takes no orders", n-before)
			}
		})
	}
}

func TestHeartbeatIDsChain(t *testing.T) {
	e := newEnv(t, nil, nil)
	id, err := e.c.PostHeartbeat(ctx, "")
	if err != nil || id == "" {
		t.Fatalf("first heartbeat: %q %v", id, err)
	}
	next, err := e.c.PostHeartbeat(ctx, id)
	if err != nil || next == "" {
		t.Fatalf("second heartbeat: %q %v", next, err)
	}
	if _, err := e.c.PostHeartbeat(ctx, "stale"); clob.KindOf(err) != clob.KindValidation {
		t.Fatalf("a heartbeat with an unknown id: %v, want a validation error", err)
	}
	if !e.sim.Heartbeats(e.creds.APIKey) {
		t.Fatal("no heartbeat session on the CLOB")
	}
}

// A market BUY names its collateral in cents: a maker amount with more decimals is refused
// with the CLOB's own message (a limit-order amount such as 10.33·0.52 = 5.3716 is).
func TestMarketBuyWithSubCentAmountIsRefused(t *testing.T) {
	e := newEnv(t, nil, nil)
	for _, typ := range []order.OrderType{order.FAK, order.FOK} {
		m, tk := limit(t, order.Buy, "0.52", "10.33")
		body, hash := e.sign(t, spec{side: order.Buy, maker: m, taker: tk, typ: typ})
		_, err := e.c.PostOrder(ctx, body)
		ae := wantKind(t, err, clob.KindValidation)
		if !strings.Contains(ae.Message, "market buy orders maker amount supports a max accuracy of 2 decimals") {
			t.Fatalf("%s: message %q", typ, ae.Message)
		}
		if _, ok := e.sim.Order(hash); ok {
			t.Fatalf("%s: the refused order was recorded", typ)
		}
	}
	// The same size as a GTC limit order is fine: the rule is for market BUYs.
	m, tk := limit(t, order.Buy, "0.52", "10.33")
	body, _ := e.sign(t, spec{side: order.Buy, maker: m, taker: tk, typ: order.GTC})
	if _, err := e.c.PostOrder(ctx, body); err != nil {
		t.Fatalf("GTC BUY of 10.33 at 0.52: %v", err)
	}
}

// GET /balance-allowance with the account's signature_type answers for the wallet that trades:
// the key's own balance for an EOA, its proxy's, Safe's or deposit wallet's for types 1, 2 and
// 3 (the clients send signature_type for that reason: py-clob-client-v2
// BalanceAllowanceParams.signature_type, clob-client-v2 getBalanceAllowance).
func TestBalanceAllowanceIsTheTradingWalletsForEachSignatureType(t *testing.T) {
	for _, c := range []struct {
		name    string
		sigType order.SignatureType
		funder  common.Address
	}{
		{"EOA", order.EOA, trader},
		{"proxy", order.PolyProxy, proxyWallet},
		{"Safe", order.PolyGnosisSafe, polymarket.SafeWallet(trader)},
		{"deposit wallet", order.Poly1271, depositWallet},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, func(o *clobsim.Options) {
				// The key has a wallet too, so each answer must pick between two balances.
				other := proxyWallet
				if c.funder != trader {
					other = trader
					o.Funders = map[common.Address]common.Address{trader: c.funder}
				} else {
					o.Funders = map[common.Address]common.Address{trader: proxyWallet}
				}
				o.Balances[other] = clobsim.Balance{Collateral: 1e6}
				o.Balances[c.funder] = clobsim.Balance{Collateral: 7e6}
			}, nil)
			ba, err := e.c.BalanceAllowance(ctx, clob.AssetCollateral, "", int(c.sigType))
			if err != nil {
				t.Fatal(err)
			}
			if !ba.Balance.Equal(d("7000000")) {
				t.Fatalf("balance %s with signature_type %d, want the %s's 7000000", ba.Balance, c.sigType, c.name)
			}
		})
	}
}
