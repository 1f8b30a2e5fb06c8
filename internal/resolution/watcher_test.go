package resolution

import (
	"context"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/executor"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
	"github.com/polybot/polybot/internal/testing/chainlog"
	"github.com/polybot/polybot/internal/testing/leaktest"
)

func TestMain(m *testing.M) { leaktest.VerifyTestMain(m) } // the lagging test runs polysim

const usdc = 1_000_000

var (
	leader = common.HexToAddress("0x1000000000000000000000000000000000000001")
	t0     = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
)

// fakeChain answers eth_getLogs from its logs, as a node filters them, and serves headers whose
// logsBloom and hash are those of the blocks' logs (bound reads check both).
type fakeChain struct {
	mu    sync.Mutex
	head  uint64
	logs  []types.Log
	calls int // range eth_getLogs calls
	// maxRange, if set, is the widest eth_getLogs range the node answers; a wider one is
	// refused with refusal (a provider's message).
	maxRange uint64
	refusal  error

	headers map[uint64]*types.Header // built on demand; dropped when logs change
	byHash  map[common.Hash]uint64
}

// header returns block n's header: its bloom covers the block's logs, its parent is block n-1's.
// c.mu must be held.
func (c *fakeChain) header(n uint64) *types.Header {
	if c.headers == nil {
		c.headers, c.byHash = make(map[uint64]*types.Header), make(map[common.Hash]uint64)
	}
	if h, ok := c.headers[n]; ok {
		return h
	}
	h := &types.Header{Number: new(big.Int).SetUint64(n), Difficulty: new(big.Int)}
	if n > 0 {
		h.ParentHash = c.header(n - 1).Hash()
	}
	var logs []*types.Log
	for i := range c.logs {
		if c.logs[i].BlockNumber == n {
			logs = append(logs, &c.logs[i])
		}
	}
	h.Bloom = types.CreateBloom(&types.Receipt{Logs: logs})
	c.headers[n], c.byHash[h.Hash()] = h, n
	return h
}

func (c *fakeChain) HeaderByNumber(_ context.Context, n *big.Int) (*types.Header, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n == nil || n.Uint64() > c.head {
		return c.header(c.head), nil
	}
	return c.header(n.Uint64()), nil
}

func (c *fakeChain) FilterLogs(_ context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	from, to := uint64(0), c.head
	if q.BlockHash != nil {
		n, ok := c.byHash[*q.BlockHash]
		if !ok {
			return nil, errors.New("unknown block")
		}
		from, to = n, n
	} else {
		c.calls++
		if c.maxRange > 0 && q.ToBlock.Uint64()-q.FromBlock.Uint64()+1 > c.maxRange {
			return nil, c.refusal
		}
		from, to = q.FromBlock.Uint64(), q.ToBlock.Uint64()
	}
	var out []types.Log
	for _, l := range c.logs {
		if l.BlockNumber < from || l.BlockNumber > to {
			continue
		}
		if len(q.Addresses) > 0 && l.Address != q.Addresses[0] {
			continue
		}
		ok := true
		for i, want := range q.Topics {
			if len(want) == 0 {
				continue
			}
			match := false
			for _, w := range want {
				match = match || (i < len(l.Topics) && l.Topics[i] == w)
			}
			ok = ok && match
		}
		if ok {
			l.BlockHash = c.header(l.BlockNumber).Hash()
			out = append(out, l)
		}
	}
	return out, nil
}

func (c *fakeChain) resolve(block uint64, cid common.Hash, numerators ...int64) {
	r := polymarket.Resolution{ConditionID: cid, Oracle: common.HexToAddress("0x0a"), QuestionID: common.HexToHash("0x9e")}
	for _, n := range numerators {
		r.Numerators = append(r.Numerators, big.NewInt(n))
	}
	topics, data := chainlog.Resolution(r.ConditionID, r.Oracle, r.QuestionID, r.Numerators)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.headers, c.byHash = nil, nil
	c.logs = append(c.logs, types.Log{Address: polymarket.ConditionalTokens, Topics: topics, Data: data, BlockNumber: block,
		TxHash: common.BigToHash(big.NewInt(int64(block)))})
	c.head = max(c.head, block)
}

type fakeMarkets map[string]store.Market

func (m fakeMarkets) MarketOf(_ context.Context, token string) (store.Market, error) {
	return m[token], nil
}

// fakeBooks quotes one bid and one ask per token.
type fakeBooks map[string][2]string

func (b fakeBooks) Book(_ context.Context, token string) (*clob.Book, error) {
	q := b[token]
	return &clob.Book{
		Bids: []order.Level{{Price: decimal.RequireFromString(q[0]), Size: decimal.NewFromInt(100)}},
		Asks: []order.Level{{Price: decimal.RequireFromString(q[1]), Size: decimal.NewFromInt(100)}},
	}, nil
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(store.Options{Dir: t.TempDir(), Now: func() time.Time { return t0 }, LockTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

var intentN int

func buy(t *testing.T, s *store.Store, token string, shares, coll uint64) {
	t.Helper()
	intentN++
	in := store.Intent{ID: store.IntentID{Tx: common.BigToHash(big.NewInt(int64(intentN))), LogIndex: 0}, Leader: leader, Token: token,
		Side: polymarket.Buy, Shares: shares, Collateral: coll, Salt: uint64(intentN)}
	if err := s.BeginIntent(in); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteIntent(in.ID, store.Result{Status: store.StatusFilled, FilledShares: shares, FilledCollateral: coll, OrderID: "o"}); err != nil {
		t.Fatal(err)
	}
}

func watcher(t *testing.T, s *store.Store, c *fakeChain, m fakeMarkets, edit func(o *Options)) *Watcher {
	t.Helper()
	o := Options{Dial: func(context.Context) (Chain, error) { return c, nil }, Store: s, Markets: m, Now: func() time.Time { return t0 }}
	if edit != nil {
		edit(&o)
	}
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// decideBuy decides a leader BUY of token at 0.5 with polybot's state as the store has it.
func decideBuy(t *testing.T, s *store.Store, token string, rules strategy.Rules, marks func(string) (uint64, bool)) strategy.Decision {
	t.Helper()
	snap, err := s.Snapshot(leader, token, t0)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := new(big.Int).SetString(token, 10)
	f := polymarket.Fill{Maker: leader, Side: polymarket.Buy, TokenID: tok, Shares: 10 * usdc, Collateral: 5 * usdc}
	return strategy.Decide(strategy.Input{Fill: f, Now: t0, Rules: rules,
		Leader: strategy.Leader{Enabled: true, Mode: strategy.Proportional, Ratio: decimal.NewFromInt(1)},
		State:  executor.StrategyState(snap, 0, 0, false, marks)})
}

func TestAResolvedMarketClosesThePositionAndFreesMaxOpenPositions(t *testing.T) {
	s := openStore(t)
	buy(t, s, "101", 20*usdc, 12*usdc) // YES at 0.6
	buy(t, s, "202", 10*usdc, 3*usdc)  // another market at 0.3
	rules := strategy.Rules{MaxOpenPositions: 2}
	if d := decideBuy(t, s, "303", rules, nil); d.Action != strategy.Skip || d.Limit != strategy.LimitOpenPositions {
		t.Fatalf("third market with 2 open and max_open_positions 2: %v %s", d.Action, d.Reason)
	}
	cid := common.HexToHash("0xc0ffee")
	ch := &fakeChain{head: 1000}
	w := watcher(t, s, ch, fakeMarkets{"101": {Condition: cid, Outcome: 0, Slots: 2}, "202": {Condition: common.HexToHash("0xbeef"), Slots: 2}}, nil)
	if err := w.Round(context.Background()); err != nil { // learns the markets; nothing resolved
		t.Fatal(err)
	}
	if ps, _ := s.Positions(); len(ps) != 2 {
		t.Fatalf("%d positions open before any resolution", len(ps))
	}
	ch.resolve(1005, cid, 1, 0) // YES wins
	if err := w.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	ps, _ := s.Positions()
	if len(ps) != 1 || ps[0].Token != "202" {
		t.Fatalf("open positions after resolution: %+v", ps)
	}
	closed, _ := s.ClosedPositions(time.Time{})
	if len(closed) != 1 || closed[0].Resolution == nil || closed[0].Resolution.Payout != 20*usdc || closed[0].Resolution.PnL != 8*usdc {
		t.Fatalf("closed: %+v", closed)
	}
	if d, _ := s.Daily(t0); d.Realised != 8*usdc {
		t.Fatalf("day realised %d, want 8 USDC", d.Realised)
	}
	if d := decideBuy(t, s, "303", rules, nil); !d.Action.Places() {
		t.Fatalf("BUY still skipped after the resolution freed a position: %s", d.Reason)
	}
	if w.Resolved() != 1 {
		t.Fatalf("resolved %d", w.Resolved())
	}
}

func TestAMarketLearnedAfterItsResolutionBlockIsStillResolved(t *testing.T) {
	s := openStore(t)
	ch := &fakeChain{head: 1000}
	cid := common.HexToHash("0xc1")
	m := fakeMarkets{"101": {Condition: cid, Outcome: 1, Slots: 2}}
	w := watcher(t, s, ch, m, nil)
	if err := w.Round(context.Background()); err != nil { // cursor at 1000, nothing held
		t.Fatal(err)
	}
	buy(t, s, "101", 10*usdc, 9*usdc)
	ch.resolve(1001, cid, 1, 0) // NO wins: outcome 1 pays nothing
	// The resolution block is read by a round that does not know the market yet.
	w.opts.MaxLookups = 1
	if err := w.readResolutions(context.Background(), nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	closed, _ := s.ClosedPositions(time.Time{})
	if len(closed) != 1 || closed[0].Resolution.PnL != -9*usdc {
		t.Fatalf("late-learned market not resolved from the catch-up window: %+v", closed)
	}
}

func TestTheBreakerSeesALossFromMarking(t *testing.T) {
	s := openStore(t)
	buy(t, s, "101", 100*usdc, 50*usdc) // 100 shares at 0.5: the last fill price marks it at cost
	rules := strategy.Rules{DailyLossLimit: 20 * usdc}
	if d := decideBuy(t, s, "202", rules, nil); d.TripBreaker || !d.Action.Places() {
		t.Fatalf("at the last fill price the loss is 0, yet: %v %s", d.Action, d.Reason)
	}
	marks := NewMarks()
	w := watcher(t, s, &fakeChain{head: 10}, fakeMarkets{"101": {Condition: common.HexToHash("0xc1"), Slots: 2}}, func(o *Options) {
		o.Marks, o.Books = marks, fakeBooks{"101": {"0.19", "0.21"}} // mid 0.2: 100 shares worth 20, cost 50
	})
	if err := w.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m, ok := marks.Mark("101"); !ok || m != 200_000 {
		t.Fatalf("mark %d %v, want 0.2", m, ok)
	}
	d := decideBuy(t, s, "202", rules, marks.Mark)
	if !d.TripBreaker || d.Limit != strategy.LimitDailyLoss {
		t.Fatalf("a 30 USDC marked loss against a 20 USDC limit did not trip the breaker: %v %s", d.Action, d.Reason)
	}
}
