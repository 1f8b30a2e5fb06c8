package broker

import (
	"context"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// recordingSettler keeps what the fake CLOB settles.
type recordingSettler struct {
	mu  sync.Mutex
	got []clobsim.Settlement
}

func (r *recordingSettler) Settle(s clobsim.Settlement) (common.Hash, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, s)
	return common.BigToHash(common.Big1), nil
}

// A FAK the fake CLOB matches is settled on chain as one trade, the order as its taker with
// what really matched, and the answer carries that trade's transaction. A misreported answer
// says less than what matched; the settlement, the ledger, does not.
func TestMatchedTradeIsSettledAndTheAnswerIsAFirstReport(t *testing.T) {
	st := &recordingSettler{}
	f := newFixture(t, func(o *clobsim.Options, _ *CLOBOptions) { o.Settler = st })
	f.srv.MisreportMatched(1, 50)
	e, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 30*unit, 15*unit))
	if err != nil {
		t.Fatal(err)
	}
	if e.Shares != 10*unit || e.Collateral != 5_050_000 {
		t.Fatalf("misreported answer: %d shares for %d, want half of 20 for 10.1", e.Shares, e.Collateral)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.got) != 1 {
		t.Fatalf("%d settlements, want 1", len(st.got))
	}
	s := st.got[0]
	if s.Exchange != clobsim.DefaultCTFExchange || s.TokenID.String() != tokenNormal || s.Taker == nil {
		t.Fatalf("settlement %+v", s)
	}
	if s.Taker.Maker != f.addr || s.Taker.Side != order.Buy || s.Taker.Shares != 20*unit || s.Taker.Collateral != 10_100_000 {
		t.Fatalf("taker %+v, want the copy's 20 shares for 10.1", *s.Taker)
	}
	if len(s.Makers) != 0 {
		t.Fatalf("seeded liquidity has no maker order, got %+v", s.Makers)
	}
}
