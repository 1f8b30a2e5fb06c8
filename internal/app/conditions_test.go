package app

import (
	"testing"
	"time"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/sim"
)

// In mode live the broker's book reads feed the condition ids the resolution watcher falls
// back on once a short market's book is gone (resolution.Conditions): after one copy, the
// copied token's condition id is known without another request.
func TestTheBrokersBookReadKeepsTheCondition(t *testing.T) {
	s := startSim(t)
	_, cfg := liveOnPolysim(t, s, sim.CLOBOptions{})
	cfg.Live.RequestTimeout = 5 * time.Second
	r := startLive(t, cfg)
	leader, token := s.LeaderAddresses()[0], s.Markets()[0]
	if _, err := s.EmitMatch(sim.Match{Leader: leader, Side: polymarket.Buy, TokenID: token, Shares: 10 * sim.Unit, Price: 40 * sim.Unit / 100}); err != nil {
		t.Fatal(err)
	}
	commit(t, s)
	waitFor(t, "the copy", 30*time.Second, func() bool { return r.app.Executor().Stats().Copied == 1 })
	cid, _, ok := r.app.conditions.Of(token.String())
	if !ok || cid != sim.ConditionID(token).Hex() {
		t.Fatalf("condition of the copied token %q (known %v), want %s from its book", cid, ok, sim.ConditionID(token).Hex())
	}
}
