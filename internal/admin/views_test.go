package admin

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/store"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func decisionAt(at time.Time, i int) store.Decision {
	return store.Decision{
		Time: at, Leader: common.HexToAddress("0x1000000000000000000000000000000000000001"),
		Token: "71321045679252212594626385532706912750332728571942532289631379312455583992563", Side: "BUY",
		Action: "skip", Reason: "below min_trade_usdc", Limit: "copy.min_trade_usdc",
		Shares: 1_500_000, Collateral: uint64(i) * 10_000, Tx: common.BigToHash(common.Big1), LogIndex: uint(i),
	}
}

// logStore is a real store in a temporary directory holding decisions at the given times.
func logStore(t *testing.T, times ...time.Time) *store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir(), Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for i, at := range times {
		if err := st.AppendDecision(decisionAt(at, i)); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func serve(t *testing.T, opts Options) string {
	t.Helper()
	opts.Socket = filepath.Join(shortDir(t), "admin.sock")
	if opts.Status == nil {
		opts.Status = sample
	}
	srv, err := Listen(opts)
	if err != nil {
		t.Fatal(err)
	}
	run(t, srv)
	return opts.Socket
}

func TestPositionsCrossTheSocketExactly(t *testing.T) {
	open := []store.Position{
		{Token: "111", Shares: 10_500_000, Cost: 4_200_000, LastPrice: 400_000, Realised: -1_250_001, Fills: 3,
			OpenedAt: t0.Add(-time.Hour), UpdatedAt: t0},
		{Token: "222", Shares: math.MaxUint64, Cost: 1, LastPrice: 999_999, Realised: math.MinInt64, Fills: 1,
			OpenedAt: t0, UpdatedAt: t0},
	}
	path := serve(t, Options{Positions: func() ([]store.Position, error) { return open, nil }})

	raw, err := Get(context.Background(), path, "/positions")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"shares": "10.5"`, `"cost_usdc": "4.2"`, `"last_price": "0.4"`,
		`"realised_usdc": "-1.250001"`, `"shares": "18446744073709.551615"`, `"realised_usdc": "-9223372036854.775808"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("/positions lacks %s:\n%s", want, raw)
		}
	}
	book, err := FetchPositions(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := book.Records()
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if !got[i].OpenedAt.Equal(open[i].OpenedAt) || !got[i].UpdatedAt.Equal(open[i].UpdatedAt) {
			t.Errorf("position %d times changed: %+v", i, got[i])
		}
		got[i].OpenedAt, got[i].UpdatedAt = open[i].OpenedAt, open[i].UpdatedAt
	}
	if !reflect.DeepEqual(got, open) {
		t.Fatalf("positions changed crossing the socket:\n got %+v\nwant %+v", got, open)
	}

	// No position is an empty list, not null.
	path = serve(t, Options{Positions: func() ([]store.Position, error) { return nil, nil }})
	raw, err = Get(context.Background(), path, "/positions")
	if err != nil || !strings.Contains(string(raw), `"positions": []`) {
		t.Fatalf("no positions: %s %v", raw, err)
	}
}

func TestDecisionsSinceIncludesItsBoundary(t *testing.T) {
	hour := t0.Add(-time.Hour)
	st := logStore(t, hour.Add(-time.Nanosecond), hour, hour.Add(time.Second), t0)
	path := serve(t, Options{Decisions: st.Decisions, Now: func() time.Time { return t0 }})

	cases := []struct {
		name, query string
		wantIdx     []uint
		truncated   bool
	}{
		{"a duration counts back from the daemon's clock", "since=1h", []uint{1, 2, 3}, false},
		{"an RFC 3339 time includes a decision at exactly that time", "since=" + url.QueryEscape(hour.Format(time.RFC3339Nano)), []uint{1, 2, 3}, false},
		{"one nanosecond later excludes it", "since=" + url.QueryEscape(hour.Add(time.Nanosecond).Format(time.RFC3339Nano)), []uint{2, 3}, false},
		{"a time zone offset is honoured", "since=" + url.QueryEscape(hour.In(time.FixedZone("x", 5*3600)).Format(time.RFC3339Nano)), []uint{1, 2, 3}, false},
		{"no since reads the whole log", "", []uint{0, 1, 2, 3}, false},
		{"a limit keeps the latest and says so", "limit=2", []uint{2, 3}, true},
		{"a limit equal to the count truncates nothing", "since=1h&limit=3", []uint{1, 2, 3}, false},
		{"since=0s is now", "since=0s", []uint{3}, false},
		{"the future is empty", "since=" + url.QueryEscape(t0.Add(time.Nanosecond).Format(time.RFC3339Nano)), []uint{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := Get(context.Background(), path, "/decisions?"+c.query)
			if err != nil {
				t.Fatal(err)
			}
			var l DecisionLog
			if err := json.Unmarshal(raw, &l); err != nil {
				t.Fatal(err)
			}
			got := []uint{}
			for _, d := range l.Decisions {
				got = append(got, d.LogIndex)
			}
			if !reflect.DeepEqual(got, c.wantIdx) || l.Truncated != c.truncated {
				t.Fatalf("decisions %v truncated %v, want %v truncated %v\n%s", got, l.Truncated, c.wantIdx, c.truncated, raw)
			}
		})
	}

	l, err := FetchDecisions(context.Background(), path, hour, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Since.Equal(hour) || l.Limit != 10 || len(l.Decisions) != 3 {
		t.Fatalf("FetchDecisions: %+v", l)
	}
	ds, err := l.Records()
	if err != nil {
		t.Fatal(err)
	}
	want := decisionAt(hour, 1)
	if !ds[0].Time.Equal(want.Time) {
		t.Fatalf("time %v, want %v", ds[0].Time, want.Time)
	}
	ds[0].Time = want.Time
	if !reflect.DeepEqual(ds[0], want) {
		t.Fatalf("decision changed crossing the socket:\n got %+v\nwant %+v", ds[0], want)
	}
}

func TestBadQueriesAreRefusedWithTheReason(t *testing.T) {
	st := logStore(t, t0)
	path := serve(t, Options{Decisions: st.Decisions, Positions: st.Positions})
	for _, c := range []struct{ target, want string }{
		{"/decisions?since=yesterday", "neither a duration"},
		{"/decisions?since=-1h", "neither a duration"},
		{"/decisions?limit=0", "from 1 to 10000"},
		{"/decisions?limit=10001", "from 1 to 10000"},
		{"/decisions?limit=ten", "from 1 to 10000"},
		{"/decisions?sinse=1h", `unknown parameter "sinse"`},
		{"/decisions?since=1h&since=2h", "since given 2 times"},
		{"/positions?all=1", "takes no parameter"},
	} {
		_, err := Get(context.Background(), path, c.target)
		if err == nil || !strings.Contains(err.Error(), "400 Bad Request") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("GET %s: %v, want a 400 saying %q", c.target, err, c.want)
		}
	}
	if _, err := FetchDecisions(context.Background(), path, time.Time{}, MaxDecisionsLimit); err != nil {
		t.Errorf("the largest limit: %v", err)
	}
}

func TestEndpointsWithoutCallbacksOrWithFailingOnes(t *testing.T) {
	path := serve(t, Options{})
	if _, err := FetchPositions(context.Background(), path); !errors.Is(err, ErrUnsupported) {
		t.Errorf("/positions without a callback: %v, want ErrUnsupported", err)
	}
	if _, err := FetchDecisions(context.Background(), path, t0, 5); !errors.Is(err, ErrUnsupported) {
		t.Errorf("/decisions without a callback: %v, want ErrUnsupported", err)
	}

	broken := errors.New("store: decode record: unexpected end of JSON input")
	path = serve(t, Options{
		Positions: func() ([]store.Position, error) { return nil, broken },
		Decisions: func(time.Time, int) ([]store.Decision, error) { return nil, broken },
	})
	for _, target := range []string{"/positions", "/decisions"} {
		_, err := Get(context.Background(), path, target)
		if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), broken.Error()) {
			t.Errorf("GET %s with a failing store: %v, want a 500 with the reason", target, err)
		}
	}
	if _, err := Fetch(context.Background(), path); err != nil {
		t.Errorf("/status after failures: %v", err)
	}
}

func TestRecordsRefuseWhatTheDaemonNeverSends(t *testing.T) {
	good := PositionOf(store.Position{Token: "1", Shares: 1})
	for name, p := range map[string]func(*Position){
		"seven decimals":     func(p *Position) { p.Shares = "0.0000001" },
		"negative shares":    func(p *Position) { p.Shares = "-1" },
		"a float exponent":   func(p *Position) { p.CostUSDC = "1e400" },
		"not a number":       func(p *Position) { p.LastPrice = "NaN" },
		"realised overflows": func(p *Position) { p.RealisedUSDC = "9223372036854.775808" },
	} {
		bad := good
		p(&bad)
		if _, err := bad.Record(); err == nil {
			t.Errorf("%s: accepted %+v", name, bad)
		}
	}
	d := DecisionOf(decisionAt(t0, 1))
	d.Tx = "0x12"
	if _, err := d.Record(); err == nil {
		t.Error("a short tx hash was accepted")
	}
}
