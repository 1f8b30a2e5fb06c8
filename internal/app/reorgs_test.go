package app

import (
	"testing"
	"time"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/sim"
)

// polybot copies a leader BUY and stops; while it is down the chain reorganises and the fork
// spends the fill's transaction (it can never be mined again). At the next start polybot finds
// the fill's block replaced: the fill is recorded as an orphaned decision, `polybot status` and
// the metric count it, and the leader book no longer holds the BUY. The copy stays a position.
func TestACopiedFillAReorgRemovedWhileDownIsOrphanedAtTheNextStart(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	leader, token := s.LeaderAddresses()[0], sim.MarketToken(0)
	tx, err := s.EmitMatch(sim.Match{Leader: leader, Side: polymarket.Buy, TokenID: token, Shares: 10e6, Price: 500_000})
	if err != nil {
		t.Fatal(err)
	}
	for range int(cfg.Chain.Confirmations) + 1 {
		commit(t, s)
	}
	r := start(t, Options{Config: cfg, Broker: &copyLog{}})
	waitFor(t, "the copy", 30*time.Second, func() bool { return r.app.Executor().Stats().Copied == 1 })
	if pos, _ := r.app.Store().LeaderPositions(); pos[token.String()][leader] != 10e6 {
		t.Fatalf("leader book %v, want the leader's 10-share BUY", pos)
	}
	r.stop(t)

	if _, err := s.ReorgReplacing(int(cfg.Chain.Confirmations) + 1); err != nil {
		t.Fatal(err)
	}
	for range settleBlocks + int(cfg.Chain.Confirmations) + 2 {
		commit(t, s)
	}

	r = start(t, Options{Config: cfg, Broker: &copyLog{}})
	defer r.stop(t)
	st := r.app.Store()
	var orphan *store.Decision
	waitFor(t, "the orphaned decision", 30*time.Second, func() bool {
		ds, err := st.Decisions(time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range ds {
			if ds[i].Action == store.ActionOrphaned {
				orphan = &ds[i]
			}
		}
		return orphan != nil
	})
	if orphan.Tx != tx || orphan.Leader != leader {
		t.Fatalf("orphaned decision %+v, want the leader's fill %v", orphan, tx)
	}
	if n := r.app.adminStatus().Chain.Orphaned; n != 1 {
		t.Fatalf("status shows %d orphaned fills, want 1", n)
	}
	if n := r.app.metricsSnapshot().Orphaned; n != 1 {
		t.Fatalf("metric counts %d orphaned fills, want 1", n)
	}
	if pos, _ := st.LeaderPositions(); pos[token.String()][leader] != 0 {
		t.Fatalf("leader book %v still holds the removed BUY", pos)
	}
	if p, ok, err := st.Position(token.String()); err != nil || !ok || p.Shares == 0 {
		t.Fatalf("polybot's position %+v (%v, %v): the copy must stand", p, ok, err)
	}
}

// The same while polybot runs: the reorg comes live (the node sends the fill's log again as
// removed), the fork spends the fill's transaction, and once the head is far enough past the
// fill's block without it, the fill is recorded as orphaned, without a restart.
func TestACopiedFillAReorgRemovesLiveIsOrphaned(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	leader, token := s.LeaderAddresses()[0], sim.MarketToken(0)
	r := start(t, Options{Config: cfg, Broker: &copyLog{}})
	defer r.stop(t)
	tx, err := s.EmitMatch(sim.Match{Leader: leader, Side: polymarket.Buy, TokenID: token, Shares: 10e6, Price: 500_000})
	if err != nil {
		t.Fatal(err)
	}
	for range int(cfg.Chain.Confirmations) + 1 {
		commit(t, s)
	}
	waitFor(t, "the copy", 30*time.Second, func() bool { return r.app.Executor().Stats().Copied == 1 })
	if _, err := s.ReorgReplacing(int(cfg.Chain.Confirmations) + 1); err != nil {
		t.Fatal(err)
	}
	for range settleBlocks + int(cfg.Chain.Confirmations) + 2 {
		commit(t, s)
	}
	waitFor(t, "the orphaned fill", 30*time.Second, func() bool { return r.app.metricsSnapshot().Orphaned == 1 })
	ds, err := r.app.Store().Decisions(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range ds {
		if d.Action == store.ActionOrphaned {
			n++
			if d.Tx != tx {
				t.Fatalf("orphaned decision for %v, want %v", d.Tx, tx)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d orphaned decisions, want 1", n)
	}
	if pos, _ := r.app.Store().LeaderPositions(); pos[token.String()][leader] != 0 {
		t.Fatalf("leader book %v still holds the removed BUY", pos)
	}
}
