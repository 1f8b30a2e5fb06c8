package monitor

import (
	"context"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/executor"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
)

// orderBook counts the copy orders placed (paper executions).
type orderBook struct {
	mu     sync.Mutex
	orders []broker.Order
}

func (b *orderBook) PlaceOrder(ctx context.Context, o broker.Order) (broker.Execution, error) {
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
	node.mu.Lock()
	node.logs = []types.Log{again} // the node's chain (and the receipt) is the new one
	node.mu.Unlock()
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

// One transaction can fill the same order twice: each fill is handed on, told apart by Nth.
func TestTwoFillsOfOneOrderInOneTransactionAreBothHandedOn(t *testing.T) {
	node := &fakeNode{}
	h := newHarness(t, node)
	a, b := common.HexToHash("0x0a"), common.HexToHash("0x0b")
	var logs []types.Log
	for i, order := range []common.Hash{a, b, a} {
		l := leaderLog(leader, uint64(i+1)*1e6)
		l.Topics[1] = order
		l.TxHash = common.HexToHash("0x7777")
		l.Index = uint(i)
		l.BlockNumber, l.BlockHash = 1, blockHash(1)
		logs = append(logs, l)
	}
	node.mu.Lock()
	node.logs = append(node.logs, logs...)
	node.head = 1
	node.mu.Unlock()
	for _, l := range logs {
		node.deliver(l)
	}
	h.sink.wait(t, 3)
	h.sink.mu.Lock()
	defer h.sink.mu.Unlock()
	var nths []uint
	for _, f := range h.sink.fills {
		nths = append(nths, f.Nth)
	}
	if len(nths) != 3 || nths[0] != 0 || nths[1] != 0 || nths[2] != 1 {
		t.Fatalf("Nth of the fills %v, want [0 0 1]", nths)
	}
}
