package app

import (
	"strings"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/sim"
)

// With the system clock an hour ahead of the chain, polybot says so (status line, polybot
// status) and still copies a fresh leader BUY: copy.max_fill_age (2 minutes) is measured in
// chain time, where the BUY is seconds old, not an hour.
func TestAWrongSystemClockIsReportedAndDoesNotSkipEveryBuy(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	cfg.Copy.MaxFillAge = 2 * time.Minute
	clk := &wallClock{t: time.Now().Add(time.Hour)}
	commit(t, s) // a block after genesis, whose time is a clock's
	r := start(t, Options{Config: cfg, Now: clk.now})
	defer r.stop(t)
	waitFor(t, "the clock skew measured", 30*time.Second, func() bool {
		_, ok := r.app.chainClock.Skew()
		return ok
	})
	st := r.app.adminStatus()
	if sk := st.Chain.ClockSkewSeconds; sk == nil || *sk < 3500 || *sk > 3700 {
		t.Fatalf("polybot status clock skew %v s, want about 3600 s", fmtSkew(sk))
	}
	if line := r.app.statusLine(); !strings.Contains(line, "ahead of the chain") {
		t.Fatalf("status line %q does not say the clock is off", line)
	}
	leader, token := s.LeaderAddresses()[0], s.Markets()[0]
	if _, err := s.EmitMatch(sim.Match{Leader: leader, Side: polymarket.Buy, TokenID: token, Shares: 10_000_000, Price: 400_000}); err != nil {
		t.Fatal(err)
	}
	commit(t, s)
	waitFor(t, "the decision", 30*time.Second, func() bool { st := r.app.Executor().Stats(); return st.Copied+st.Skipped+st.Failed == 1 })
	if st := r.app.Executor().Stats(); st.Copied != 1 {
		ds, _ := r.app.Store().Decisions(time.Time{}, 0)
		t.Fatalf("a fresh BUY was not copied with the clock an hour ahead: %+v %+v", st, ds)
	}
}

func fmtSkew(s *float64) any {
	if s == nil {
		return "none"
	}
	return *s
}
