package app

import (
	"math/big"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/sim"
)

// Plain paper mode (no CLOB, as `make run` on polysim): polybot learns the market of the token it
// bought from the chain (the leader fill's matchOrders call), keeps it in the store, and when the
// market resolves, after a restart, the position is closed at its payout and the limit it held is
// free: a BUY skipped for risk.max_open_positions before is copied after. The market is learnt
// before the restart (and kept in the store), or only after it (from the fills in the store).
func TestPlainPaperResolvedMarketClosesItsPositionAfterARestart(t *testing.T) {
	t.Run("market learnt before the restart", func(t *testing.T) { paperResolution(t, true) })
	t.Run("market learnt after the restart", func(t *testing.T) { paperResolution(t, false) })
}

func paperResolution(t *testing.T, learnFirst bool) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	if cfg.Mode != config.ModePaper || cfg.Live.PaperBook {
		t.Fatalf("mode %q, paper_book %v: want plain paper", cfg.Mode, cfg.Live.PaperBook)
	}
	cfg.Resolution.Interval = time.Second
	cfg.Risk.MaxOpenPositions = 1
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	leader, markets := s.LeaderAddresses()[0], s.Markets()
	a, b := markets[0], markets[1]
	buy := func(token *big.Int) {
		t.Helper()
		if _, err := s.EmitMatch(sim.Match{Leader: leader, Side: polymarket.Buy, TokenID: token, Shares: 10 * sim.Unit, Price: 40 * sim.Unit / 100}); err != nil {
			t.Fatal(err)
		}
		commit(t, s)
	}

	first := *cfg
	if !learnFirst {
		first.Resolution.Interval = 24 * time.Hour // one round at start, before any position
	}
	r := start(t, Options{Config: &first})
	decided := func(r *running, n uint64) {
		t.Helper()
		waitFor(t, "the decision", 30*time.Second, func() bool {
			e := r.app.Executor().Stats()
			return e.Copied+e.Skipped+e.Failed >= n
		})
	}
	buy(a)
	decided(r, 1)
	buy(b)
	decided(r, 2)
	if e := r.app.Executor().Stats(); e.Copied != 1 || e.Skipped != 1 {
		t.Fatalf("with max_open_positions 1, the second market's BUY: %+v", e)
	}
	st := r.app.Store()
	if learnFirst {
		waitFor(t, "the market of the position learnt from the chain", 30*time.Second, func() bool {
			p, open, err := st.Position(a.String())
			return err == nil && open && p.Market != nil
		})
	}
	pos, _, _ := st.Position(a.String())
	if learnFirst {
		if m := pos.Market; m.Condition != sim.ConditionID(a) || m.Outcome != 0 || m.Slots != 2 {
			t.Fatalf("market learnt %+v, want condition %s, outcome 0 of 2", m, sim.ConditionID(a))
		}
	} else if pos.Market != nil {
		t.Fatalf("market learnt before a round could run: %+v", pos.Market)
	}
	r.stop(t)

	// While polybot is down the market resolves; the restarted polybot reads it.
	if _, err := s.ResolveMarket(a, true); err != nil {
		t.Fatal(err)
	}
	commit(t, s)
	r = start(t, Options{Config: cfg})
	defer r.stop(t)
	st = r.app.Store()
	waitFor(t, "the resolved position closed", 30*time.Second, func() bool {
		_, open, err := st.Position(a.String())
		return err == nil && !open
	})
	closed, err := st.ClosedPositions(time.Time{})
	if err != nil || len(closed) != 1 || closed[0].Resolution == nil {
		t.Fatalf("closed positions %+v, %v", closed, err)
	}
	if res := closed[0].Resolution; res.Payout != pos.Shares || res.PnL != int64(pos.Shares)-int64(pos.Cost) || res.RedeemTx != ([32]byte{}) {
		t.Fatalf("resolution %+v of %d shares costing %d: want the full payout, nothing redeemed in paper", res, pos.Shares, pos.Cost)
	}
	buy(b)
	decided(r, 1)
	if e := r.app.Executor().Stats(); e.Copied != 1 {
		t.Fatalf("BUY after the resolution freed the slot: %+v", e)
	}
}
