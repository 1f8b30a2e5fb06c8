package monitor

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
	"github.com/ethereum/go-ethereum/rpc"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/dedup"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/chainlog"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	exchange = polymarket.CTFExchangeV2
	leader   = common.HexToAddress("0x1000000000000000000000000000000000000001")
	stranger = common.HexToAddress("0x2000000000000000000000000000000000000002")
)

// fakeNode is an in-memory node: a chain of logs, a head, and live subscriptions the test can
// feed or break. It filters like a node does (address, topic0, maker topic, block range).
type fakeNode struct {
	mu      sync.Mutex
	logs    []types.Log
	head    uint64
	subs    []*fakeSub
	heads   map[*headSub]chan<- *types.Header
	dials   int
	dialErr error
	// noSubs makes the node answer like an http endpoint: no subscriptions.
	noSubs bool
	// maxRange refuses eth_getLogs over more blocks than this (0 = no limit).
	maxRange uint64
	// filterErrs are returned by the next eth_getLogs calls, one each.
	filterErrs []error
	filters    int
	// Faults of the bound reads' calls (fakerpc_test.go): every eth_getLogs{blockHash} answers
	// []; receipts lack their last one; block forkAt's header names another parent.
	hideByHash, shortReceipts bool
	forkAt                    uint64
}

type fakeSub struct {
	ch   chan<- types.Log
	q    ethereum.FilterQuery
	err  chan error
	once sync.Once
}

func (s *fakeSub) Unsubscribe()      { s.once.Do(func() { close(s.err) }) }
func (s *fakeSub) Err() <-chan error { return s.err }

type headSub struct {
	n   *fakeNode
	err chan error
}

func (s *headSub) Unsubscribe() {
	s.n.mu.Lock()
	delete(s.n.heads, s)
	s.n.mu.Unlock()
}
func (s *headSub) Err() <-chan error { return s.err }

type fakeClient struct {
	n  *fakeNode
	rc *rpc.Client // the node's block-bound reads (fakerpc_test.go)
}

func (n *fakeNode) dial(context.Context) (chain.Client, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dials++
	if n.dialErr != nil {
		return nil, n.dialErr
	}
	return fakeClient{n: n, rc: n.rpcClient()}, nil
}

func matches(q ethereum.FilterQuery, l *types.Log) bool {
	okAddr := false
	for _, a := range q.Addresses {
		okAddr = okAddr || a == l.Address
	}
	if !okAddr {
		return false
	}
	for i, set := range q.Topics {
		if len(set) == 0 {
			continue
		}
		if i >= len(l.Topics) {
			return false
		}
		hit := false
		for _, t := range set {
			hit = hit || t == l.Topics[i]
		}
		if !hit {
			return false
		}
	}
	if q.FromBlock != nil && l.BlockNumber < q.FromBlock.Uint64() {
		return false
	}
	if q.ToBlock != nil && l.BlockNumber > q.ToBlock.Uint64() {
		return false
	}
	return true
}

func (c fakeClient) FilterLogs(_ context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	c.n.filters++
	if len(c.n.filterErrs) > 0 {
		err := c.n.filterErrs[0]
		c.n.filterErrs = c.n.filterErrs[1:]
		return nil, err
	}
	if c.n.maxRange > 0 && q.FromBlock != nil && q.ToBlock != nil && q.ToBlock.Uint64()-q.FromBlock.Uint64()+1 > c.n.maxRange {
		return nil, errors.New("query returned more than 10000 results")
	}
	var out []types.Log
	for _, l := range c.n.logs {
		if matches(q, &l) {
			out = append(out, l)
		}
	}
	return out, nil
}

func (c fakeClient) SubscribeFilterLogs(_ context.Context, q ethereum.FilterQuery, ch chan<- types.Log) (ethereum.Subscription, error) {
	c.n.mu.Lock()
	if c.n.noSubs {
		c.n.mu.Unlock()
		return nil, rpc.ErrNotificationsUnsupported
	}
	defer c.n.mu.Unlock()
	s := &fakeSub{ch: ch, q: q, err: make(chan error, 1)}
	c.n.subs = append(c.n.subs, s)
	return s, nil
}

func (c fakeClient) SubscribeNewHead(_ context.Context, ch chan<- *types.Header) (ethereum.Subscription, error) {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	if c.n.noSubs {
		return nil, rpc.ErrNotificationsUnsupported
	}
	s := &headSub{n: c.n, err: make(chan error)}
	if c.n.heads == nil {
		c.n.heads = map[*headSub]chan<- *types.Header{}
	}
	c.n.heads[s] = ch
	return s, nil
}

func (c fakeClient) HeaderByNumber(context.Context, *big.Int) (*types.Header, error) {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	return &types.Header{Number: new(big.Int).SetUint64(c.n.head)}, nil
}

func (c fakeClient) ChainID(context.Context) (*big.Int, error) { return big.NewInt(137), nil }
func (c fakeClient) Close()                                    { c.rc.Close() }

// mine appends a log at a new head; live subscribers get it unless deliver is false (a missed
// delivery). Head subscribers hear of the block either way.
func (n *fakeNode) mine(l types.Log, deliver bool) types.Log {
	n.mu.Lock()
	n.head++
	l.BlockNumber = n.head
	l.BlockHash = blockHash(n.head)
	n.logs = append(n.logs, l)
	var subs []*fakeSub
	if deliver {
		subs = append(subs, n.subs...)
	}
	n.mu.Unlock()
	for _, s := range subs {
		if matches(s.q, &l) {
			s.ch <- l
		}
	}
	n.announce()
	return l
}

// mineEmpty mines a block without logs.
func (n *fakeNode) mineEmpty() {
	n.mu.Lock()
	n.head++
	n.mu.Unlock()
	n.announce()
}

// announce sends the head to the head subscribers; a full channel skips it, as a node may.
func (n *fakeNode) announce() {
	n.mu.Lock()
	defer n.mu.Unlock()
	h := &types.Header{Number: new(big.Int).SetUint64(n.head)}
	for _, ch := range n.heads {
		select {
		case ch <- h:
		default:
		}
	}
}

func blockHash(n uint64) common.Hash { return common.BigToHash(new(big.Int).SetUint64(1_000_000 + n)) }

// deliver pushes a raw log to every live subscriber without recording it (a node's bad answer).
func (n *fakeNode) deliver(l types.Log) {
	n.mu.Lock()
	subs := append([]*fakeSub(nil), n.subs...)
	n.mu.Unlock()
	for _, s := range subs {
		s.ch <- l
	}
}

// drop breaks every live subscription, as a dropped websocket does.
func (n *fakeNode) drop() {
	n.mu.Lock()
	subs := n.subs
	n.subs = nil
	n.mu.Unlock()
	for _, s := range subs {
		s.err <- errors.New("websocket closed")
	}
}

var txSeq uint64

func leaderLog(maker common.Address, shares uint64) types.Log {
	txSeq++
	f := polymarket.Fill{Exchange: exchange, Maker: maker, Taker: exchange, Side: polymarket.Buy, TokenID: big.NewInt(77), Shares: shares, Collateral: shares / 2}
	topics, data := chainlog.Trade{OrderHash: f.OrderHash, Maker: f.Maker, Taker: f.Taker, Sell: f.Side == polymarket.Sell, TokenID: f.TokenID, Shares: f.Shares, Collateral: f.Collateral, Fee: f.Fee}.V2()
	return types.Log{Address: exchange, Topics: topics, Data: data, TxHash: common.BigToHash(new(big.Int).SetUint64(txSeq)), Index: 1}
}

type sink struct {
	mu    sync.Mutex
	fills []polymarket.Fill
	got   chan struct{}
}

func newSink() *sink { return &sink{got: make(chan struct{}, 1000)} }

func (s *sink) handle(_ context.Context, f polymarket.Fill) error {
	s.mu.Lock()
	s.fills = append(s.fills, f)
	s.mu.Unlock()
	s.got <- struct{}{}
	return nil
}

func (s *sink) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.fills)
}

func (s *sink) wait(t *testing.T, n int) {
	t.Helper()
	for s.len() < n {
		select {
		case <-s.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("handled %d fills, want %d", s.len(), n)
		}
	}
}

type harness struct {
	node   *fakeNode
	sink   *sink
	mon    *Monitor
	cancel context.CancelFunc
	done   chan error
	subbed chan struct{}
	once   sync.Once
}

func newHarness(t *testing.T, node *fakeNode, tweak ...func(*Options)) *harness {
	t.Helper()
	cache, err := dedup.New(dedup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{node: node, sink: newSink(), done: make(chan error, 1), subbed: make(chan struct{}, 100)}
	opts := Options{
		Dial:         node.dial,
		Exchanges:    []common.Address{exchange},
		Leaders:      []common.Address{leader},
		Dedup:        cache,
		Handler:      h.sink.handle,
		StartBlock:   1,
		MaxBackoff:   10 * time.Millisecond,
		OnSubscribed: func() { h.subbed <- struct{}{} },
		Log:          zaptest.NewLogger(t),
	}
	for _, f := range tweak {
		f(&opts)
	}
	h.mon, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.mon.Run(ctx) }()
	h.waitSubscribed(t)
	t.Cleanup(func() { h.stop(t) })
	return h
}

// stop cancels Run and waits for it; calling it again does nothing.
func (h *harness) stop(t *testing.T) {
	t.Helper()
	h.once.Do(func() {
		h.cancel()
		if err := <-h.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func (h *harness) waitSubscribed(t *testing.T) {
	t.Helper()
	select {
	case <-h.subbed:
	case <-time.After(10 * time.Second):
		t.Fatal("not subscribed")
	}
}

func TestBackfillOnStartThenLive(t *testing.T) {
	node := &fakeNode{}
	node.mine(leaderLog(leader, 10e6), false) // before polybot started
	node.mine(leaderLog(stranger, 10e6), false)
	h := newHarness(t, node)
	h.sink.wait(t, 1)
	node.mine(leaderLog(leader, 20e6), true)
	h.sink.wait(t, 2)
	if st := h.mon.Stats(); st.Fills != 2 || st.Duplicates != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestReconnectBackfillsWhatWasMissedWithoutDuplicates(t *testing.T) {
	node := &fakeNode{}
	h := newHarness(t, node)
	node.mine(leaderLog(leader, 1e6), true)
	h.sink.wait(t, 1)

	node.drop()
	// Mined while the websocket was down: no live delivery.
	node.mine(leaderLog(leader, 2e6), false)
	node.mine(leaderLog(leader, 3e6), false)
	h.waitSubscribed(t)
	h.sink.wait(t, 3)
	node.mine(leaderLog(leader, 4e6), true)
	h.sink.wait(t, 4)

	seen := map[common.Hash]int{}
	h.sink.mu.Lock()
	for _, f := range h.sink.fills {
		seen[f.TxHash]++
	}
	h.sink.mu.Unlock()
	if len(seen) != 4 {
		t.Fatalf("%d distinct fills handled, want 4", len(seen))
	}
	for tx, n := range seen {
		if n != 1 {
			t.Fatalf("fill %s handled %d times", tx, n)
		}
	}
	// Whether the backfill overlaps block 1 (and drops it as a duplicate) depends on whether the
	// checkpoint passed it before the drop; either way each fill was handled once, checked above.
	if st := h.mon.Stats(); st.Reconnects != 1 || st.Fills != 4 {
		t.Fatalf("want one reconnect and 4 fills handed on: %+v", st)
	}
}

func TestBadLogsAreCountedAndSkipped(t *testing.T) {
	node := &fakeNode{}
	h := newHarness(t, node)

	bad := leaderLog(leader, 1e6)
	bad.Data = bad.Data[:40]
	node.deliver(bad)
	foreign := leaderLog(leader, 1e6)
	foreign.Address = common.HexToAddress("0xbad")
	node.deliver(foreign) // a hostile node ignoring the address filter
	wrongMaker := leaderLog(stranger, 1e6)
	node.deliver(wrongMaker)
	removed := leaderLog(leader, 1e6)
	removed.Removed = true
	node.deliver(removed)
	node.mine(leaderLog(leader, 5e6), true)
	h.sink.wait(t, 1)

	st := h.mon.Stats()
	if st.Malformed != 1 || st.Ignored != 2 || st.Removed != 1 || st.Fills != 1 {
		t.Fatalf("stats %+v", st)
	}
	if f := h.sink.fills[0]; f.Shares != 5e6 {
		t.Fatalf("handled %+v, want only the good fill", f)
	}
}

func TestSetLeadersResubscribesAndBackfills(t *testing.T) {
	node := &fakeNode{}
	h := newHarness(t, node)
	node.mine(leaderLog(stranger, 7e6), true) // not yet a leader: filtered out
	h.mon.SetLeaders([]common.Address{leader, stranger})
	h.waitSubscribed(t)
	h.sink.wait(t, 1)
	if f := h.sink.fills[0]; f.Maker != stranger {
		t.Fatalf("handled %+v", f)
	}
}

func TestHealthy(t *testing.T) {
	node := &fakeNode{dialErr: errors.New("connection refused")}
	cache, _ := dedup.New(dedup.Options{})
	m, err := New(Options{Dial: node.dial, Exchanges: []common.Address{exchange}, Dedup: cache,
		Handler: func(context.Context, polymarket.Fill) error { return nil }, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if m.Healthy() == nil {
		t.Fatal("healthy before subscribing")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	for m.Stats().Reconnects < 3 {
		time.Sleep(time.Millisecond)
	}
	if err := m.Healthy(); err == nil || m.Stats().LastError == "" {
		t.Fatalf("healthy while the node refuses connections: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestNewRejectsIncompleteOptions(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("accepted empty options")
	}
}
