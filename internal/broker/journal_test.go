package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/polymarket"
)

// A prepared order journaled with its intent comes back after a restart as that very order:
// the same POST body, so the same order hash, and the CLOB fills it. A journal that does not
// hash to the intent's order hash (damaged, or another order) is refused: it is never sent.
func TestAJournaledOrderIsRestoredAsTheSameOrder(t *testing.T) {
	f := newFixture(t, nil)
	o := copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit)
	p, err := f.broker.Prepare(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	j, err := p.Journal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := f.broker.Restore(j, p.Hash)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if !bytes.Equal(back.Body, p.Body) || back.Hash != p.Hash || !back.Price.Equal(p.Price) || back.FeeRateBps != p.FeeRateBps {
		t.Fatalf("restored %s (order %s), prepared %s (order %s)", back.Body, back.Hash.Hex(), p.Body, p.Hash.Hex())
	}
	if _, err := f.broker.Restore(j, common.HexToHash("0x01")); err == nil {
		t.Fatal("a journal restored under another order hash")
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	m["maker_amount"] = 9_000_000 // a larger order than the one signed
	bad, _ := json.Marshal(m)
	if _, err := f.broker.Restore(bad, p.Hash); err == nil {
		t.Fatal("a journal whose amounts were changed was restored")
	}
	o.Prepared = back
	e, err := f.broker.PlaceOrder(context.Background(), o)
	if err != nil || e.Shares < 10*unit {
		t.Fatalf("the restored order: %+v %v", e, err)
	}
	if st, ok := f.srv.Order(p.Hash); !ok || st.SizeMatched != int64(e.Shares) {
		t.Fatalf("the CLOB holds order %s: %v %+v", p.Hash.Hex(), ok, st)
	}
}
