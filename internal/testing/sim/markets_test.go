package sim

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/polymarket"
)

// A leader's trade is mined as the V2 exchange's matchOrders call of its market, as on Polygon:
// the input names the market's condition, the token is that condition's outcome-0 position, and
// the logs are still the match's.
func TestTradesAreMatchOrdersCallsOfTheirMarket(t *testing.T) {
	s, err := New(Options{Leaders: 1, Markets: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, token := range s.Markets() {
		hash, err := s.EmitMatch(Match{Leader: LeaderAddress(1), TokenID: token, Side: polymarket.Buy, Shares: 10_000_000, Price: 400_000})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		tx, _, err := s.client.TransactionByHash(ctx, hash)
		if err != nil {
			t.Fatal(err)
		}
		args, err := exchangeABI.Methods["matchOrders"].Inputs.Unpack(tx.Data()[4:])
		if err != nil {
			t.Fatalf("market %d: input is not a matchOrders call: %v", i, err)
		}
		if cond := common.Hash(args[0].([32]byte)); cond != ConditionID(token) {
			t.Fatalf("market %d: matchOrders condition %s, want %s", i, cond, ConditionID(token))
		}
		slot, _, ok := polymarket.SlotOf(ConditionID(token), 2, token, polymarket.PositionCollaterals)
		if !ok || slot != 0 {
			t.Fatalf("market %d: token is slot %d of its condition (found %v), want 0", i, slot, ok)
		}
		r, err := s.client.TransactionReceipt(ctx, hash)
		if err != nil || r.Status != 1 || len(r.Logs) != 3 {
			t.Fatalf("market %d: receipt %+v, %v: want a successful call with the match's 3 logs", i, r, err)
		}
		if r.Logs[0].Topics[2] != common.BytesToHash(LeaderAddress(1).Bytes()) || r.Logs[0].Address != s.ExchangeFor(token) {
			t.Fatalf("market %d: the leader's fill is not the first log, from the exchange", i)
		}
	}
}
