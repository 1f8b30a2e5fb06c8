package sim

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/polymarket"
)

// startFast runs a FastChain for the test and returns it.
func startFast(t *testing.T, opts FastOptions) *FastChain {
	t.Helper()
	c, err := NewFast(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return c
}

func TestFastChainStreamsLeaderFills(t *testing.T) {
	c := startFast(t, FastOptions{Rate: 2000, BlockInterval: 10 * time.Millisecond, Leaders: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, err := ethclient.DialContext(ctx, c.WSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if id, err := client.ChainID(ctx); err != nil || id.Uint64() != c.ChainID() {
		t.Fatalf("ChainID = %v, %v; want %d", id, err, c.ChainID())
	}

	leader := LeaderAddress(2)
	q := ethereum.FilterQuery{
		Addresses: c.opts.Exchanges,
		Topics:    [][]common.Hash{{polymarket.OrderFilledV2Topic}, nil, {polymarket.LeaderTopic(leader)}},
	}
	logs := make(chan types.Log, 1000)
	sub, err := client.SubscribeFilterLogs(ctx, q, logs)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	heads := make(chan *types.Header, 100)
	hsub, err := client.SubscribeNewHead(ctx, heads)
	if err != nil {
		t.Fatal(err)
	}
	defer hsub.Unsubscribe()

	seen := map[common.Hash]bool{}
	var last types.Log
	for len(seen) < 50 {
		select {
		case l := <-logs:
			f, err := polymarket.DecodeOrderFilled(&l)
			if err != nil {
				t.Fatalf("decode streamed log: %v", err)
			}
			if f.Maker != leader {
				t.Fatalf("subscription for leader %v delivered a fill of %v", leader, f.Maker)
			}
			if seen[l.TxHash] {
				t.Fatalf("transaction hash %v delivered twice", l.TxHash)
			}
			seen[l.TxHash] = true
			last = l
		case err := <-sub.Err():
			t.Fatalf("log subscription: %v", err)
		case <-ctx.Done():
			t.Fatalf("only %d fills streamed", len(seen))
		}
	}
	select {
	case h := <-heads:
		if h.Number.Sign() <= 0 {
			t.Errorf("head number %v", h.Number)
		}
	case <-ctx.Done():
		t.Fatal("no head streamed")
	}

	// The last streamed log is also in eth_getLogs for its block.
	q.FromBlock, q.ToBlock = new(big.Int).SetUint64(last.BlockNumber), new(big.Int).SetUint64(last.BlockNumber)
	got, err := client.FilterLogs(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range got {
		found = found || (l.TxHash == last.TxHash && l.Index == last.Index)
	}
	if !found {
		t.Errorf("eth_getLogs for block %d does not return the streamed log %v", last.BlockNumber, last.TxHash)
	}
	if h, err := client.HeaderByNumber(ctx, nil); err != nil || h.Number.Uint64() < last.BlockNumber {
		t.Errorf("latest header = %v, %v; want at least block %d", h, err, last.BlockNumber)
	}
	if h, err := client.HeaderByNumber(ctx, new(big.Int).SetUint64(last.BlockNumber)); err != nil || h.Hash() != last.BlockHash {
		t.Errorf("header of block %d = %v, %v; want the hash %v its logs carry", last.BlockNumber, h, err, last.BlockHash)
	}
	if _, err := client.HeaderByNumber(ctx, big.NewInt(1<<40)); !errors.Is(err, ethereum.NotFound) {
		t.Errorf("header of a future block: err = %v, want ethereum.NotFound", err)
	}
}

func TestFastChainRefusesTooLargeGetLogs(t *testing.T) {
	c := startFast(t, FastOptions{Rate: 200_000, BlockInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, err := rpc.DialContext(ctx, c.HTTPURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for c.Emitted() < 2*fastMaxResults {
		select {
		case <-ctx.Done():
			t.Fatalf("only %d fills made", c.Emitted())
		case <-time.After(10 * time.Millisecond):
		}
	}
	var logs []types.Log
	err = client.CallContext(ctx, &logs, "eth_getLogs", map[string]any{"fromBlock": "0x0", "toBlock": "latest"})
	if !chain.IsRangeLimited(err) {
		t.Fatalf("eth_getLogs over %d logs: err = %v, want a range-limit error polybot retries with a smaller range", c.Emitted(), err)
	}
	var re rpc.Error
	if !errors.As(err, &re) || re.ErrorCode() != -32005 {
		t.Errorf("error %v has no code -32005", err)
	}
}

func TestNewFastValidates(t *testing.T) {
	for _, o := range []FastOptions{
		{Rate: -1},
		{Rate: FastMaxRate + 1},
		{BlockInterval: time.Microsecond},
		{Host: "10.0.0.1"},
	} {
		if c, err := NewFast(o); err == nil {
			c.closeServers()
			t.Errorf("NewFast(%+v) succeeded", o)
		}
	}
}

// A fast chain's fill has a receipt, as on a node: its block, its one log; a transaction the
// chain does not hold has none. (polybot reads a fill's Nth and a reorg's effects from receipts.)
func TestFastChainServesReceipts(t *testing.T) {
	c := startFast(t, FastOptions{Rate: 2000, BlockInterval: 10 * time.Millisecond, Leaders: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, err := ethclient.DialContext(ctx, c.WSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var logs []types.Log
	for len(logs) == 0 {
		if logs, err = client.FilterLogs(ctx, ethereum.FilterQuery{Addresses: c.opts.Exchanges}); err != nil {
			t.Fatal(err)
		}
		if ctx.Err() != nil {
			t.Fatal("no fills")
		}
	}
	l := logs[0]
	r, err := client.TransactionReceipt(ctx, l.TxHash)
	if err != nil {
		t.Fatal(err)
	}
	if r.BlockHash != l.BlockHash || r.Status != types.ReceiptStatusSuccessful || len(r.Logs) != 1 || r.Logs[0].Index != l.Index {
		t.Fatalf("receipt %+v does not hold the log %+v", r, l)
	}
	h, err := client.HeaderByNumber(ctx, new(big.Int).SetUint64(l.BlockNumber))
	if err != nil || h.Hash() != l.BlockHash {
		t.Fatalf("header of block %d: %v (%v), want hash %v", l.BlockNumber, h, err, l.BlockHash)
	}
	if _, err := client.TransactionReceipt(ctx, common.HexToHash("0x5eed")); !errors.Is(err, ethereum.NotFound) {
		t.Fatalf("receipt of an unknown transaction: %v, want not found", err)
	}
}
