package resolution

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// providerError is a JSON-RPC error as go-ethereum's rpc client returns it.
type providerError struct {
	code int
	msg  string
}

func (e providerError) Error() string  { return e.msg }
func (e providerError) ErrorCode() int { return e.code }

// A free-tier provider refuses any eth_getLogs range wider than 10 blocks. The watcher halves its
// range until the node answers and closes the position in the first round.
func TestAFreeTierProviderStillClosesPositions(t *testing.T) {
	refusals := []error{
		providerError{-32600, "Under the Free tier plan, you can make eth_getLogs requests with up to a 10 block range"},
		providerError{-32614, "eth_getLogs is limited to a 10,000 range"},
		providerError{-32602, "range 2000 exceeds limit of 10000"},
		providerError{-32000, "exceed maximum block range: 50000"},
		providerError{-32000, "eth_getLogs block range too large, range: 2000, max: 3500"},
	}
	for _, refusal := range refusals {
		t.Run(refusal.Error(), func(t *testing.T) {
			s := openStore(t)
			buy(t, s, "101", 20*usdc, 12*usdc)
			cid := common.HexToHash("0xc0ffee")
			ch := &fakeChain{maxRange: 10, refusal: refusal}
			ch.resolve(5_000, cid, 1, 0)
			ch.head = 6_000
			w := watcher(t, s, ch, fakeMarkets{"101": {Condition: cid, Outcome: 0, Slots: 2}}, func(o *Options) { o.Lookback = 2_000 })
			if err := w.Round(context.Background()); err != nil {
				t.Fatalf("round against a 10-block provider failed: %v", err)
			}
			if ps, _ := s.Positions(); len(ps) != 0 {
				t.Fatalf("position still open after its market resolved: %+v", ps)
			}
			if w.Span() > 10 || w.RangeHalvings() == 0 {
				t.Fatalf("span %d blocks after %d halvings, want at most the provider's 10", w.Span(), w.RangeHalvings())
			}
			if cur, _, _ := s.ResolutionCursor(); cur != 6_000 {
				t.Fatalf("resolution cursor %d, want the head 6000", cur)
			}
		})
	}
}

// After a dense stretch halved the range, calls that succeed let it grow back to the configured
// chunk, so later rounds are not stuck with tiny calls.
func TestAHalvedRangeGrowsBack(t *testing.T) {
	s := openStore(t)
	buy(t, s, "101", 20*usdc, 12*usdc)
	ch := &fakeChain{head: 1_000, maxRange: 100, refusal: providerError{-32005, "query returned more than 10000 results"}}
	w := watcher(t, s, ch, fakeMarkets{"101": {Condition: common.HexToHash("0xc1"), Slots: 2}}, func(o *Options) {
		o.Lookback, o.Chunk = 1_000, 400
	})
	if err := w.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.Span() != 100 {
		t.Fatalf("span %d after the node refused 400 and 200 blocks, want 100", w.Span())
	}
	ch.mu.Lock()
	ch.maxRange = 0 // the dense stretch is behind
	ch.head = 20_000
	ch.mu.Unlock()
	if err := w.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w.Span() != 400 {
		t.Fatalf("span %d after many successful calls, want the configured 400 again", w.Span())
	}
}

// "beyond current head" and "invalid block range" are not cured by a smaller range: the round
// fails (and is retried at the next one) without shrinking the range.
func TestRefusalsThatAreNotRangeLimitsKeepTheRange(t *testing.T) {
	for _, refusal := range []error{
		providerError{-32000, "block range extends beyond current head block"},
		providerError{-32000, "invalid block range params"},
	} {
		t.Run(refusal.Error(), func(t *testing.T) {
			s := openStore(t)
			buy(t, s, "101", 20*usdc, 12*usdc)
			ch := &fakeChain{head: 1_000, maxRange: 1, refusal: refusal}
			w := watcher(t, s, ch, fakeMarkets{"101": {Condition: common.HexToHash("0xc1"), Slots: 2}}, func(o *Options) { o.Chunk = 64 })
			err := w.Round(context.Background())
			if !errors.Is(err, refusal) {
				t.Fatalf("round error %v, want the node's refusal", err)
			}
			if w.Span() != 64 || w.RangeHalvings() != 0 || ch.calls != 1 {
				t.Fatalf("span %d, %d halvings, %d calls: a refusal a smaller range cannot cure shrank the range", w.Span(), w.RangeHalvings(), ch.calls)
			}
		})
	}
}

// A round that fails half-way keeps the blocks it read: the next round resumes after them.
func TestAFailedRoundResumesWhereItStopped(t *testing.T) {
	s := openStore(t)
	buy(t, s, "101", 20*usdc, 12*usdc)
	ch := &failAfter{fakeChain: fakeChain{head: 1_000}, ok: 3}
	w, err := New(Options{Dial: func(context.Context) (Chain, error) { return ch, nil }, Store: s,
		Markets: fakeMarkets{"101": {Condition: common.HexToHash("0xc1"), Slots: 2}}, Lookback: 1_000, Chunk: 100,
		Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Round(context.Background()); err == nil {
		t.Fatal("round succeeded though the node failed its fourth call")
	}
	if cur, _, _ := s.ResolutionCursor(); cur != 299 {
		t.Fatalf("cursor %d after three 100-block calls from block 0, want 299", cur)
	}
}

// failAfter answers ok eth_getLogs calls and then fails every one.
type failAfter struct {
	fakeChain
	ok int
}

func (f *failAfter) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	if f.ok == 0 {
		return nil, errors.New("connection reset by peer")
	}
	f.ok--
	return f.fakeChain.FilterLogs(ctx, q)
}
