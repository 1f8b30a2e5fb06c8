package app

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/sim"
)

// droppingClient is a node connection whose log subscription leaves out the logs drop picks,
// as a provider's stream can; eth_getLogs answers in full.
type droppingClient struct {
	chain.Client
	drop func(types.Log) bool
}

type droppingSub struct {
	ethereum.Subscription
	done chan struct{}
	once sync.Once
}

func (s *droppingSub) Unsubscribe() {
	s.once.Do(func() { close(s.done) })
	s.Subscription.Unsubscribe()
}

func (c droppingClient) SubscribeFilterLogs(ctx context.Context, q ethereum.FilterQuery, ch chan<- types.Log) (ethereum.Subscription, error) {
	in := make(chan types.Log, 256)
	sub, err := c.Client.SubscribeFilterLogs(ctx, q, in)
	if err != nil {
		return nil, err
	}
	s := &droppingSub{Subscription: sub, done: make(chan struct{})}
	go func() {
		for {
			select {
			case <-s.done:
				return
			case l := <-in:
				if c.drop(l) {
					continue
				}
				select {
				case ch <- l:
				case <-s.done:
					return
				}
			}
		}
	}()
	return s, nil
}

// One transaction fills one leader order twice, 3 and then 5 shares. The stream delivers only
// the second log, and polybot restarts before any check reads the block. Each fill is decided
// exactly once, at its own size: the Nth that names a fill comes from the transaction's receipt.
// (Counted in the order logs arrived, the 5-share fill was Nth 0 before the restart; after it the
// backfill took the 3-share fill for that one, a duplicate, and copied the 5-share fill again.)
func TestTwoFillsOfOneOrderInOneTransactionAreEachDecidedOnceAcrossARestart(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	leader, order := s.LeaderAddresses()[0], common.HexToHash("0x0de7")
	var dropped atomic.Int32
	dial := func(ctx context.Context) (chain.Client, error) {
		c, err := chain.Dial(ctx, s.WSURL(), s.ChainID(), 10*time.Second)
		if err != nil {
			return nil, err
		}
		return droppingClient{Client: c, drop: func(l types.Log) bool {
			// The first of the order's two fills never comes on the stream.
			return len(l.Topics) > 1 && l.Topics[1] == order && l.Data != nil && dropped.CompareAndSwap(0, 1)
		}}, nil
	}
	copies := &copyLog{}
	r := start(t, Options{Config: cfg, Broker: copies, Dial: dial})
	tx, err := s.EmitMatch(sim.Match{Leader: leader, OrderHash: order, Side: polymarket.Buy, TokenID: sim.MarketToken(0),
		Shares: 8e6, Parts: []uint64{3e6, 5e6}, Price: 500_000})
	if err != nil {
		t.Fatal(err)
	}
	for range int(cfg.Chain.Confirmations) + 1 {
		commit(t, s)
	}
	waitFor(t, "the delivered fill's copy", 30*time.Second, func() bool { return r.app.Executor().Stats().Copied == 1 })
	if dropped.Load() != 1 {
		t.Fatal("the first fill's log was not left out of the stream")
	}
	r.stop(t) // before the checkpoint check (chain checks every 10 s) read the block

	r = start(t, Options{Config: cfg, Broker: copies})
	defer r.stop(t)
	var got map[uint64]uint // leader shares -> Nth, of the decisions on tx
	n := 0
	waitFor(t, "both fills decided", 30*time.Second, func() bool {
		ds, err := r.app.Store().Decisions(time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, n = map[uint64]uint{}, 0
		for _, d := range ds {
			if d.Tx == tx {
				got[d.LeaderShares] = d.Nth
				n++
			}
		}
		return n >= 2
	})
	// Give a wrong second decision no room to hide: a fill that comes after must be decided after
	// everything of tx.
	if _, err := s.EmitMatch(sim.Match{Leader: leader, Side: polymarket.Buy, TokenID: sim.MarketToken(0), Shares: 1e6, Price: 500_000}); err != nil {
		t.Fatal(err)
	}
	for range int(cfg.Chain.Confirmations) + 1 {
		commit(t, s)
	}
	waitFor(t, "the next fill's copy", 30*time.Second, func() bool { return r.app.Executor().Stats().Copied >= 2 })
	ds, err := r.app.Store().Decisions(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	got, n = map[uint64]uint{}, 0
	for _, d := range ds {
		if d.Tx == tx {
			got[d.LeaderShares] = d.Nth
			n++
		}
	}
	if n != 2 || len(got) != 2 || got[3e6] != 0 || got[5e6] != 1 {
		t.Fatalf("%d decisions on the transaction, leader size -> Nth %v; want the 3-share fill as Nth 0 and the 5-share fill as Nth 1, once each", n, got)
	}
	for k, c := range copies.snapshot() {
		if c != 1 {
			t.Errorf("fill %v copied %d times", k, c)
		}
	}
}
