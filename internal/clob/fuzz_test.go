package clob_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"golang.org/x/time/rate"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
)

// fuzzMarker stands for a secret a hostile or broken CLOB echoes in a 2xx body: an error about a
// malformed answer must never quote it.
const fuzzMarker = "S3CRET-MARKER"

type canned struct {
	status int
	body   []byte
}

// FuzzResponses runs the client against a loopback CLOB that answers every call with the
// fuzzed status and body: order answers, books, balances, versions, errors. The client never
// panics, refuses what it cannot read with an error, and whatever it accepts is within the
// ranges the rest of polybot relies on.
func FuzzResponses(f *testing.F) {
	seeds := []string{
		`{"market":"0xa","asset_id":"1","timestamp":"1700000000000","hash":"h","bids":[{"price":"0.48","size":"200"},{"price":"0.5","size":"100"}],"asks":[{"price":"0.56","size":"100"},{"price":"0.55","size":"100"}],"min_order_size":"5","tick_size":"0.01","neg_risk":false,"last_trade_price":"0.55"}`,
		`{"success":true,"errorMsg":"","orderID":"0xabc","status":"matched","makingAmount":"5.5","takingAmount":"10","transactionsHashes":["0x1"]}`,
		`{"success":true,"orderID":"0xabc","status":"MATCHED","makingAmount":"5.5","takingAmount":"10"}{"success":true,"orderID":"0xabc","status":"matched"}`,
		`{"success":false,"errorMsg":"not enough balance / allowance"}`,
		`{"success":true,"orderID":"0xabc","status":"live","makingAmount":"-1","takingAmount":"0"}`,
		`{"id":"0xabc","status":"MATCHED","original_size":"10","size_matched":"10","price":"0.55","created_at":1700000000}`,
		`{"canceled":["0xabc"],"not_canceled":{}}`,
		`{"balance":"1000000","allowance":"115792089237316195423570985008687907853269984665640564039457584007913129639935"}`,
		`{"balance":"1","allowances":{"0xE111180000d2663C0091e4f400237545B87B996B":"5"}}`,
		`{"version":2}`, `1700000000`, `{"minimum_tick_size":0.001}`, `{"neg_risk":"true"}`, `{"base_fee":"0"}`,
		`{"tick_size":"0.01","bids":[{"price":"1e999999999","size":"1"}]}`,
		`{"error":"` + fuzzMarker + `"}`, `{"success":tru` + fuzzMarker, `null`, `[]`, ``, `""`, `{}`,
	}
	for i, s := range seeds {
		f.Add(uint8(i), uint16(200), []byte(s))
	}
	f.Add(uint8(1), uint16(500), []byte(`{"error":"internal"}`))
	f.Add(uint8(1), uint16(429), []byte(`rate limited`))
	f.Add(uint8(0), uint16(302), []byte(``))

	var cur atomic.Pointer[canned]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c := cur.Load()
		w.WriteHeader(c.status)
		_, _ = w.Write(c.body)
	}))
	f.Cleanup(srv.Close)
	c, err := clob.NewClient(clob.Options{
		BaseURL: srv.URL, Key: traderKey, RateLimit: rate.Inf, Timeout: 5 * time.Second, MaxRetries: -1,
		Creds: &clob.Credentials{APIKey: "k", Secret: "c2VjcmV0", Passphrase: "p"},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(c.Close)
	one := decimal.New(1, 0)

	f.Fuzz(func(t *testing.T, call uint8, status uint16, body []byte) {
		st := int(status)%500 + 100 // 100..599
		if st < 200 {
			st = 200
		}
		cur.Store(&canned{status: st, body: body})
		var err error
		switch call % 10 {
		case 0:
			var b *clob.Book
			if b, err = c.Book(ctx, tokenA); err == nil {
				if !b.TickSize.IsPositive() || !b.TickSize.LessThan(one) {
					t.Fatalf("accepted tick size %s", b.TickSize)
				}
				for _, l := range append(append([]order.Level(nil), b.Bids...), b.Asks...) {
					if !l.Price.IsPositive() || !l.Price.LessThan(one) || l.Size.IsNegative() {
						t.Fatalf("accepted level %s @ %s", l.Size, l.Price)
					}
				}
			}
		case 1:
			var r *clob.PostOrderResponse
			if r, err = c.PostOrder(ctx, []byte(`{"order":{}}`)); err == nil {
				if !r.Success || r.MakingAmount.IsNegative() || r.TakingAmount.IsNegative() {
					t.Fatalf("accepted order answer %+v", r)
				}
			} else if st/100 == 2 && !errors.Is(err, clob.ErrUnknownOutcome) && clob.KindOf(err) == clob.KindUnknown {
				t.Fatalf("a 2xx answer to POST /order ended in %v: neither a refusal nor an unknown outcome", err)
			}
		case 2:
			var o *clob.OpenOrder
			if o, err = c.GetOrder(ctx, "0xabc"); err == nil && o.ID == "" {
				t.Fatal("GetOrder accepted an order without id")
			}
		case 3:
			_, err = c.CancelOrder(ctx, "0xabc")
		case 4:
			var b *clob.BalanceAllowance
			if b, err = c.BalanceAllowance(ctx, clob.AssetCollateral, "", 0); err == nil {
				if b.Balance.IsNegative() || b.Allowance.IsNegative() {
					t.Fatalf("accepted balance %s allowance %s", b.Balance, b.Allowance)
				}
			}
		case 5:
			var v int
			if v, err = c.Version(ctx); err == nil && (v <= 0 || v > 1000) {
				t.Fatalf("accepted version %d", v)
			}
		case 6:
			_, err = c.ServerTime(ctx)
		case 7:
			var tick decimal.Decimal
			if tick, err = c.TickSize(ctx, tokenA); err == nil && (!tick.IsPositive() || !tick.LessThan(one)) {
				t.Fatalf("accepted tick size %s", tick)
			}
		case 8:
			_, err = c.NegRisk(ctx, tokenA)
		case 9:
			var fee int
			if fee, err = c.FeeRate(ctx, tokenA); err == nil && (fee < 0 || fee > 10000) {
				t.Fatalf("accepted fee rate %d", fee)
			}
		}
		if err == nil {
			if st/100 != 2 {
				t.Fatalf("status %d accepted as success", st)
			}
			return
		}
		if errors.Is(err, clob.ErrMalformedResponse) && bytes.Contains(body, []byte(fuzzMarker)) && strings.Contains(err.Error(), fuzzMarker) {
			t.Fatalf("a malformed-answer error quotes the body: %v", err)
		}
		if len(err.Error()) > 2000 {
			t.Fatalf("a %d-byte error message", len(err.Error()))
		}
	})
}
