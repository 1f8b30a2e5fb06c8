package broker

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"io"
	"math/big"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/time/rate"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/secrets"
	"github.com/polybot/polybot/internal/testing/clobsim"
	"github.com/polybot/polybot/internal/testing/leaktest"
)

// leaktest: the deposit-wallet test runs a simulated chain (deposit_test.go).
func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) }

var d = decimal.RequireFromString

const unit = 1_000_000

func TestLimitPriceRoundsInwardAndClamps(t *testing.T) {
	for _, c := range []struct {
		name             string
		side             polymarket.Side
		coll, shares     uint64
		slip, tick, want string
		wantErr          bool
	}{
		{"buy on grid", polymarket.Buy, 50 * unit, 100 * unit, "0.02", "0.01", "0.52", false},
		{"buy rounds down", polymarket.Buy, 52_345_600, 100 * unit, "0.02", "0.01", "0.54", false}, // 0.523456+0.02 = 0.543456
		{"sell rounds up", polymarket.Sell, 52_345_600, 100 * unit, "0.02", "0.01", "0.51", false}, // 0.503456 -> 0.51
		{"buy zero slippage off grid", polymarket.Buy, 52_345_600, 100 * unit, "0", "0.01", "0.52", false},
		{"sell zero slippage off grid", polymarket.Sell, 52_345_600, 100 * unit, "0", "0.01", "0.53", false},
		{"buy clamps to 1-tick", polymarket.Buy, 98 * unit, 100 * unit, "0.05", "0.01", "0.99", false},
		{"sell clamps to tick", polymarket.Sell, 3 * unit, 100 * unit, "0.05", "0.01", "0.01", false},
		{"buy below min price refused", polymarket.Buy, 50_000, 100 * unit, "0", "0.01", "", true}, // 0.0005
		{"sell above max price refused", polymarket.Sell, 99_950_000, 100 * unit, "0", "0.01", "", true},
		{"tick 0.0025", polymarket.Buy, 50 * unit, 100 * unit, "0.0031", "0.0025", "0.5025", false},
		{"tick 0.001 sell", polymarket.Sell, 50 * unit, 100 * unit, "0.0015", "0.001", "0.499", false},
		{"thirds", polymarket.Buy, 1 * unit, 3 * unit, "0", "0.01", "0.33", false},
		{"thirds sell", polymarket.Sell, 1 * unit, 3 * unit, "0", "0.01", "0.34", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := LimitPrice(c.side, c.coll, c.shares, d(c.slip), d(c.tick))
			if c.wantErr {
				if !errors.Is(err, ErrPriceBound) {
					t.Fatalf("got %s, %v; want ErrPriceBound", got, err)
				}
				return
			}
			if err != nil || !got.Equal(d(c.want)) {
				t.Fatalf("got %s, %v; want %s", got, err, c.want)
			}
		})
	}
}

// The slippage bound is never exceeded, the price is always on the grid and within (0, 1), and it
// is the best such price (one tick further would break the bound or the range).
func TestLimitPriceNeverExceedsTheBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ticks := []string{"0.1", "0.01", "0.001", "0.0001", "0.005", "0.0025"}
	slips := []string{"0", "0.0001", "0.01", "0.02", "0.05", "0.1234"}
	one := decimal.New(1, 0)
	for range 20_000 {
		side := polymarket.Side(rng.IntN(2))
		shares := (1 + rng.Uint64N(100_000)) * 10_000
		coll := 1 + rng.Uint64N(shares-1)
		tick, slip := d(ticks[rng.IntN(len(ticks))]), d(slips[rng.IntN(len(slips))])
		leader := decimal.NewFromUint64(coll).Div(decimal.NewFromUint64(shares))
		p, err := LimitPrice(side, coll, shares, slip, tick)
		if err != nil {
			if !errors.Is(err, ErrPriceBound) {
				t.Fatalf("unexpected error %v", err)
			}
			continue
		}
		if err := order.ValidatePrice(p, tick); err != nil {
			t.Fatalf("%s %d/%d slip %s tick %s: %s off grid: %v", side, coll, shares, slip, tick, p, err)
		}
		// Exact comparison: p·shares against coll + slip·shares (in base units).
		pc := p.Mul(decimal.NewFromUint64(shares))
		sc := slip.Mul(decimal.NewFromUint64(shares))
		c := decimal.NewFromUint64(coll)
		switch side {
		case polymarket.Buy:
			if pc.GreaterThan(c.Add(sc)) {
				t.Fatalf("BUY %s pays more than leader %s + %s", p, leader, slip)
			}
			if next := p.Add(tick); next.LessThan(one) && next.Mul(decimal.NewFromUint64(shares)).LessThanOrEqual(c.Add(sc)) {
				t.Fatalf("BUY %s: %s would also keep the bound", p, next)
			}
		case polymarket.Sell:
			if pc.LessThan(c.Sub(sc)) {
				t.Fatalf("SELL %s takes less than leader %s - %s", p, leader, slip)
			}
			if next := p.Sub(tick); next.GreaterThanOrEqual(tick) && next.Mul(decimal.NewFromUint64(shares)).GreaterThanOrEqual(c.Sub(sc)) {
				t.Fatalf("SELL %s: %s would also keep the bound", p, next)
			}
		}
	}
}

// fixture is a clobsim with one account and a CLOB broker on it.
type fixture struct {
	srv       *clobsim.Server
	key       *ecdsa.PrivateKey
	addr      common.Address
	broker    *CLOB
	credsFile string
}

const (
	tokenNormal = "1001"
	tokenNeg    = "2002"
)

func newFixture(t *testing.T, mutate func(*clobsim.Options, *CLOBOptions)) *fixture {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	addr := crypto.PubkeyToAddress(key.PublicKey)
	so := clobsim.Options{
		Markets: []clobsim.Market{
			{TokenID: tokenNormal, ConditionID: condNormal, TickSize: d("0.01"), MinSize: d("5"),
				Asks: []order.Level{{Price: d("0.50"), Size: d("10")}, {Price: d("0.51"), Size: d("10")}, {Price: d("0.60"), Size: d("100")}},
				Bids: []order.Level{{Price: d("0.48"), Size: d("10")}, {Price: d("0.40"), Size: d("100")}}},
			{TokenID: tokenNeg, ConditionID: condNeg, TickSize: d("0.001"), MinSize: d("1"), NegRisk: true,
				Asks: []order.Level{{Price: d("0.305"), Size: d("50")}}},
		},
		Balances: map[common.Address]clobsim.Balance{addr: {Collateral: 1000 * unit, Tokens: map[string]int64{tokenNormal: 50 * unit}}},
		Log:      zaptest.NewLogger(t).Named("clobsim"),
	}
	credsFile := filepath.Join(t.TempDir(), "api.json")
	bo := CLOBOptions{
		ChainID: 137, CTFExchange: clobsim.DefaultCTFExchange, NegRiskExchange: clobsim.DefaultNegRiskExchange,
		Key: key, LoadCredentials: secrets.CredentialSource(credsFile), Slippage: d("0.02"), OrderType: order.FAK,
		Timeout: 2 * time.Second, Log: zaptest.NewLogger(t),
	}
	if mutate != nil {
		mutate(&so, &bo)
	}
	srv, err := clobsim.New(so)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	bo.BaseURL = srv.URL()
	b, err := NewCLOB(context.Background(), bo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return &fixture{srv: srv, key: key, addr: addr, broker: b, credsFile: credsFile}
}

// derivedLogs returns the "credentials derived" lines of logs, with their saved field.
func derivedLogs(logs *observer.ObservedLogs) []any {
	var out []any
	for _, e := range logs.FilterMessage("API credentials derived with the signing key").All() {
		out = append(out, e.ContextMap()["saved"])
	}
	return out
}

func TestNewCLOBSavesDerivedCredentialsAndReadsThemAtTheNextStart(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	var opts *CLOBOptions
	f := newFixture(t, func(_ *clobsim.Options, bo *CLOBOptions) { bo.Log, opts = zap.New(core), bo })
	if got := derivedLogs(logs); len(got) != 1 || got[0] != true {
		t.Fatalf("derived credentials logged with saved %v; want once, saved", got)
	}
	// The next start reads the saved file: nothing derived, nothing logged.
	core2, logs2 := observer.New(zap.InfoLevel)
	next := *opts
	next.Log = zap.New(core2)
	b, err := NewCLOB(context.Background(), next)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if n := f.srv.Requests(clobsim.RouteDeriveAPIKey); n != 1 || len(derivedLogs(logs2)) != 0 {
		t.Fatalf("derive called %d times, logged %v; want once, at the first start only", n, derivedLogs(logs2))
	}
	// Without a source the credentials are derived and saved nowhere.
	core3, logs3 := observer.New(zap.InfoLevel)
	next.Log, next.LoadCredentials = zap.New(core3), nil
	b, err = NewCLOB(context.Background(), next)
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if got := derivedLogs(logs3); f.srv.Requests(clobsim.RouteDeriveAPIKey) != 2 || len(got) != 1 || got[0] != false {
		t.Fatalf("without a source: derive called %d times, logged saved %v; want derived, not saved",
			f.srv.Requests(clobsim.RouteDeriveAPIKey), got)
	}
}

var fillSeq uint

func copyOrder(token string, side polymarket.Side, shares, coll uint64) Order {
	fillSeq++
	tok, _ := new(big.Int).SetString(token, 10)
	src := &polymarket.Fill{TxHash: crypto.Keccak256Hash([]byte(token), big.NewInt(int64(fillSeq)).Bytes()), LogIndex: fillSeq, Side: side, TokenID: tok, Shares: shares, Collateral: coll}
	return Order{Leader: common.HexToAddress("0x10"), Market: token, TokenID: tok, Side: side, Shares: shares, Collateral: coll, Source: src}
}

func TestNewCLOBDerivesAndSavesCredentials(t *testing.T) {
	f := newFixture(t, nil)
	fi, err := os.Stat(f.credsFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file mode %o", fi.Mode().Perm())
	}
	c, err := secrets.LoadCredentials(f.credsFile)
	if err != nil || c != clobsim.DeriveCredentials(f.addr, 0) {
		t.Fatalf("saved credentials %v, %v", c, err)
	}
	if f.srv.Requests(clobsim.RouteDeriveAPIKey) != 1 {
		t.Fatalf("derive called %d times", f.srv.Requests(clobsim.RouteDeriveAPIKey))
	}
}

func TestCheckFunder(t *testing.T) {
	a, b := common.HexToAddress("0xa"), common.HexToAddress("0xb")
	for _, c := range []struct {
		t      order.SignatureType
		funder common.Address
		ok     bool
	}{{order.EOA, common.Address{}, true}, {order.EOA, a, true}, {order.EOA, b, false},
		{order.PolyProxy, b, true}, {order.PolyProxy, common.Address{}, false}, {order.PolyGnosisSafe, a, false}, {order.Poly1271, b, true}} {
		if err := CheckFunder(c.t, a, c.funder); (err == nil) != c.ok {
			t.Errorf("%s funder %s: %v", c.t, c.funder.Hex(), err)
		}
	}
}

func TestFAKBuyRecordsWhatFilled(t *testing.T) {
	f := newFixture(t, nil)
	// Leader bought 30 shares at 0.50; limit 0.52 crosses 10@0.50 and 10@0.51 only.
	e, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 30*unit, 15*unit))
	if err != nil {
		t.Fatal(err)
	}
	if e.Shares != 20*unit || e.Collateral != 10_100_000 {
		t.Fatalf("execution %d shares for %d, want 20 shares for 10.1", e.Shares, e.Collateral)
	}
	if bal := f.srv.Balance(f.addr); bal.Collateral != 1000*unit-10_100_000 || bal.Tokens[tokenNormal] != 70*unit {
		t.Fatalf("balance %+v", bal)
	}
}

func TestSellRoundsUpAndFills(t *testing.T) {
	f := newFixture(t, nil)
	// Leader sold at 0.495: limit 0.475 rounds up to 0.48, crossing the 10 bid at 0.48 only.
	e, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Sell, 20*unit, 9_900_000))
	if err != nil {
		t.Fatal(err)
	}
	if e.Shares != 10*unit || e.Collateral != 4_800_000 {
		t.Fatalf("execution %+v", e)
	}
}

func TestNegRiskMarketSignsForTheNegRiskExchange(t *testing.T) {
	f := newFixture(t, nil)
	e, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNeg, polymarket.Buy, 10*unit, 3_050_000))
	if err != nil {
		t.Fatal(err)
	}
	// A market BUY of 3.25 (10 shares at the 0.325 limit) fills at the 0.305 ask: more shares.
	if e.Shares != 10_655_737 || e.Collateral != 3_249_999 {
		t.Fatalf("execution %+v", e)
	}
}

func TestBelowMinimumSizeIsRefusedBeforeSending(t *testing.T) {
	f := newFixture(t, nil)
	_, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 4_990_000, 2_495_000))
	if !errors.Is(err, ErrRefused) || !errors.Is(err, order.ErrSizeTooSmall) {
		t.Fatalf("err = %v", err)
	}
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != 0 {
		t.Fatalf("%d orders sent", n)
	}
}

func TestNotFilledIsAZeroExecution(t *testing.T) {
	for _, ot := range []order.OrderType{order.FOK, order.FAK} {
		t.Run(ot.String(), func(t *testing.T) {
			f := newFixture(t, func(_ *clobsim.Options, b *CLOBOptions) { b.OrderType = ot })
			shares := uint64(1000 * unit) // FOK: more than crosses
			coll := uint64(500 * unit)
			if ot == order.FAK {
				shares, coll = 10*unit, 4*unit // 0.40 + 0.02: nothing crosses
			}
			e, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, shares, coll))
			if err != nil {
				t.Fatal(err)
			}
			if e.Shares != 0 || e.Collateral != 0 || e.Market != tokenNormal {
				t.Fatalf("execution %+v, want zero", e)
			}
		})
	}
}

func TestFinalErrorsCarryTheAPIMessage(t *testing.T) {
	f := newFixture(t, func(o *clobsim.Options, _ *CLOBOptions) {
		for a := range o.Balances {
			o.Balances[a] = clobsim.Balance{Collateral: 1}
		}
	})
	_, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit))
	if clob.KindOf(err) != clob.KindInsufficientBalance || !strings.Contains(err.Error(), "not enough balance / allowance") {
		t.Fatalf("err = %v", err)
	}
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != 1 {
		t.Fatalf("a final error was retried: %d POSTs", n)
	}
}

func TestRetryableFailuresAreRetriedBeforeSending(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.FailNext(clobsim.RoutePostOrder, 1, http.StatusTooManyRequests, 0)
	e, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit))
	if err != nil || e.Shares != 10_392_156 {
		t.Fatalf("%+v, %v", e, err)
	}
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != 2 {
		t.Fatalf("%d POSTs, want 2", n)
	}
}

func TestTickSizeRejectionInvalidatesTheMarket(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.Override(clobsim.RoutePostOrder, func(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"order 0x1 is invalid. Price (0.52) breaks minimum tick size rule: 0.1"}`))
	})
	_, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit))
	if clob.KindOf(err) != clob.KindTickSize || !strings.Contains(err.Error(), "tick size changed") {
		t.Fatalf("err = %v", err)
	}
	books := f.srv.Requests(clobsim.RouteBook)
	f.srv.Override(clobsim.RoutePostOrder, nil)
	if _, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit)); err != nil {
		t.Fatal(err)
	}
	if f.srv.Requests(clobsim.RouteBook) != books+1 {
		t.Fatal("market metadata not fetched again after a tick size rejection")
	}
}

// An order accepted whose answer never arrives is found by its hash: no second POST, one order.
func TestUnknownOutcomeAcceptedIsLookedUpNotResent(t *testing.T) {
	f := newFixture(t, func(_ *clobsim.Options, b *CLOBOptions) { b.Timeout = 300 * time.Millisecond })
	f.srv.StallAfterAccept(clobsim.RoutePostOrder, time.Minute)
	o := copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit)
	p, err := f.broker.Prepare(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	e, err := f.broker.PlaceOrder(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	// From the lookup: the 5.20 the market BUY spent (10 shares at 0.50, 0.392156 at 0.51).
	if e.Shares != 10_392_156 || e.Collateral != 5_200_000 {
		t.Fatalf("execution %+v", e)
	}
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != 1 {
		t.Fatalf("%d POSTs, want 1", n)
	}
	if f.srv.Requests(clobsim.RouteGetOrder) != 1 {
		t.Fatal("order not looked up")
	}
	if st, ok := f.srv.Order(p.Hash); !ok || st.SizeMatched != 10_392_156 {
		t.Fatalf("order %s: %+v %v (the timestamp of the first attempt must be reused)", p.Hash.Hex(), st, ok)
	}
	if bal := f.srv.Balance(f.addr); bal.Tokens[tokenNormal] != 60_392_156 {
		t.Fatalf("bought %d, want exactly 10.392156 shares once", bal.Tokens[tokenNormal]-50*unit)
	}
}

// A POST lost before the CLOB handled it is not found by hash and is sent again, the same bytes.
func TestUnknownOutcomeNotFoundIsResentOnceWithTheSameHash(t *testing.T) {
	f := newFixture(t, func(_ *clobsim.Options, b *CLOBOptions) { b.Timeout = 300 * time.Millisecond })
	var bodies []string
	f.srv.Override(clobsim.RoutePostOrder, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		body, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(body))
		if len(bodies) == 1 {
			<-r.Context().Done() // lost: never handled
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
	e, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit))
	if err != nil {
		t.Fatal(err)
	}
	if e.Shares != 10_392_156 || e.Collateral != 5_199_999 {
		t.Fatalf("execution %+v", e)
	}
	if len(bodies) != 2 || bodies[0] != bodies[1] {
		t.Fatalf("%d POSTs; same body: %v", len(bodies), len(bodies) == 2 && bodies[0] == bodies[1])
	}
}

// When the re-send is lost too, the copy fails: never a third POST.
func TestUnknownOutcomeTwiceFails(t *testing.T) {
	f := newFixture(t, func(_ *clobsim.Options, b *CLOBOptions) { b.Timeout = 200 * time.Millisecond })
	f.srv.Override(clobsim.RoutePostOrder, func(_ http.ResponseWriter, r *http.Request, _ http.Handler) {
		_, _ = io.ReadAll(r.Body) // then the server notices the client hanging up
		<-r.Context().Done()
	})
	_, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit))
	if !errors.Is(err, clob.ErrUnknownOutcome) {
		t.Fatalf("err = %v", err)
	}
	if n := f.srv.Requests(clobsim.RoutePostOrder); n != 2 {
		t.Fatalf("%d POSTs, want 2", n)
	}
}

func TestProxySignatureTypeTradesFromTheFunder(t *testing.T) {
	// The maker of a Safe order is the signer's Safe, which the exchange derives from the signer.
	var funder common.Address
	f := newFixture(t, func(o *clobsim.Options, b *CLOBOptions) {
		signer := crypto.PubkeyToAddress(b.Key.PublicKey)
		funder = polymarket.SafeWallet(signer)
		o.Funders = map[common.Address]common.Address{signer: funder}
		o.Balances[funder] = clobsim.Balance{Collateral: 100 * unit}
		b.SignatureType, b.Funder = order.PolyGnosisSafe, funder
	})
	if _, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit)); err != nil {
		t.Fatal(err)
	}
	if bal := f.srv.Balance(funder); bal.Tokens[tokenNormal] != 10_392_156 {
		t.Fatalf("funder balance %+v", bal)
	}
}

func TestPaperBookFillsLikeLive(t *testing.T) {
	book := &clob.Book{TickSize: d("0.01"), MinOrderSize: d("5"),
		Asks: []order.Level{{Price: d("0.60"), Size: d("100")}, {Price: d("0.51"), Size: d("10")}, {Price: d("0.50"), Size: d("10")}},
		Bids: []order.Level{{Price: d("0.40"), Size: d("100")}, {Price: d("0.48"), Size: d("10")}}}
	src := bookSource{book}
	for _, c := range []struct {
		name         string
		ot           order.OrderType
		side         polymarket.Side
		shares, coll uint64
		wantShares   uint64
		wantColl     uint64
		wantErr      error
	}{
		{"FAK partial", order.FAK, polymarket.Buy, 30 * unit, 15 * unit, 20 * unit, 10_100_000, nil},
		{"FOK all or nothing", order.FOK, polymarket.Buy, 30 * unit, 15 * unit, 0, 0, nil},
		{"FOK fills when it can", order.FOK, polymarket.Buy, 15 * unit, 7_500_000, 15 * unit, 7_550_000, nil},
		{"sell within bound", order.FAK, polymarket.Sell, 20 * unit, 9_900_000, 10 * unit, 4_800_000, nil},
		{"nothing crosses", order.FAK, polymarket.Buy, 10 * unit, 4 * unit, 0, 0, nil},
		{"below minimum", order.FAK, polymarket.Buy, 4 * unit, 2 * unit, 0, 0, ErrRefused},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := NewPaperBook(PaperBookOptions{Books: src, Slippage: d("0.02"), OrderType: c.ot})
			if err != nil {
				t.Fatal(err)
			}
			e, err := p.PlaceOrder(context.Background(), copyOrder(tokenNormal, c.side, c.shares, c.coll))
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil || e.Shares != c.wantShares || e.Collateral != c.wantColl {
				t.Fatalf("%+v, %v; want %d shares for %d", e, err, c.wantShares, c.wantColl)
			}
		})
	}
}

type bookSource struct{ b *clob.Book }

func (s bookSource) Book(context.Context, string) (*clob.Book, error) { return s.b, nil }

func BenchmarkPrepare(b *testing.B) {
	srv, err := clobsim.New(clobsim.Options{Markets: []clobsim.Market{{TokenID: tokenNormal, TickSize: d("0.01"), MinSize: d("5")}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(""); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	key, _ := crypto.GenerateKey()
	creds := clobsim.DeriveCredentials(crypto.PubkeyToAddress(key.PublicKey), 0)
	br, err := NewCLOB(context.Background(), CLOBOptions{BaseURL: srv.URL(), ChainID: 137, CTFExchange: clobsim.DefaultCTFExchange,
		NegRiskExchange: clobsim.DefaultNegRiskExchange, Key: key, Credentials: &creds, Slippage: d("0.02"), OrderType: order.FAK})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	o := copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := br.Prepare(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
}

func TestResolveLooksThePendingOrderUp(t *testing.T) {
	f := newFixture(t, nil)
	o := copyOrder(tokenNormal, polymarket.Buy, 30*unit, 15*unit)
	p, err := f.broker.Prepare(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.broker.PlaceOrder(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	in := OrderRef{Intent: o.Source.TxHash.Hex(), Token: tokenNormal, Side: polymarket.Buy,
		Shares: o.Shares, Collateral: o.Collateral, Hash: p.Hash}
	r, err := f.broker.Resolve(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	// 20 of 30 matched (FAK): 10 at 0.50 and 10 at 0.51, as its trade says (the CLOB no
	// longer lists the filled order itself).
	if r.Status != PartlyFilled || r.FilledShares != 20*unit || r.FilledCollateral != 10_100_000 || r.OrderID != p.Hash.Hex() {
		t.Fatalf("result %+v", r)
	}
	in.Hash = common.HexToHash("0x01")
	if r, err := f.broker.Resolve(context.Background(), in); err != nil || r.Status != Unfilled || r.FilledShares != 0 {
		t.Fatalf("unknown order: %+v, %v", r, err)
	}
	in.Hash = common.Hash{}
	if _, err := f.broker.Resolve(context.Background(), in); err == nil {
		t.Fatal("an intent without a hash was resolved")
	}
}

// BenchmarkPlaceOrderRoundTrip is one copy through the fake CLOB on loopback: price, sign, POST
// with the L2 HMAC, the server's signature and HMAC checks, matching (nothing crosses: a zero
// execution), and the answer.
func BenchmarkPlaceOrderRoundTrip(b *testing.B) {
	srv, err := clobsim.New(clobsim.Options{Markets: []clobsim.Market{{TokenID: tokenNormal, TickSize: d("0.01"), MinSize: d("5")}}})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(""); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	key, _ := crypto.GenerateKey()
	addr := crypto.PubkeyToAddress(key.PublicKey)
	srv.SetBalance(addr, clobsim.Balance{Collateral: 1 << 50})
	creds := clobsim.DeriveCredentials(addr, 0)
	if err := srv.AddAccount(clobsim.Account{Credentials: creds, Address: addr}); err != nil {
		b.Fatal(err)
	}
	br, err := NewCLOB(context.Background(), CLOBOptions{BaseURL: srv.URL(), ChainID: 137, CTFExchange: clobsim.DefaultCTFExchange,
		NegRiskExchange: clobsim.DefaultNegRiskExchange, Key: key, Credentials: &creds, Slippage: d("0.02"), OrderType: order.FAK,
		RateLimit: rate.Inf})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	orders := make([]Order, b.N)
	for i := range orders {
		orders[i] = copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		e, err := br.PlaceOrder(context.Background(), orders[i])
		if err != nil || e.Shares != 0 {
			b.Fatalf("%+v, %v", e, err)
		}
	}
}

// cachedBookSource is a book source with a market cache, as *clob.Client is; it counts the
// books it serves.
type cachedBookSource struct {
	bookSource
	books int
}

func (s *cachedBookSource) Book(ctx context.Context, token string) (*clob.Book, error) {
	s.books++
	return s.bookSource.Book(ctx, token)
}

func (s *cachedBookSource) Market(context.Context, string) (clob.MarketInfo, error) {
	return clob.MarketInfo{TickSize: s.b.TickSize, MinSize: s.b.MinOrderSize}, nil
}

// A paper-book BUY copy reads the book once, to fill on it: its terms (tick, minimum size) come
// from the source's market cache, as the live broker's do.
func TestPaperBookTermsComeFromTheMarketCacheNotASecondBook(t *testing.T) {
	src := &cachedBookSource{bookSource: bookSource{&clob.Book{TickSize: d("0.01"), MinOrderSize: d("5"),
		Asks: []order.Level{{Price: d("0.50"), Size: d("100")}}}}}
	p, err := NewPaperBook(PaperBookOptions{Books: src, Slippage: d("0.02"), OrderType: order.FOK})
	if err != nil {
		t.Fatal(err)
	}
	o := copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit)
	terms, err := p.Terms(context.Background(), o.Source)
	if err != nil {
		t.Fatal(err)
	}
	if terms.MinShares != 5*unit {
		t.Fatalf("terms %+v, want the market's minimum of 5 shares", terms)
	}
	if _, err := p.PlaceOrder(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if src.books != 1 {
		t.Fatalf("the copy read the book %d times, want once (to fill)", src.books)
	}
}
