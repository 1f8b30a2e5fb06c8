package app

import (
	"context"
	"encoding/hex"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/shopspring/decimal"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/secrets"
	"github.com/polybot/polybot/internal/testing/clobsim"
	"github.com/polybot/polybot/internal/testing/sim"
)

// polybot in mode live against polysim's chain and fake CLOB: every leader fill becomes one signed
// V2 order that the CLOB verified and matched, and a POST whose answer is lost after the CLOB
// accepted it is looked up by hash, never sent twice.
func TestLiveEndToEndAgainstPolysimCLOB(t *testing.T) {
	s := startSim(t)
	c, cfg := liveOnPolysim(t, s, sim.CLOBOptions{})
	srv := c.Server()
	// Long enough for a loaded test machine, short enough for the stalled answer below.
	cfg.Live.RequestTimeout = 2 * time.Second
	r := startLive(t, cfg)

	leaders, markets := s.LeaderAddresses(), s.Markets()
	copyOne := func(i int) *big.Int {
		t.Helper()
		token := markets[i%len(markets)]
		side := polymarket.Buy
		if _, err := s.EmitMatch(sim.Match{Leader: leaders[i%len(leaders)], Side: side, TokenID: token,
			Shares: 10 * sim.Unit, Price: uint64(30+i) * sim.Unit / 100}); err != nil {
			t.Fatal(err)
		}
		commit(t, s)
		want := uint64(i + 1)
		waitFor(t, "the copy", 30*time.Second, func() bool {
			st := r.app.Executor().Stats()
			return st.Copied+st.Failed >= want
		})
		if st := r.app.Executor().Stats(); st.Failed != 0 {
			t.Fatalf("copy %d failed: %+v", i, st)
		}
		return token
	}

	const n = 6
	for i := range n {
		copyOne(i)
	}
	// One POST per fill, or two when an answer was late under load: the re-send carries the
	// same hash and the CLOB refuses it; the holdings below prove nothing was bought twice.
	posts := srv.Requests(clobsim.RoutePostOrder)
	if posts < n {
		t.Fatalf("%d orders sent for %d fills", posts, n)
	}
	bal := srv.Balance(c.Address())
	var held int64
	for _, m := range markets {
		held += bal.Tokens[m.String()]
		if bk := r.app.Book().Held(m.String()); int64(bk) != bal.Tokens[m.String()] {
			t.Fatalf("market %s: book holds %d, the CLOB says %d", m, bk, bal.Tokens[m.String()])
		}
	}
	// Each copy is a market BUY of 10 shares' worth at its limit: at least 10 shares, more when
	// the book is better; the book above agrees with the CLOB, so none was bought twice.
	if hb := srv.Requests(clobsim.RouteHeartbeat); hb != 0 {
		t.Fatalf("%d heartbeats sent with FAK copies, which never rest", hb)
	}
	if held < n*10*sim.Unit || held >= n*20*sim.Unit {
		t.Fatalf("the CLOB account holds %d shares, want at least %d (and not twice that)", held, n*10*sim.Unit)
	}

	// Accept, then stall the answer past the request timeout: looked up, not re-sent.
	srv.StallAfterAccept(clobsim.RoutePostOrder, time.Minute)
	token := copyOne(n)
	srv.StallAfterAccept(clobsim.RoutePostOrder, 0)
	if got := srv.Requests(clobsim.RoutePostOrder); got != posts+1 {
		t.Fatalf("%d POSTs for the stalled copy, want 1: the accepted order was sent again", got-posts)
	}
	if srv.Requests(clobsim.RouteGetOrder) == 0 {
		t.Fatal("the stalled order was not looked up")
	}
	after := srv.Balance(c.Address())
	if got := after.Tokens[token.String()] - bal.Tokens[token.String()]; got < 10*sim.Unit || got >= 20*sim.Unit {
		t.Fatalf("the stalled copy bought %s shares, want 10 or a little more (once)", decimal.New(got, -6))
	}
	if bk := r.app.Book().Held(token.String()); int64(bk) != after.Tokens[token.String()] {
		t.Fatalf("book holds %d of %s, the CLOB says %d", bk, token, after.Tokens[token.String()])
	}
}

func TestBrokerForMode(t *testing.T) {
	cfg := config.Default()
	b, err := brokerFor(context.Background(), nil, cfg, zaptest.NewLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.(broker.Paper); !ok {
		t.Fatalf("paper mode: %T", b)
	}
	cfg.Live.PaperBook = true
	if b, err = brokerFor(context.Background(), nil, cfg, zaptest.NewLogger(t), nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.(*broker.PaperBook); !ok {
		t.Fatalf("paper_book: %T", b)
	}
	cfg.Mode = config.ModeLive
	cfg.Live.KeyFile = filepath.Join(t.TempDir(), "missing")
	if _, err := brokerFor(context.Background(), nil, cfg, zaptest.NewLogger(t), nil); err == nil {
		t.Fatal("live mode without a key started")
	}
}

// TestShutdownCutsASlowLiveStartShort: a CLOB that does not answer while polybot starts in live
// mode must not hold a SIGTERM (the cancelled context) until the request times out.
func TestShutdownCutsASlowLiveStartShort(t *testing.T) {
	hit := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case hit <- struct{}{}:
		default:
		}
		<-r.Context().Done() // never answers; returns when the client gives up
	}))
	t.Cleanup(slow.Close)
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(crypto.FromECDSA(key))), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.StateDir = dir
	cfg.Mode = config.ModeLive
	cfg.Live.ClobURL = slow.URL
	cfg.Live.KeyFile = keyFile
	cfg.Live.RequestTimeout = time.Hour
	cfg.Leaders = []config.Leader{{Address: common.HexToAddress("0x1000000000000000000000000000000000000001"), Enabled: true}}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		a, err := New(ctx, Options{Config: cfg, Log: zaptest.NewLogger(t)})
		if err == nil {
			_ = a.Close()
		}
		done <- err
	}()
	select {
	case <-hit:
	case err := <-done:
		t.Fatalf("New returned before asking the CLOB: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("New after shutdown: %v, want the cancellation", err)
	}
}

// With GTC copies, which can rest on the book, the live daemon keeps a heartbeat session with
// the CLOB; with FAK (TestLiveEndToEndAgainstPolysimCLOB) nothing rests and it sends none.
func TestLiveGTCDaemonSendsHeartbeats(t *testing.T) {
	s := startSim(t)
	c, cfg := liveOnPolysim(t, s, sim.CLOBOptions{})
	cfg.Live.OrderType = "GTC"
	cfg.Live.HeartbeatInterval = time.Second
	startLive(t, cfg)
	creds, err := secrets.LoadCredentials(cfg.Live.CredentialsFile)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two heartbeats", 30*time.Second, func() bool {
		return c.Server().Requests(clobsim.RouteHeartbeat) >= 2 && c.Server().Heartbeats(creds.APIKey)
	})
}

// liveOnPolysim starts polysim's fake CLOB on s (with opts; its credentials in a temporary
// directory) and returns it with a live-mode config that trades on it.
func liveOnPolysim(t *testing.T, s *sim.Sim, opts sim.CLOBOptions) (*sim.CLOB, *config.Config) {
	t.Helper()
	dir := t.TempDir()
	opts.CredsDir = dir
	if opts.Log == nil {
		opts.Log = zaptest.NewLogger(t).Named("clob")
	}
	c, err := s.StartCLOB(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cfg := demoConfig(t, s)
	cfg.Mode = config.ModeLive
	cfg.Live.ClobURL = c.URL()
	cfg.Live.KeyFile = filepath.Join(dir, secrets.KeyCredential)
	cfg.Live.CredentialsFile = filepath.Join(dir, secrets.APICredential)
	return c, cfg
}

// startLive validates cfg and runs polybot on it; it stops before polysim and the CLOB do (the
// cleanups run last first), also when the test fails.
func startLive(t *testing.T, cfg *config.Config) *running {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	r := start(t, Options{Config: cfg})
	t.Cleanup(func() {
		r.cancel()
		if err := <-r.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}
