package store

import (
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/polymarket"
)

// The intent id names the fill, not the log's position: the same transaction's fill of the same
// order at another log index (a reorg included it again) finds the first intent.
func TestAnIntentIsFoundWhereverTheFillLands(t *testing.T) {
	s, _ := tempStore(t)
	f := polymarket.Fill{TxHash: common.HexToHash("0xaa"), OrderHash: common.HexToHash("0x0b"), LogIndex: 1}
	in := Intent{ID: IntentIDOf(&f), Leader: alice, Token: "7", Side: polymarket.Buy, Shares: 1e6, Collateral: 5e5}
	if err := s.BeginIntent(in); err != nil {
		t.Fatal(err)
	}
	moved := f
	moved.LogIndex = 4
	if _, ok, err := s.IntentFor(IntentIDOf(&moved)); err != nil || !ok {
		t.Fatalf("IntentFor(the fill at log index 4) = %v, %v; want the intent recorded at log index 1", ok, err)
	}
	in.ID = IntentIDOf(&moved)
	if err := s.BeginIntent(in); !errors.Is(err, ErrIntentExists) {
		t.Fatalf("BeginIntent(the fill at log index 4) = %v, want ErrIntentExists", err)
	}
	// The order's second fill in the transaction is another fill.
	second := f
	second.LogIndex, second.Nth = 2, 1
	if _, ok, _ := s.IntentFor(IntentIDOf(&second)); ok {
		t.Fatal("the order's second fill in the transaction found the first one's intent")
	}
}

// A store written before the order hash was part of the intent id keeps its intents by
// transaction and log index: they are still found, completed and refused again after the
// upgrade, so that a fill copied before it is not copied twice.
func TestIntentsOfAnOlderStoreAreStillFound(t *testing.T) {
	s, _ := tempStore(t)
	f := polymarket.Fill{TxHash: common.HexToHash("0xaa"), OrderHash: common.HexToHash("0x0b"), LogIndex: 3}
	old := Intent{ID: IntentID{Tx: f.TxHash, LogIndex: f.LogIndex}, Leader: alice, Token: "7", Side: polymarket.Buy, Shares: 1e6, Collateral: 5e5}
	if err := s.BeginIntent(old); err != nil { // as the older version recorded it
		t.Fatal(err)
	}
	got, ok, err := s.IntentFor(IntentIDOf(&f))
	if err != nil || !ok || got.ID != old.ID {
		t.Fatalf("IntentFor(the new id) = %+v, %v, %v; want the older intent", got, ok, err)
	}
	in := old
	in.ID = IntentIDOf(&f)
	if err := s.Record(Decision{Tx: f.TxHash, LogIndex: f.LogIndex}, &in); !errors.Is(err, ErrIntentExists) {
		t.Fatalf("Record(the same fill, new id) = %v, want ErrIntentExists", err)
	}
	pending, err := s.PendingIntents()
	if err != nil || len(pending) != 1 {
		t.Fatalf("PendingIntents = %d, %v", len(pending), err)
	}
	if err := s.CompleteIntent(pending[0].ID, Result{Status: StatusUnfilled}); err != nil {
		t.Fatalf("completing the older intent: %v", err)
	}
}
