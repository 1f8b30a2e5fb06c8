package executor

import (
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
)

func TestSnapshotFeedsTheStrategy(t *testing.T) {
	const usdc = 1_000_000
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	s, err := store.Open(store.Options{Dir: t.TempDir(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	copyFilled(t, s, 1, alice, "1", polymarket.Buy, 10*usdc, 5*usdc) // last price 0.5
	copyFilled(t, s, 2, bob, "2", polymarket.Buy, 10*usdc, 8*usdc)   // last price 0.8
	copyFilled(t, s, 3, bob, "2", polymarket.Sell, 5*usdc, 3*usdc)   // realises -1, last price 0.6
	if _, _, err := s.TripBreaker(now, -1); err != nil {
		t.Fatal(err)
	}
	snap, err := s.Snapshot(alice, "1", now)
	if err != nil {
		t.Fatal(err)
	}
	// Token 2 marked at 0.2 by the caller: 5 shares worth 1 against a cost of 4.
	st := StrategyState(snap, 7*usdc, 30*usdc, true, func(token string) (uint64, bool) { return 200_000, token == "2" })
	if st.Held != 10*usdc || st.MarketShares != 10*usdc || st.MarketExposure != 5*usdc || st.LeaderExposure != 5*usdc ||
		st.TotalExposure != 9*usdc || st.OpenPositions != 2 || st.SpentToday != 13*usdc || !st.BreakerTripped ||
		st.Balance != 7*usdc || st.LeaderHeld != 30*usdc || !st.LeaderKnown {
		t.Fatalf("state %+v", st)
	}
	if st.PnLToday != -4*usdc { // realised -1, token 1 at its last price 0.5 (0), token 2: 1 - 4
		t.Fatalf("P&L today %d, want -4 USDC", st.PnLToday)
	}
	if st := StrategyState(snap, 0, 0, false, nil); st.PnLToday != -1*usdc+0-1*usdc { // token 2 at last price 0.6: 3 - 4
		t.Fatalf("P&L today at last prices %d, want -2 USDC", st.PnLToday)
	}
}

// copyFilled begins and completes the intent of fill n, filled in full.
func copyFilled(t *testing.T, s *store.Store, n int, leader common.Address, token string, side polymarket.Side, shares, coll uint64) {
	t.Helper()
	in := store.Intent{ID: store.IntentID{Tx: common.BigToHash(big.NewInt(int64(n/10 + 1))), LogIndex: uint(n % 10)},
		Leader: leader, Token: token, Side: side, Shares: shares, Collateral: coll, Salt: uint64(n) + 1}
	if err := s.BeginIntent(in); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteIntent(in.ID, store.Result{Status: store.StatusFilled, FilledShares: shares, FilledCollateral: coll, OrderID: "o"}); err != nil {
		t.Fatal(err)
	}
}
