package app

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/sim"
)

// TestAdminSocketServesPositionsAndDecisionsFromTheStore copies one leader BUY and skips one
// leader SELL of a token polybot does not hold, then reads both over the admin socket while the
// daemon runs (the store is locked to anyone else meanwhile), and once it stops, reads the same
// from the store opened read-only.
func TestAdminSocketServesPositionsAndDecisionsFromTheStore(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	cfg.Admin.Socket = filepath.Join(socketDir(t), "admin.sock")
	r := start(t, Options{Config: cfg})
	defer func() {
		if r != nil {
			r.stop(t)
		}
	}()
	before := time.Now()
	leaders, markets := s.LeaderAddresses(), s.Markets()
	if _, err := s.EmitMatch(sim.Match{Leader: leaders[0], Side: polymarket.Buy, TokenID: markets[0], Shares: 10_000_000, Price: 400_000}); err != nil {
		t.Fatal(err)
	}
	commit(t, s)
	if _, err := s.EmitMatch(sim.Match{Leader: leaders[1], Side: polymarket.Sell, TokenID: markets[1], Shares: 5_000_000, Price: 600_000}); err != nil {
		t.Fatal(err)
	}
	commit(t, s)
	waitFor(t, "one copy and one skip", 30*time.Second, func() bool {
		e := r.app.Executor().Stats()
		return e.Copied == 1 && e.Skipped == 1
	})
	ctx := context.Background()

	book, err := admin.FetchPositions(ctx, cfg.Admin.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if len(book.Positions) != 1 {
		t.Fatalf("positions: %+v, want the one copied", book)
	}
	p := book.Positions[0]
	if p.Token != markets[0].String() || p.Shares != "10" || p.CostUSDC != "4" || p.LastPrice != "0.4" || p.Fills != 1 {
		t.Fatalf("position %+v, want 10 shares of %s for 4 USDC", p, markets[0])
	}

	log, err := admin.FetchDecisions(ctx, cfg.Admin.Socket, before, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Decisions) != 2 || log.Truncated {
		t.Fatalf("decisions: %+v, want 2", log)
	}
	copied, skipped := log.Decisions[0], log.Decisions[1]
	if copied.Action != "copy" || copied.Side != "BUY" || copied.Leader != leaders[0].Hex() || copied.Shares != "10" || copied.USDC != "4" {
		t.Errorf("first decision %+v, want the copy of the BUY", copied)
	}
	if skipped.Action != "skip" || skipped.Side != "SELL" || skipped.Leader != leaders[1].Hex() || skipped.Reason == "" {
		t.Errorf("second decision %+v, want the SELL skipped with a reason", skipped)
	}
	if later, err := admin.FetchDecisions(ctx, cfg.Admin.Socket, skipped.Time.Add(time.Nanosecond), 10); err != nil || len(later.Decisions) != 0 {
		t.Errorf("decisions after the last: %+v %v, want none", later, err)
	}
	if last, err := admin.FetchDecisions(ctx, cfg.Admin.Socket, time.Time{}, 1); err != nil ||
		len(last.Decisions) != 1 || last.Decisions[0].Action != "skip" || !last.Truncated {
		t.Errorf("limit 1: %+v %v, want the latest (the skip), truncated", last, err)
	}

	if st, err := store.OpenReadOnly(StoreOptions(cfg)); !errors.Is(err, store.ErrLocked) {
		if err == nil {
			st.Close()
		}
		t.Fatalf("the store opened read-only while the daemon runs: %v, want ErrLocked", err)
	}

	r.stop(t)
	r = nil
	st, err := store.OpenReadOnly(StoreOptions(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ps, err := st.Positions()
	if err != nil {
		t.Fatal(err)
	}
	ds, err := st.Decisions(before, 11)
	if err != nil {
		t.Fatal(err)
	}
	// The daemon adds the realised today and all-time figures to the book.
	pb, err := st.PnLBook(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := admin.PositionBookOf(ps)
	pnl := admin.PnLOf(admin.PnLInput{PnLBook: pb})
	want.RealisedTodayUSDC, want.RealisedAllTimeUSDC = pnl.RealisedTodayUSDC, pnl.RealisedAllTimeUSDC
	if !reflect.DeepEqual(want, book) || !reflect.DeepEqual(admin.DecisionLogOf(before, 10, ds), log) {
		t.Fatalf("the daemon served other than what it stored:\nserved %+v\n%+v\nstored %+v\n%+v", book, log, ps, ds)
	}
}
