package monitor

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/dedup"
	"github.com/polybot/polybot/internal/polymarket"
)

// hostileNode wraps a fakeNode with the faults of a broken or lying RPC provider: extra logs
// appended to every eth_getLogs answer whatever the filter asked, and calls that never answer.
type hostileNode struct {
	*fakeNode
	mu        sync.Mutex
	extra     []types.Log    // added, unfiltered, to every FilterLogs answer
	hangs     map[string]int // per call: how many of the next ones never answer
	timedOut  int            // hung calls that ended because the monitor's deadline passed
	hangCalls map[string]int
}

type hostileClient struct {
	fakeClient
	h *hostileNode
}

func (h *hostileNode) dial(ctx context.Context) (chain.Client, error) {
	c, err := h.fakeNode.dial(ctx)
	if err != nil {
		return nil, err
	}
	return hostileClient{c.(fakeClient), h}, nil
}

// hang blocks like a node that never answers when a hang is pending; it returns only when the
// caller's context ends.
func (h *hostileNode) hang(ctx context.Context, call string) (bool, error) {
	h.mu.Lock()
	if h.hangs[call] == 0 {
		h.mu.Unlock()
		return false, nil
	}
	h.hangs[call]--
	if h.hangCalls == nil {
		h.hangCalls = map[string]int{}
	}
	h.hangCalls[call]++
	h.mu.Unlock()
	<-ctx.Done()
	h.mu.Lock()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		h.timedOut++
	}
	h.mu.Unlock()
	return true, ctx.Err()
}

func (c hostileClient) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	if hung, err := c.h.hang(ctx, "eth_getLogs"); hung {
		return nil, err
	}
	logs, err := c.fakeClient.FilterLogs(ctx, q)
	c.h.mu.Lock()
	defer c.h.mu.Unlock()
	return append(logs, c.h.extra...), err
}

func (c hostileClient) HeaderByNumber(ctx context.Context, n *big.Int) (*types.Header, error) {
	if hung, err := c.h.hang(ctx, "eth_blockNumber"); hung {
		return nil, err
	}
	return c.fakeClient.HeaderByNumber(ctx, n)
}

// checkOnlyLeaderFills fails if any handled fill is not the leader's on the configured exchange.
func checkOnlyLeaderFills(t *testing.T, s *sink) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.fills {
		if f.Exchange != exchange || f.Maker != leader {
			t.Errorf("copied a fill of %s on %s: only the leader's fills on the configured exchange may be copied", f.Maker, f.Exchange)
		}
	}
}

// foreignLogs are well-formed OrderFilled logs a lying node sends although the filter excludes
// them, and malformed ones; none may be handed on.
func foreignLogs() (ignored, malformed []types.Log) {
	otherExchange := leaderLog(leader, 9e6)
	otherExchange.Address = polymarket.CTFExchangeV1 // a real exchange, but not a configured one
	notAnExchange := leaderLog(leader, 9e6)
	notAnExchange.Address = common.HexToAddress("0x00000000000000000000000000000000deadbeef")
	strangerMaker := leaderLog(stranger, 9e6)
	leaderTaker := leaderLog(stranger, 9e6) // the leader as taker (topic 3) is not the leader's order
	leaderTaker.Topics[3] = polymarket.LeaderTopic(leader)
	otherEvent := leaderLog(leader, 9e6)
	otherEvent.Topics[0] = polymarket.OrdersMatchedV2Topic
	ignored = []types.Log{otherExchange, notAnExchange, strangerMaker, leaderTaker, otherEvent}

	short := leaderLog(leader, 9e6)
	short.Data = short.Data[:100]
	huge := leaderLog(leader, 9e6)
	huge.Data = make([]byte, 16<<20) // a 16 MiB data field
	copy(huge.Data, short.Data)
	dirtyTopic := leaderLog(leader, 9e6)
	dirtyTopic.Topics[2][0] = 1 // an address topic with high bytes set
	zeroShares := leaderLog(leader, 0)
	tooBig := leaderLog(leader, 9e6)
	tooBig.Data[2*32+3] = 1 // an amount beyond 64 bits
	malformed = []types.Log{short, huge, dirtyTopic, zeroShares, tooBig}
	return ignored, malformed
}

func TestLyingNodeLogsAreCountedAndSkippedOthersServed(t *testing.T) {
	for _, live := range []bool{false, true} {
		name := "in a backfill"
		if live {
			name = "on the live subscription"
		}
		t.Run(name, func(t *testing.T) {
			ignored, malformed := foreignLogs()
			node := &hostileNode{fakeNode: &fakeNode{}}
			if !live {
				for _, l := range append(append([]types.Log(nil), ignored...), malformed...) {
					l.BlockNumber = 1
					node.extra = append(node.extra, l)
				}
				node.mine(leaderLog(leader, 1e6), false)
			}
			h := newHarness(t, node.fakeNode, func(o *Options) { o.Dial = node.dial })
			if live {
				for _, l := range append(append([]types.Log(nil), ignored...), malformed...) {
					l.BlockNumber = node.head + 1
					node.deliver(l)
				}
				node.mine(leaderLog(leader, 1e6), true)
			}
			h.sink.wait(t, 1)
			node.mine(leaderLog(leader, 2e6), true)
			h.sink.wait(t, 2)
			h.stop(t)

			checkOnlyLeaderFills(t, h.sink)
			st := h.mon.Stats()
			if st.Fills != 2 {
				t.Errorf("%d fills handed on, want the leader's 2", st.Fills)
			}
			if st.Ignored < uint64(len(ignored)) || st.Malformed < uint64(len(malformed)) {
				t.Errorf("ignored %d (want ≥ %d), malformed %d (want ≥ %d)", st.Ignored, len(ignored), st.Malformed, len(malformed))
			}
		})
	}
}

func TestHugeGetLogsAnswerIsServed(t *testing.T) {
	// A node answers one eth_getLogs with 200,000 logs, nearly all of them not ours.
	ignored, malformed := foreignLogs()
	node := &hostileNode{fakeNode: &fakeNode{}}
	const n = 200_000
	node.extra = make([]types.Log, 0, n)
	for i := 0; len(node.extra) < n; i++ {
		l := ignored[i%len(ignored)]
		if i%100 == 0 {
			l = malformed[i%(len(malformed)-1)] // the 16 MiB log once is enough
		}
		l.BlockNumber, l.Index = 1, uint(i)
		node.extra = append(node.extra, l)
	}
	node.extra = append(node.extra, malformed[1])
	node.mine(leaderLog(leader, 1e6), false)
	h := newHarness(t, node.fakeNode, func(o *Options) { o.Dial = node.dial })
	h.sink.wait(t, 1)
	node.mu.Lock()
	node.extra = nil
	node.mu.Unlock()
	node.mine(leaderLog(leader, 2e6), true)
	h.sink.wait(t, 2)
	h.stop(t)
	checkOnlyLeaderFills(t, h.sink)
	if st := h.mon.Stats(); st.Fills != 2 || st.Ignored+st.Malformed < n {
		t.Errorf("stats %+v: want 2 fills and the %d foreign logs counted", st, n)
	}
}

func TestNodeThatNeverAnswersTimesOutAndIsRedialed(t *testing.T) {
	for _, call := range []string{"eth_blockNumber", "eth_getLogs"} {
		t.Run(call, func(t *testing.T) {
			node := &hostileNode{fakeNode: &fakeNode{}, hangs: map[string]int{call: 1}}
			node.mine(leaderLog(leader, 1e6), false) // fetched by the backfill
			h := newHarness(t, node.fakeNode, func(o *Options) {
				o.Dial = node.dial
				o.RPCTimeout = 100 * time.Millisecond
			})
			h.sink.wait(t, 1)
			h.stop(t)
			node.mu.Lock()
			defer node.mu.Unlock()
			if node.hangCalls[call] != 1 || node.timedOut != 1 {
				t.Fatalf("hung %v, %d ended by a deadline: want one %s ended by the RPC timeout", node.hangCalls, node.timedOut, call)
			}
			if st := h.mon.Stats(); st.Reconnects != 1 || st.Fills != 1 {
				t.Errorf("stats %+v: want one reconnect after the timeout and the fill handled once", st)
			}
		})
	}
}

func TestRPCTimeoutBoundsEveryCall(t *testing.T) {
	// With every call hanging, the monitor keeps timing out and redialing; it never gets stuck
	// in one call, and says why it is not connected.
	node := &hostileNode{fakeNode: &fakeNode{}, hangs: map[string]int{"eth_blockNumber": 1 << 30}}
	cache, err := dedup.New(dedup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Options{Dial: node.dial, Exchanges: []common.Address{exchange}, Leaders: []common.Address{leader},
		Dedup: cache, Handler: func(context.Context, polymarket.Fill) error { return nil },
		RPCTimeout: 20 * time.Millisecond, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	deadline := time.After(10 * time.Second)
	for {
		node.mu.Lock()
		timedOut := node.timedOut
		node.mu.Unlock()
		if timedOut >= 3 && m.Stats().Reconnects >= 3 {
			break
		}
		select {
		case <-deadline:
			cancel()
			<-done
			t.Fatalf("after 10 s: %d calls timed out, stats %+v", timedOut, m.Stats())
		case <-time.After(5 * time.Millisecond):
		}
	}
	if err := m.Healthy(); err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("Healthy = %v, want it to say the node does not answer", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
