package monitor

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/polybot/polybot/internal/dedup"
)

// TransactionReceipt answers like a node: the transaction's logs in its (canonical) block, in
// log order; ethereum.NotFound for a transaction the chain does not hold.
func (c fakeClient) TransactionReceipt(_ context.Context, tx common.Hash) (*types.Receipt, error) {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	var r *types.Receipt
	for i := range c.n.logs {
		l := c.n.logs[i]
		if l.TxHash != tx {
			continue
		}
		if r == nil {
			r = &types.Receipt{TxHash: tx, BlockHash: l.BlockHash, BlockNumber: new(big.Int).SetUint64(l.BlockNumber), Status: types.ReceiptStatusSuccessful}
		}
		if l.BlockHash == r.BlockHash {
			r.Logs = append(r.Logs, &l)
		}
	}
	if r == nil {
		return nil, ethereum.NotFound
	}
	return r, nil
}

// mineTx mines one block holding one transaction with logs, in that log order; live
// subscribers get the logs whose deliver entry is true.
func (n *fakeNode) mineTx(logs []types.Log, deliver []bool) []types.Log {
	n.mu.Lock()
	n.head++
	tx := logs[0].TxHash
	for i := range logs {
		logs[i].BlockNumber, logs[i].BlockHash, logs[i].TxHash, logs[i].Index = n.head, blockHash(n.head), tx, uint(i)
	}
	n.logs = append(n.logs, logs...)
	subs := append([]*fakeSub(nil), n.subs...)
	n.mu.Unlock()
	for i, l := range logs {
		if !deliver[i] {
			continue
		}
		for _, s := range subs {
			if matches(s.q, &l) {
				s.ch <- l
			}
		}
	}
	n.announce()
	return logs
}

// One transaction fills one leader order twice, with different sizes; the subscription delivers
// only the second log, and polybot restarts before any check reads the block. Each fill is
// handed on exactly once, at its own size: its Nth comes from the transaction's receipt, not
// from the order the logs arrived in. (Counted by arrival, the second fill took Nth 0 live; after
// the restart the backfill gave Nth 0 to the first, dropped it as a duplicate, and handed the
// second on again as Nth 1.)
func TestTwoFillsOfOneOrderDeliveredInPartAreEachDecidedOnceAcrossARestart(t *testing.T) {
	node := &fakeNode{}
	cp := &memCheckpoint{}
	seen, err := dedup.New(dedup.Options{}) // what the store's decisions give the next start
	if err != nil {
		t.Fatal(err)
	}
	opts := func(o *Options) { o.Checkpoint = cp; o.Dedup = seen; o.CheckpointEvery = time.Hour }
	first := newHarness(t, node, opts)

	order := common.HexToHash("0x0de7")
	a, b := leaderLog(leader, 3e6), leaderLog(leader, 5e6)
	a.Topics[1], b.Topics[1] = order, order
	fills := node.mineTx([]types.Log{a, b}, []bool{false, true})
	first.sink.wait(t, 1)
	first.stop(t)

	second := newHarness(t, node, opts)
	second.sink.wait(t, 1)
	node.mine(leaderLog(leader, 1e6), true) // anything after: a third fill to wait for
	second.sink.wait(t, 2)
	second.stop(t)

	got := map[uint64]int{} // shares -> times handed on
	nths := map[uint64]uint{}
	for _, s := range []*sink{first.sink, second.sink} {
		s.mu.Lock()
		for _, f := range s.fills {
			if f.TxHash == fills[0].TxHash {
				got[f.Shares]++
				nths[f.Shares] = f.Nth
			}
		}
		s.mu.Unlock()
	}
	if got[3e6] != 1 || got[5e6] != 1 || len(got) != 2 {
		t.Fatalf("fills handed on by size %v, want the 3-share and the 5-share fill once each", got)
	}
	if nths[3e6] != 0 || nths[5e6] != 1 {
		t.Fatalf("Nth by size %v, want 0 for the first log and 1 for the second", nths)
	}
}
