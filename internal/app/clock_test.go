package app

import (
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/sim"
)

// wallClock is a settable wall clock for Options.Now.
type wallClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *wallClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *wallClock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestTheTradingDayFollowsOptionsNow: the daily spend limit, the day's counters and the day
// boundary follow Options.Now (what the soak accelerates), not the process's wall clock. With
// 5 USDC a day, a second 4 USDC BUY is cut to what is left; a day later a BUY is copied in full.
func TestTheTradingDayFollowsOptionsNow(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	cfg.Risk.MaxDailySpendUSDC = decimal.RequireFromString("5")
	cfg.Copy.MaxFillAge = 72 * time.Hour // the fills' block times stay in real time
	clk := &wallClock{t: time.Now()}
	r := start(t, Options{Config: cfg, Now: clk.now})
	leader, token := s.LeaderAddresses()[0], s.Markets()[0]
	buy := func(n uint64) {
		t.Helper()
		if _, err := s.EmitMatch(sim.Match{Leader: leader, Side: polymarket.Buy, TokenID: token, Shares: 10_000_000, Price: 400_000}); err != nil {
			t.Fatal(err)
		}
		commit(t, s)
		waitFor(t, "the copy", 30*time.Second, func() bool { st := r.app.Executor().Stats(); return st.Copied+st.Skipped+st.Failed == n })
	}
	buy(1)
	buy(2)
	today, err := r.app.Store().Daily(clk.now())
	if err != nil || today.Spent != 5_000_000 || today.Copies != 2 {
		t.Fatalf("day one: %+v, %v; want 4 + 1 USDC spent (the second BUY cut to the limit) in 2 copies", today, err)
	}
	clk.advance(24 * time.Hour)
	buy(3)
	days, err := r.app.Store().Days()
	if err != nil || len(days) != 2 {
		t.Fatalf("trading days %+v, %v; want 2", days, err)
	}
	if days[1].Spent != 4_000_000 || days[1].Copies != 1 {
		t.Fatalf("day two: %+v; want the BUY copied in full (4 USDC) on a fresh daily budget", days[1])
	}
	r.stop(t)
}
