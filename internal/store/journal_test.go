package store

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/polybot/polybot/internal/polymarket"
)

// An intent keeps its journaled signed order and its fill's block time across a restart while
// it is pending (the next start may have to send that order), and drops the order once its
// result is recorded.
func TestAPendingIntentKeepsItsJournaledOrder(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t0}
	s := openAt(t, dir, c, nil)
	in := intent(1, alice, "7", polymarket.Buy, 10*usdc, 5*usdc)
	in.Order, in.BlockTime = json.RawMessage(`{"salt":12,"signature":"0x01"}`), uint64(t0.Unix())
	if err := s.BeginIntent(in); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, dir, c, nil)
	defer s.Close()
	pending, err := s.PendingIntents()
	if err != nil || len(pending) != 1 || !bytes.Equal(pending[0].Order, in.Order) || pending[0].BlockTime != in.BlockTime {
		t.Fatalf("pending %+v %v; want the intent with its journaled order and block time", pending, err)
	}
	if err := s.CompleteIntent(in.ID, Result{Status: StatusUnfilled, Reason: "never sent, too old"}); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.IntentFor(in.ID)
	if err != nil || got.Order != nil || got.Result.Reason != "never sent, too old" {
		t.Fatalf("completed intent %+v %v; want its reason kept and its order dropped", got, err)
	}
}
