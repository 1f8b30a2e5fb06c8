package store

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/polymarket"
)

// TestResignIntentPointsTheOneIntentAtTheNewOrder: a pending intent whose order was refused for
// its version names the re-signed order afterwards (what a restart sends or looks up), both
// order hashes lead to it, it is still one pending intent, and an intent whose order may rest
// or have traded is never re-pointed.
func TestResignIntentPointsTheOneIntentAtTheNewOrder(t *testing.T) {
	s, _ := tempStore(t)
	old, fresh := common.HexToHash("0x0a"), common.HexToHash("0x0b")
	in := intent(1, alice, "7", polymarket.Buy, 10_000_000, 5_000_000)
	in.OrderHash, in.Order = old, json.RawMessage(`{"v":2}`)
	if err := s.BeginIntent(in); err != nil {
		t.Fatal(err)
	}
	if err := s.ResignIntent(in.ID, fresh, common.HexToHash("0x0c"), nil); !errors.Is(err, ErrIntentCompleted) {
		t.Fatalf("re-sign from a hash the intent does not name: %v", err)
	}
	if err := s.ResignIntent(in.ID, old, fresh, json.RawMessage(`{"v":3}`)); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.IntentFor(in.ID)
	if err != nil || got.OrderHash != fresh || string(got.Order) != `{"v":3}` || got.Status != StatusPending {
		t.Fatalf("intent %+v %v", got, err)
	}
	for _, h := range []common.Hash{old, fresh} {
		if byHash, ok, err := s.IntentOfOrder(h); err != nil || !ok || byHash.ID != in.ID {
			t.Fatalf("order %s does not lead to the intent: %v %v", h.Hex(), ok, err)
		}
	}
	if p, err := s.PendingIntents(); err != nil || len(p) != 1 {
		t.Fatalf("pending %d %v, want the one intent", len(p), err)
	}
	if err := s.RecordOpen(in.ID, Result{FilledShares: 1_000_000, FilledCollateral: 500_000}); err != nil {
		t.Fatal(err)
	}
	if err := s.ResignIntent(in.ID, fresh, common.HexToHash("0x0d"), nil); !errors.Is(err, ErrIntentCompleted) {
		t.Fatalf("re-sign of an open order: %v", err)
	}
}
