package app

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/polybot/polybot/internal/clob"

	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/executor"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/sim"
)

// In mode live a percent_balance leader is sized from the wallet's pUSD as the CLOB reports
// it, and a leader's exit right after its entry is copied: the CLOB, which checks orders
// against its cached balances, is asked to refresh them after each fill.
func TestLivePercentBalanceBuyThenSellAgainstACachingCLOB(t *testing.T) {
	s := startSim(t)
	const collateral = 1000 * sim.Unit
	c, cfg := liveOnPolysim(t, s, sim.CLOBOptions{Collateral: collateral, BalanceCache: true})
	srv := c.Server()
	cfg.Live.RequestTimeout = 5 * time.Second
	cfg.Copy.Mode, cfg.Copy.PercentBalance = config.SizePercentBalance, decimal.NewFromInt(2) // 20 pUSD
	r := startLive(t, cfg)
	leader, token := s.LeaderAddresses()[0], s.Markets()[0]
	settled := func(want uint64) {
		t.Helper()
		waitFor(t, "the copy", 30*time.Second, func() bool {
			st := r.app.Executor().Stats()
			return st.Copied+st.Failed+st.Skipped >= want
		})
		if st := r.app.Executor().Stats(); st.Failed != 0 || st.Skipped != 0 {
			t.Fatalf("copy %d not placed: %+v", want, st)
		}
	}
	if _, err := s.EmitMatch(sim.Match{Leader: leader, Side: polymarket.Buy, TokenID: token, Shares: 100 * sim.Unit, Price: 30 * sim.Unit / 100}); err != nil {
		t.Fatal(err)
	}
	commit(t, s)
	settled(1)
	// 2% of 1000 pUSD, sized at the worst price 0.30 + 0.02 (62.5 shares): the market BUY spends
	// at most those 20 pUSD, and at the book's better price buys at least the 62.5 shares.
	after := srv.Balance(c.Address())
	if got := after.Tokens[token.String()]; got < 62_500_000 {
		t.Fatalf("bought %s shares, want at least 62.5 (20 pUSD at 0.32)", decimal.New(got, -6))
	}
	if spent := 1000*sim.Unit - after.Collateral; spent <= 0 || spent > 20*sim.Unit {
		t.Fatalf("spent %s pUSD, want at most the 20 sized", decimal.New(int64(spent), -6))
	}
	if _, err := s.EmitMatch(sim.Match{Leader: leader, Side: polymarket.Sell, TokenID: token, Shares: 100 * sim.Unit, Price: 30 * sim.Unit / 100}); err != nil {
		t.Fatal(err)
	}
	commit(t, s)
	settled(2)
	// The whole position is sold but for what the CLOB's 0.01-share size step cannot sell, and
	// polybot's position is closed: the unsellable rest is written off.
	if got := srv.Balance(c.Address()).Tokens[token.String()]; got >= store.MinTradableShares {
		t.Fatalf("%s shares left after the leader's exit, want less than 0.01", decimal.New(got, -6))
	}
	if _, open, err := r.app.Store().Position(token.String()); err != nil || open {
		t.Fatalf("the position is still open after the leader's exit (%v)", err)
	}
	if srv.BalanceUpdates(c.Address()) == 0 {
		t.Fatal("the CLOB's balance cache was never refreshed")
	}
}

// In mode paper a percent_balance leader is sized from paper.balance_usdc less what the open
// positions cost.
func TestPaperPercentBalanceIsSizedFromTheConfiguredBalance(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	cfg.Copy.Mode, cfg.Copy.PercentBalance = config.SizePercentBalance, decimal.NewFromInt(10)
	cfg.Paper.BalanceUSDC = decimal.RequireFromString("300")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	r := start(t, Options{Config: cfg})
	defer r.stop(t)
	leader, markets := s.LeaderAddresses()[0], s.Markets()
	for i, want := range []uint64{100 * sim.Unit, 90 * sim.Unit} { // 10% of 300, then of 270, at 0.30
		if _, err := s.EmitMatch(sim.Match{Leader: leader, Side: polymarket.Buy, TokenID: markets[i], Shares: 500 * sim.Unit, Price: 30 * sim.Unit / 100}); err != nil {
			t.Fatal(err)
		}
		commit(t, s)
		waitFor(t, "the copy", 30*time.Second, func() bool {
			st := r.app.Executor().Stats()
			return st.Copied+st.Skipped+st.Failed > uint64(i)
		})
		if got := r.app.Book().Held(markets[i].String()); got != want {
			t.Fatalf("BUY %d: bought %s shares, want %s", i, decimal.New(int64(got), -6), decimal.New(int64(want), -6))
		}
	}
}

type fakeFunds struct{ ba clob.BalanceAllowance }

func (f *fakeFunds) BalanceAllowance(context.Context, string, string, int) (*clob.BalanceAllowance, error) {
	return &f.ba, nil
}
func (f *fakeFunds) UpdateBalanceAllowance(context.Context, string, string, int) error { return nil }

// At start polybot says what keeps copies from trading, and keeps running.
func TestTheStartCheckNamesMissingFunds(t *testing.T) {
	cfg := config.Default()
	cfg.Leaders = []config.Leader{{Address: common.HexToAddress("0x1000000000000000000000000000000000000001"), Enabled: true}}
	ctf := cfg.Live.CTFExchange
	for _, tc := range []struct {
		name  string
		mode  string
		ba    clob.BalanceAllowance
		edit  func(c *config.Config)
		wants []string // logged messages, by a word each holds
	}{
		{"a live wallet without pUSD nor allowances", config.ModeLive,
			clob.BalanceAllowance{Allowances: map[common.Address]decimal.Decimal{ctf: decimal.NewFromInt(1)}}, nil,
			[]string{"holds no pUSD", "not approved"}},
		{"a funded and approved live wallet", config.ModeLive,
			clob.BalanceAllowance{Balance: decimal.NewFromInt(5_000_000), Allowance: decimal.NewFromInt(1)}, nil,
			[]string{"pUSD balance"}},
		{"paper percent_balance without paper.balance_usdc", config.ModePaper, clob.BalanceAllowance{},
			func(c *config.Config) { c.Copy.Mode = config.SizePercentBalance }, []string{"paper.balance_usdc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := *cfg
			c.Mode = tc.mode
			if tc.edit != nil {
				tc.edit(&c)
			}
			core, logs := observer.New(zap.InfoLevel)
			checkFunds(context.Background(), &c, &fakeFunds{ba: tc.ba}, zap.New(core))
			var got []string
			for _, e := range logs.All() {
				got = append(got, e.Message)
			}
			if len(got) != len(tc.wants) {
				t.Fatalf("logged %q, want one line each for %q", got, tc.wants)
			}
			for i, w := range tc.wants {
				if !strings.Contains(got[i], w) {
					t.Errorf("line %d %q does not say %q", i, got[i], w)
				}
			}
			if tc.name == "a live wallet without pUSD nor allowances" {
				if f := logs.All()[1].ContextMap()["missing_allowance"]; fmt.Sprint(f) != fmt.Sprint([]any{cfg.Live.NegRiskExchange.Hex()}) {
					t.Errorf("missing allowances %v, want the neg_risk exchange", f)
				}
			}
		})
	}
}

// countingBalances is a CLOB balance client that counts the balance refreshes it is asked for.
type countingBalances struct {
	updates []string // asset type and token id of each refresh
}

func (c *countingBalances) BalanceAllowance(context.Context, string, string, int) (*clob.BalanceAllowance, error) {
	return &clob.BalanceAllowance{Balance: decimal.NewFromInt(1)}, nil
}

func (c *countingBalances) UpdateBalanceAllowance(_ context.Context, asset, token string, _ int) error {
	c.updates = append(c.updates, asset+":"+token)
	return nil
}

// A fill the order tracker finds (a delayed or resting copy that fills later) has the CLOB
// refresh its cached balances of pUSD and of the token, and drops the cached pUSD balance, as
// a fill of a placed order does.
func TestATrackedFillRefreshesTheBalances(t *testing.T) {
	c := &countingBalances{}
	bal := &liveBalance{client: c, ttl: time.Hour, now: time.Now}
	if _, err := bal.Balance(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := &refreshingBroker{client: c, balance: bal, log: zap.NewNop()}
	var r executor.FillRefresher = b
	r.Refresh(context.Background(), "1001")
	want := []string{clob.AssetCollateral + ":", clob.AssetConditional + ":1001"}
	if fmt.Sprint(c.updates) != fmt.Sprint(want) {
		t.Fatalf("balance refreshes %v, want %v", c.updates, want)
	}
	if bal.valid {
		t.Fatal("the cached pUSD balance was kept after a fill")
	}
}

// positionBroker is a broker that knows which ids are Protocol V2 positions.
type positionBroker struct {
	executor.Broker
	positions map[string]bool
}

func (p positionBroker) IsPosition(id *big.Int) bool { return p.positions[id.String()] }

// After a fill of a Protocol V2 position the CLOB refreshes its balance as CONDITIONAL-V2, a
// CTF token's as CONDITIONAL.
func TestAPositionFillRefreshesItsBalanceAsConditionalV2(t *testing.T) {
	c := &countingBalances{}
	b := &refreshingBroker{Broker: positionBroker{positions: map[string]bool{"7": true}}, client: c, log: zap.NewNop()}
	b.Refresh(context.Background(), "7")
	b.Refresh(context.Background(), "1001")
	want := []string{clob.AssetCollateral + ":", clob.AssetConditionalV2 + ":7", clob.AssetCollateral + ":", clob.AssetConditional + ":1001"}
	if fmt.Sprint(c.updates) != fmt.Sprint(want) {
		t.Fatalf("balance refreshes %v, want %v", c.updates, want)
	}
}
