package store

import (
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/polymarket"
)

// A redemption stays pending from its send until its receipt showed the payout, survives a
// failure with its error and retry time, and one recorded before receipts were checked (a
// RedeemTx without a state) counts as done, as it did then.
func TestARedemptionIsPendingUntilPaid(t *testing.T) {
	s, c := tempStore(t)
	copyFill(t, s, intent(1, alice, "7", polymarket.Buy, 10*usdc, 4*usdc))
	copyFill(t, s, intent(2, alice, "8", polymarket.Buy, 5*usdc, 2*usdc))
	for _, tok := range []string{"7", "8"} {
		if err := s.SetMarket(tok, Market{Condition: common.HexToHash("0xc1"), Outcome: 0, Slots: 2}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Resolve(tok, big.NewInt(1), big.NewInt(1), common.Hash{}, 9, c.t); err != nil {
			t.Fatal(err)
		}
	}
	pending := func() map[string]Resolution {
		t.Helper()
		ps, err := s.PendingRedemptions()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]Resolution{}
		for _, p := range ps {
			out[p.Token] = *p.Resolution
		}
		return out
	}
	ps, _ := s.PendingRedemptions()
	byToken := map[string]Position{}
	for _, p := range ps {
		byToken[p.Token] = p
	}
	// "8" was redeemed before receipts were checked: done.
	if err := s.RecordRedemption(byToken["8"], common.HexToHash("0x88"), nil, c.t); err != nil {
		t.Fatal(err)
	}
	if err := s.RedemptionFailed(byToken["7"], errors.New("reverted"), c.t.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if r, ok := pending()["7"]; !ok || r.RedeemAttempts != 1 || r.RedeemError != "reverted" || !r.RedeemRetryAt.Equal(c.t.Add(time.Minute)) {
		t.Fatalf("after a failure: %+v (pending %v)", r, ok)
	}
	if _, ok := pending()["8"]; ok {
		t.Fatal("a redemption recorded before receipts were checked is pending again")
	}
	if err := s.RedemptionSent(byToken["7"], common.HexToHash("0x77"), c.t); err != nil {
		t.Fatal(err)
	}
	if r, ok := pending()["7"]; !ok || r.RedeemState != RedeemSent || r.RedeemTx != common.HexToHash("0x77") {
		t.Fatalf("a sent redemption is not pending its receipt: %+v %v", r, ok)
	}
	if sum, err := s.Redemptions(); err != nil || sum.Checking != 1 || sum.Failing != 1 || sum.Paid != 1 {
		t.Fatalf("summary %+v %v", sum, err)
	}
	if err := s.RedemptionPaid(byToken["7"], 10*usdc, c.t); err != nil {
		t.Fatal(err)
	}
	if len(pending()) != 0 {
		t.Fatalf("paid redemptions still pending: %+v", pending())
	}
	if sum, err := s.Redemptions(); err != nil || sum.Paid != 2 || sum.Failing != 0 || sum.Checking != 0 {
		t.Fatalf("summary after paying %+v %v", sum, err)
	}
}
