package app

import (
	"bytes"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/clobsim"
	"github.com/polybot/polybot/internal/testing/sim"
)

// A live copy is recorded at what the chain says it filled, not at what the CLOB answered:
// the CLOB's answer under-reports one copy and over-reports another; the trades settle on
// polysim's chain as the exchange's OrderFilled logs of polybot's wallet, and polybot's
// positions, cost and daily spend end up at the chain's figures, each copy's decision showing
// its confirming transaction. A fill of the same wallet that polybot did not place (a trade
// by hand) is counted and changes nothing.
func TestLiveCopiesAreRecordedAtTheChainsFigures(t *testing.T) {
	s := startSim(t)
	c, cfg := liveOnPolysim(t, s, sim.CLOBOptions{})
	srv := c.Server()
	r := startLive(t, cfg)
	own := r.app.OwnFills()
	if own == nil {
		t.Fatal("no watcher of polybot's own fills in mode live")
	}
	leaders, markets := s.LeaderAddresses(), s.Markets()
	st := r.app.Store()

	// mine commits blocks until cond holds: the settling transactions and the confirmations.
	mine := func(what string, cond func() bool) {
		t.Helper()
		waitFor(t, what, 60*time.Second, func() bool {
			if cond() {
				return true
			}
			commit(t, s)
			time.Sleep(20 * time.Millisecond)
			return cond()
		})
	}
	copyMisreported := func(i int, pct int64) (token string) {
		t.Helper()
		srv.MisreportMatched(1, pct)
		tok := markets[i%len(markets)]
		before := r.app.Executor().Stats().Copied
		if _, err := s.EmitMatch(sim.Match{Leader: leaders[0], Side: polymarket.Buy, TokenID: tok,
			Shares: 10 * sim.Unit, Price: 40 * sim.Unit / 100}); err != nil {
			t.Fatal(err)
		}
		commit(t, s)
		waitFor(t, "the copy", 30*time.Second, func() bool { return r.app.Executor().Stats().Copied > before })
		if srv.Misreported() == 0 {
			t.Fatal("the CLOB's answer was not misreported")
		}
		return tok.String()
	}

	// Under-report: the CLOB answers half of what matched.
	under := copyMisreported(0, 50)
	mine("the chain's correction of the under-reported copy", func() bool { return own.Stats().Corrected >= 1 })
	// Over-report: the CLOB answers half as much again as what matched.
	over := copyMisreported(1, 150)
	mine("the chain's correction of the over-reported copy", func() bool { return own.Stats().Corrected >= 2 })

	bal := srv.Balance(c.Address())
	var spent uint64
	for _, tok := range []string{under, over} {
		chainShares := bal.Tokens[tok]
		if held := r.app.Book().Held(tok); int64(held) != chainShares {
			t.Fatalf("token %s: polybot records %d shares, the chain settled %d", tok, held, chainShares)
		}
		p, ok, err := st.Position(tok)
		if err != nil || !ok {
			t.Fatalf("position %s: %v %v", tok, ok, err)
		}
		spent += p.Cost
	}
	// The wallet paid for both copies (collateral and fees) exactly what the positions cost and
	// what the day's spend says.
	paid := uint64(sim.DefaultCLOBCollateral - bal.Collateral)
	if spent != paid {
		t.Fatalf("positions cost %d, the wallet paid %d", spent, paid)
	}
	day, err := st.Daily(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if day.Spent != paid {
		t.Fatalf("the day's spend is %d, the wallet paid %d", day.Spent, paid)
	}

	// Each copy's decision shows the chain's confirmation, with the CLOB's first report.
	ds, err := st.Decisions(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	confirmed := 0
	for _, d := range ds {
		if d.Chain == nil {
			continue
		}
		confirmed++
		if d.Chain.Tx == (common.Hash{}) || d.Chain.Block == 0 || d.Chain.CLOB == nil || d.Chain.CLOB.FilledShares == d.Chain.Shares {
			t.Fatalf("decision's chain record %+v: want its block, tx and the differing CLOB report", d.Chain)
		}
	}
	if confirmed != 2 {
		t.Fatalf("%d decisions confirmed on chain, want 2", confirmed)
	}
	var table bytes.Buffer
	if err := store.WriteDecisionsTable(&table, ds); err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if !strings.Contains(table.String(), d.Chain.Tx.Hex()) {
			t.Fatalf("polybot decisions does not show the confirming tx %s:\n%s", d.Chain.Tx.Hex(), table.String())
		}
	}

	// A trade by hand from the same wallet: on chain, with no intent.
	heldBefore := r.app.Book().Held(under)
	tok, _ := new(big.Int).SetString(under, 10)
	if _, err := c.Settle(clobsim.Settlement{Exchange: s.ExchangeFor(tok), TokenID: tok,
		Taker: &clobsim.SettledOrder{Hash: common.HexToHash("0xabc1"), Maker: c.Address(), Side: order.Buy, Shares: 5 * sim.Unit, Collateral: 2 * sim.Unit}}); err != nil {
		t.Fatal(err)
	}
	mine("the manual trade counted", func() bool { return own.Stats().Unmatched >= 1 })
	if got := r.app.Book().Held(under); got != heldBefore {
		t.Fatalf("a trade polybot did not place moved its position from %d to %d", heldBefore, got)
	}
	if got := own.Stats(); got.Confirmed != 2 || got.Unmatched != 1 {
		t.Fatalf("own fills: %+v, want 2 confirmed and 1 unmatched", got)
	}
}
