package app

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/sim"
)

// sourceLog is a paper broker that remembers the leader fill of every copy.
type sourceLog struct {
	mu      sync.Mutex
	sources []polymarket.Fill
}

func (b *sourceLog) PlaceOrder(ctx context.Context, o broker.Order) (broker.Execution, error) {
	b.mu.Lock()
	b.sources = append(b.sources, *o.Source)
	b.mu.Unlock()
	return broker.Paper{}.PlaceOrder(ctx, o)
}

func (b *sourceLog) snapshot() []polymarket.Fill {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.sources)
}

// emitBuy emits one leader BUY of 10 shares at 0.5 from exchange ex in its own block.
func emitBuy(t *testing.T, s *sim.Sim, ex common.Address) common.Hash {
	t.Helper()
	tx, err := s.EmitMatch(sim.Match{Exchange: ex, Leader: s.LeaderAddresses()[0], Side: polymarket.Buy,
		TokenID: s.Markets()[0], Shares: 10 * sim.Unit, Price: sim.Unit / 2})
	if err != nil {
		t.Fatal(err)
	}
	commit(t, s)
	return tx
}

// A leader fill that ExchangeV3 emits (the V2 event at its own address) is watched by default,
// decoded and copied.
func TestExchangeV3FillIsCopiedByDefault(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	if !slices.Contains(cfg.Chain.Exchanges, polymarket.ExchangeV3) {
		t.Fatalf("the default chain.exchanges %v lacks ExchangeV3", cfg.Chain.Exchanges)
	}
	b := &sourceLog{}
	r := start(t, Options{Config: cfg, Broker: b})
	t.Cleanup(func() { r.stop(t) })
	tx := emitBuy(t, s, polymarket.ExchangeV3)

	waitFor(t, "the ExchangeV3 fill to be copied", 30*time.Second, func() bool { return r.app.Executor().Stats().Copied == 1 })
	got := b.snapshot()
	if len(got) != 1 {
		t.Fatalf("%d copies, want 1", len(got))
	}
	f := got[0]
	if f.TxHash != tx || f.Exchange != polymarket.ExchangeV3 || f.Version != polymarket.V2 || f.Side != polymarket.Buy ||
		f.Shares != 10*sim.Unit || f.Collateral != 5*sim.Unit {
		t.Fatalf("copied fill %+v; want the BUY of 10 shares for 5 pUSD that ExchangeV3 emitted in %s", f, tx.Hex())
	}
}

// A config whose chain.exchanges leaves ExchangeV3 out does not watch it: its fill is never seen,
// while a later fill from a listed exchange is copied.
func TestExchangeV3NotWatchedWhenNotListed(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	cfg.Chain.Exchanges = []common.Address{polymarket.CTFExchangeV2, polymarket.NegRiskCTFExchangeV2}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	b := &sourceLog{}
	r := start(t, Options{Config: cfg, Broker: b})
	t.Cleanup(func() { r.stop(t) })
	emitBuy(t, s, polymarket.ExchangeV3)
	v2 := emitBuy(t, s, polymarket.CTFExchangeV2)

	waitFor(t, "the V2 fill to be copied", 30*time.Second, func() bool { return r.app.Executor().Stats().Copied >= 1 })
	got := b.snapshot()
	if len(got) != 1 || got[0].TxHash != v2 || got[0].Exchange != polymarket.CTFExchangeV2 {
		t.Fatalf("copies %+v; want only the V2 fill %s", got, v2.Hex())
	}
	st := r.app.Executor().Stats()
	if n, err := r.app.Store().DecisionCount(); err != nil || n != 1 || st.Copied+st.Skipped != 1 {
		t.Fatalf("%d decisions (%v), executor %+v: the ExchangeV3 fill reached the executor", n, err, st)
	}
}
