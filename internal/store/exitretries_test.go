package store

import (
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/polymarket"
)

// TestAnExitRetryIsRecordedWithItsAttempt: attempt n of an exit is an intent and a decision of
// its own on the leader's SELL, never mistaken for the copy (attempt 0) nor another attempt,
// and the stored exit naming the attempt is written with them, survives a reopen, is not
// overwritten by a stale attempt's update, and is gone once deleted.
func TestAnExitRetryIsRecordedWithItsAttempt(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t0}
	s := openAt(t, dir, c, nil)
	fill := IntentID{Tx: common.HexToHash("0x51"), LogIndex: 3, OrderHash: common.HexToHash("0x0d"), Nth: 0}
	copyIn := Intent{ID: fill, Leader: alice, Token: "7", Side: polymarket.Sell, Shares: 10 * usdc, Collateral: 5 * usdc, Salt: 1}
	r := ExitRetry{Fill: fill, Leader: alice, Token: "7", LeaderShares: 10 * usdc, LeaderCollateral: 5 * usdc,
		Shares: 10 * usdc, Since: t0, Next: t0.Add(5e9), Placed: true}
	d := Decision{Leader: alice, Token: "7", Side: "SELL", Action: "copy", Shares: 10 * usdc, Tx: fill.Tx, LogIndex: 3, OrderHash: fill.OrderHash}
	if err := s.RecordExit(d, &copyIn, r); err != nil {
		t.Fatal(err)
	}
	retry := fill
	retry.Attempt = 1
	if _, ok, err := s.IntentFor(retry); err != nil || ok {
		t.Fatalf("attempt 1 found before it was recorded (%v): it is the copy's intent under another name", err)
	}
	retryIn := copyIn
	retryIn.ID, retryIn.Salt = retry, 2
	d.Attempt = 1
	r1 := r
	r1.Attempt = 1
	if err := s.RecordExit(d, &retryIn, r1); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordExit(d, &retryIn, r1); !errors.Is(err, ErrIntentExists) {
		t.Fatalf("attempt 1 recorded twice: %v", err)
	}
	for n, want := range map[uint]uint64{0: 1, 1: 2} {
		id := fill
		id.Attempt = n
		in, ok, err := s.IntentFor(id)
		if err != nil || !ok || in.Salt != want || in.ID.Attempt != n {
			t.Fatalf("attempt %d: intent %+v %v %v", n, in, ok, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, dir, c, nil)
	defer s.Close()
	ds, err := s.Decisions(t0.Add(-1e9), 0)
	if err != nil || len(ds) != 2 || ds[0].Attempt != 0 || ds[1].Attempt != 1 {
		t.Fatalf("decisions %+v (%v); want the copy and attempt 1", ds, err)
	}
	rs, err := s.ExitRetries()
	if err != nil || len(rs) != 1 || rs[0].Attempt != 1 || rs[0].Fill != fill {
		t.Fatalf("stored exits %+v (%v); want the fill's, at attempt 1", rs, err)
	}
	stale := r
	stale.Reason = "late word on attempt 0"
	if ok, err := s.UpdateExitRetry(stale); err != nil || ok {
		t.Fatalf("a stale attempt's update was applied (%v)", err)
	}
	r1.Reason = "no bid"
	if ok, err := s.UpdateExitRetry(r1); err != nil || !ok {
		t.Fatalf("update of the current attempt: %v %v", ok, err)
	}
	if rs, _ := s.ExitRetries(); len(rs) != 1 || rs[0].Reason != "no bid" {
		t.Fatalf("stored exits %+v; want the reason kept", rs)
	}
	if err := s.DeleteExitRetry(retry); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.ExitRetries(); len(rs) != 0 {
		t.Fatalf("stored exits %+v after the delete", rs)
	}
}
