package resolution

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/polybot/polybot/internal/testing/faultproxy"
	"github.com/polybot/polybot/internal/testing/sim"
)

// Behind a provider whose log backend lags its head (faultproxy.Lagging: the first range
// eth_getLogs covering the newest block lacks its logs, the first blockHash read of it is
// empty, its first receipts null), a market resolved in the newest block is still read: the
// cursor does not pass the block until its logs were read bound to it, and the position closes
// at the next round.
func TestALaggingBackendDoesNotLoseAResolution(t *testing.T) {
	s, err := sim.New(sim.Options{Leaders: 1, Markets: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := faultproxy.NewLagging(s.HTTPURL(), "", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	token := s.Markets()[0]
	st := openStore(t)
	buy(t, st, token.String(), 20*usdc, 12*usdc)
	ctx := context.Background()
	w, err := New(Options{
		Dial:    func(ctx context.Context) (Chain, error) { return ethclient.DialContext(ctx, p.URL("http")) },
		Store:   st,
		Markets: fakeMarkets{token.String(): {Condition: sim.ConditionID(token), Outcome: 0, Slots: 2}},
		Now:     func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	commit := func() uint64 {
		t.Helper()
		n, err := s.Commit()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	commit()
	if err := w.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ResolveMarket(token, true); err != nil {
		t.Fatal(err)
	}
	block := commit()
	for round := 1; round <= 3; round++ {
		if err := w.Round(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if cur, _, _ := st.ResolutionCursor(); round == 1 && cur >= block {
			t.Fatalf("round 1 moved the cursor to %d past the resolution's block %d, read from a lagging backend", cur, block)
		}
	}
	if ps, _ := st.Positions(); len(ps) != 0 {
		t.Fatalf("position still open after its market resolved behind a lagging backend: %+v (proxy %+v, bound reads %+v)",
			ps, p.Stats(), w.BoundStats())
	}
	if ls := p.Stats(); ls.Omitted == 0 {
		t.Fatalf("the proxy withheld nothing (%+v): the test did not lag", ls)
	}
	if b := w.BoundStats(); b.Held == 0 || b.BloomEmpty == 0 {
		t.Fatalf("bound reads %+v: want empty blocks proven by their bloom and the resolution's block held once", b)
	}
}

// failOnce fails its first eth_getLogs call after arm is set.
type failOnce struct {
	fakeChain
	arm, failed bool
}

func (f *failOnce) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	if f.arm && !f.failed {
		f.failed = true
		return nil, errors.New("connection reset by peer")
	}
	return f.fakeChain.FilterLogs(ctx, q)
}

// A market learned after its resolution block is read back CatchUp blocks; when that catch-up
// fails, the next round does it again (the market is not learned a second time).
func TestAFailedCatchUpIsDoneAgain(t *testing.T) {
	s := openStore(t)
	ch := &failOnce{fakeChain: fakeChain{head: 1000}}
	cid := common.HexToHash("0xc1")
	w, err := New(Options{Dial: func(context.Context) (Chain, error) { return ch, nil }, Store: s,
		Markets: fakeMarkets{"101": {Condition: cid, Outcome: 0, Slots: 2}}, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Round(context.Background()); err != nil { // cursor at 1000, nothing held
		t.Fatal(err)
	}
	buy(t, s, "101", 10*usdc, 4*usdc)
	ch.resolve(1001, cid, 1, 0)
	if err := w.readResolutions(context.Background(), nil, nil); err != nil { // passes 1001 unknowing
		t.Fatal(err)
	}
	ch.arm = true
	if err := w.Round(context.Background()); err == nil {
		t.Fatal("the round whose catch-up failed reported no error")
	}
	if err := w.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s.Positions(); len(ps) != 0 {
		t.Fatalf("position still open: the failed catch-up was not done again: %+v", ps)
	}
}

// batchCap forwards JSON-RPC to a node and refuses any batch of more than max calls, as
// providers cap batches.
func batchCap(t *testing.T, node string, max int) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		var batch []json.RawMessage
		if json.Unmarshal(body, &batch) == nil && len(batch) > max {
			rw.Header().Set("Content-Type", "application/json")
			_, _ = rw.Write([]byte(`{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch size too large"}}`))
			return
		}
		resp, err := http.Post(node, "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		rw.Header().Set("Content-Type", "application/json")
		_, _ = io.Copy(rw, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// A provider that refuses JSON-RPC batches of more than 10 calls: the header batch is halved
// until it answers, and the resolution is read.
func TestAProviderCappingBatchesStillResolves(t *testing.T) {
	s, err := sim.New(sim.Options{Leaders: 1, Markets: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	url := batchCap(t, s.HTTPURL(), 10)
	token := s.Markets()[0]
	st := openStore(t)
	buy(t, st, token.String(), 20*usdc, 12*usdc)
	for range 30 {
		if _, err := s.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ResolveMarket(token, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	w, err := New(Options{
		Dial:    func(ctx context.Context) (Chain, error) { return ethclient.DialContext(ctx, url) },
		Store:   st,
		Markets: fakeMarkets{token.String(): {Condition: sim.ConditionID(token), Outcome: 0, Slots: 2}},
		Now:     func() time.Time { return t0 },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ps, _ := st.Positions(); len(ps) != 0 {
		t.Fatalf("position open after its market resolved (bound reads %+v, batch %d)", w.BoundStats(), w.batch)
	}
	if w.batch > 10 {
		t.Fatalf("header batch %d, want at most the provider's 10", w.batch)
	}
}
