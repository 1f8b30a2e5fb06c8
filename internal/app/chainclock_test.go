package app

import (
	"context"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/core/types"

	"github.com/polybot/polybot/internal/chainclock"
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

// headAt is a node whose head was stamped at t.
type headAt struct{ t time.Time }

func (h headAt) HeaderByNumber(context.Context, *big.Int) (*types.Header, error) {
	return &types.Header{Number: big.NewInt(100), Time: uint64(h.t.Unix())}, nil
}

// The store's compaction never runs ahead of either clock: a host clock a day ahead of the chain
// does not age intents by a day, and one behind keeps its own time (its stamps are behind too).
func TestCompactionAgesNeverRunAheadOfTheChain(t *testing.T) {
	chainTime := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		host time.Time
		want time.Time
	}{
		{"host a day ahead", chainTime.Add(24 * time.Hour), chainTime},
		{"host a day behind", chainTime.Add(-24 * time.Hour), chainTime.Add(-24 * time.Hour)},
		{"host right", chainTime.Add(2 * time.Second), chainTime.Add(2 * time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := tc.host
			cc, err := chainclock.New(chainclock.Options{Dial: func(context.Context) (chainclock.Chain, error) { return headAt{chainTime}, nil },
				Now: func() time.Time { return host }})
			if err != nil {
				t.Fatal(err)
			}
			if err := cc.Sample(context.Background()); err != nil {
				t.Fatal(err)
			}
			a := &App{now: func() time.Time { return host }, chainClock: cc}
			if got := a.compactNow(); !got.Equal(tc.want) {
				t.Fatalf("compaction measured against %s, want %s", got, tc.want)
			}
		})
	}
}
