package monitor

import (
	"context"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/executor"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/positions"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
)

// orderBook counts the copy orders placed (paper executions).
type orderBook struct {
	mu     sync.Mutex
	orders []broker.Order
}

func (b *orderBook) PlaceOrder(ctx context.Context, o broker.Order) (positions.Execution, error) {
	b.mu.Lock()
	b.orders = append(b.orders, o)
	b.mu.Unlock()
	return broker.Paper{}.PlaceOrder(ctx, o)
}

func (b *orderBook) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.orders)
}

// A reorg takes a copied leader fill out of the chain, and the new chain includes its
// transaction again at another log index: it is the same fill, and it is copied once.
func TestAFillIncludedAgainAtAnotherLogIndexIsCopiedOnce(t *testing.T) {
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	book := &orderBook{}
	ex, err := executor.New(executor.Options{Broker: book, Store: st, Workers: 1, Strategy: &strategy.Policy{
		Rules:   strategy.Rules{MaxFillAge: time.Hour},
		Leaders: map[common.Address]strategy.Leader{leader: {Enabled: true, Mode: strategy.Proportional, Ratio: decimal.NewFromInt(1)}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	exDone := make(chan error, 1)
	go func() { exDone <- ex.Run(ctx, 5*time.Second) }()
	defer func() {
		cancel()
		if err := <-exDone; err != nil {
			t.Error(err)
		}
	}()

	node := &fakeNode{}
	h := newHarness(t, node, func(o *Options) {
		o.Handler = ex.Submit
		o.OnRemoved = func(f polymarket.Fill) { ex.Cancel(f) }
	})
	l := leaderLog(leader, 10e6)
	l.Topics[1] = common.HexToHash("0x07de7") // the leader's order
	l.BlockTimestamp = uint64(time.Now().Unix())
	l.Index = 1
	first := node.mine(l, true) // block 1, log index 1
	until(t, "the copy", func() bool { return ex.Stats().Copied == 1 })

	gone := first
	gone.Removed = true
	node.deliver(gone) // the reorg removes block 1
	again := first
	again.BlockHash = common.BigToHash(big.NewInt(42)) // the new block 1
	again.Index = 4                                    // other transactions come first now
	node.deliver(again)
	until(t, "the fill to be handed on again", func() bool { return h.mon.Stats().Fills == 2 })
	until(t, "the executor to decide it", func() bool { return ex.Stats().Duplicates+ex.Stats().Copied == 2 })
	if n := book.count(); n != 1 {
		t.Fatalf("%d copy orders for one leader fill, want 1", n)
	}
	if s := ex.Stats(); s.Duplicates != 1 {
		t.Fatalf("executor %+v, want the re-included fill refused by its intent", s)
	}
}
