package monitor

// This file reads the leaders' logs of each block in a way bound to that block, and is the only
// thing that moves the checkpoint when leaders are watched. A range eth_getLogs answer is a
// first report: a load-balanced provider whose log backend lags its head answers a range that
// covers its newest block without that block's logs. So for every block the checkpoint is to
// pass the monitor fetches its header (batched) and
//   - proves the block empty when the header's logsBloom rules out an OrderFilled log of a
//     configured exchange with a leader as maker;
//   - else reads the exchanges' OrderFilled logs with eth_getLogs{blockHash} (EIP-234). Any log
//     in the answer, carrying the block's hash, shows the answering backend holds the block, and
//     a node stores a block's logs as one record (the receipts of the block, written with it),
//     so the answer is the whole set;
//   - else (an empty answer while the bloom says "maybe") reads the block's receipts with
//     eth_getBlockReceipts by hash and checks them against the header's receiptsRoot: a
//     receipts list that hashes to the root is the block's, whoever answered;
//   - else the block holds the checkpoint, to be read again at the next check.
// docs/design.md ("Log reads bound to their block") argues it and states the RPC cost.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/ethereum/go-ethereum/trie"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/polymarket"
)

// boundBatch is the most calls sent in one JSON-RPC batch. Providers cap batches (Alchemy and
// Infura at 1000 calls over HTTP, some free tiers far lower); a refused batch halves it.
const boundBatch = 100

// errHeld says a block's logs could not be read bound to it: the checkpoint stays before it.
var errHeld = errors.New("logs not read bound to their block")

// blockHead is what the bound read needs of a header: the hash the node gave for it (what its
// logs carry; never recomputed, so chains whose headers geth's types cannot hash still work),
// its parent, its bloom and its receipts root.
type blockHead struct {
	Number       hexutil.Uint64 `json:"number"`
	Hash         common.Hash    `json:"hash"`
	ParentHash   common.Hash    `json:"parentHash"`
	Bloom        types.Bloom    `json:"logsBloom"`
	ReceiptsRoot common.Hash    `json:"receiptsRoot"`
}

// blockSource fetches what a bound read needs. rpcSource batches through the node's
// *rpc.Client; clientSource makes one call each through chain.Client (clients without a raw
// RPC connection, such as test doubles).
type blockSource interface {
	headers(ctx context.Context, from, to uint64) ([]*blockHead, error)
	logsByHash(ctx context.Context, q ethereum.FilterQuery, hashes []common.Hash) ([][]types.Log, []error)
	receipts(ctx context.Context, hash common.Hash) (types.Receipts, error)
}

// receiptReader is the optional eth_getBlockReceipts of a chain.Client (ethclient has it).
type receiptReader interface {
	BlockReceipts(ctx context.Context, blockNrOrHash rpc.BlockNumberOrHash) ([]*types.Receipt, error)
}

func (m *Monitor) source(c chain.Client) blockSource {
	if rc, ok := c.(interface{ Client() *rpc.Client }); ok && rc.Client() != nil {
		return &rpcSource{m: m, c: rc.Client()}
	}
	return &clientSource{m: m, c: c}
}

// boundStats counts the bound reads: blocks proven empty by their bloom, read by hash, read from
// receipts, and held; calls counts every RPC call made (batch elements one each).
type boundStats struct {
	blocks, bloomEmpty, byHash, byReceipts, held, calls, requests atomic.Uint64
}

// BoundStats counts the monitor's reads of blocks' logs bound to their block.
type BoundStats struct {
	Blocks     uint64 // blocks read bound (each once per read)
	BloomEmpty uint64 // of them, proven empty by the header's logsBloom
	ByHash     uint64 // read with eth_getLogs{blockHash}
	ByReceipts uint64 // read from receipts checked against the receipts root
	Held       uint64 // reads that stopped at a block not read bound (the checkpoint waited)
	Calls      uint64 // RPC calls the bound reads made (each element of a batch counts)
	Requests   uint64 // round trips they took (a batch is one)
}

// BoundStats returns the bound-read counters.
func (m *Monitor) BoundStats() BoundStats {
	b := &m.bstats
	return BoundStats{Blocks: b.blocks.Load(), BloomEmpty: b.bloomEmpty.Load(), ByHash: b.byHash.Load(),
		ByReceipts: b.byReceipts.Load(), Held: b.held.Load(), Calls: b.calls.Load(), Requests: b.requests.Load()}
}

// bind reads the leaders' logs of blocks from..to bound to each block, hands each leader fill to
// each in chain order, and moves the checkpoint over every block read so. It stops before the
// first block it cannot read bound (an error wrapping errHeld) or whose fill each refuses (that
// error): the checkpoint stays before that block.
func (m *Monitor) bind(ctx context.Context, c chain.Client, leaders []common.Address, from, to uint64, each func(*types.Log) error) error {
	to = min(to, m.safe(m.head.Load(), 0))
	if from > to {
		return nil
	}
	src := m.source(c)
	want := m.watched(leaders)
	var prev common.Hash
	if m.passed.number+1 == from && from > 0 {
		prev = m.passed.hash // the seam with the block the checkpoint passed last
	}
	for from <= to {
		end := min(from+m.batchSize()-1, to)
		hs, err := src.headers(ctx, from, end)
		if err != nil {
			return m.hold(from, fmt.Errorf("headers %d-%d: %w", from, end, err))
		}
		// The blocks before a bad header are read; the bad one holds the read.
		var broken error
		for i, h := range hs {
			n := from + uint64(i)
			if h == nil || uint64(h.Number) != n || h.Hash == (common.Hash{}) {
				broken = m.hold(n, errors.New("header missing or for another block"))
			} else if (i > 0 || prev != common.Hash{}) && h.ParentHash != prev {
				// One chain: a batch answered from two forks (or a reorg between batches) is
				// read again rather than mixed.
				broken = m.hold(n, fmt.Errorf("header's parent %s is not block %d's hash %s (reorg)", h.ParentHash, n-1, prev))
				if n == m.passed.number+1 {
					m.reorgBelow(n)
				}
			}
			if broken != nil {
				hs = hs[:i]
				break
			}
			prev = h.Hash
		}
		logs, stop, cause := m.readBlocks(ctx, src, hs, want)
		for i, h := range hs {
			if i == stop {
				m.pass(hs[:i])
				return m.hold(uint64(h.Number), cause)
			}
			for j := range logs[i] {
				if err := each(&logs[i][j]); err != nil {
					m.pass(hs[:i])
					return err
				}
			}
		}
		m.pass(hs)
		if broken != nil {
			return broken
		}
		from = end + 1
	}
	return nil
}

// passedBlock is the last block the checkpoint passed by a bound read: the seam the next read's
// first header must chain to.
type passedBlock struct {
	number uint64
	hash   common.Hash
}

// pass moves the checkpoint over the blocks of hs (read bound, in order) and remembers the last.
func (m *Monitor) pass(hs []*blockHead) {
	if len(hs) == 0 {
		return
	}
	last := hs[len(hs)-1]
	m.advance(uint64(last.Number))
	m.passed = passedBlock{number: uint64(last.Number), hash: last.Hash}
}

// reorgReread is how many blocks below a reorged checkpoint are read again. Polygon's reorgs
// since its milestones (PIP-11) stay far below it.
const reorgReread = 256

// reorgBelow handles a reorg that replaced the block the checkpoint passed last: the blocks
// below it are read again, bound to the new chain (the dedup cache drops what was handled).
func (m *Monitor) reorgBelow(n uint64) {
	back := uint64(1)
	if n > reorgReread {
		back = n - reorgReread
	}
	m.log.Warn("a reorg replaced blocks the checkpoint had passed; reading them again",
		zap.Uint64("from", back), zap.Uint64("to", n-1))
	m.next.Store(back)
	m.passed = passedBlock{}
}

// watch is what a bound read looks for: OrderFilled logs of the exchanges with a leader as maker.
type watch struct {
	exchanges []common.Address
	leaders   map[common.Hash]bool
}

func (m *Monitor) watched(leaders []common.Address) watch {
	w := watch{exchanges: m.opts.Exchanges, leaders: make(map[common.Hash]bool, len(leaders))}
	for _, l := range leaders {
		w.leaders[polymarket.LeaderTopic(l)] = true
	}
	return w
}

var filledTopics = []common.Hash{polymarket.OrderFilledV2Topic, polymarket.OrderFilledV1Topic}

// mayHold says whether bloom admits an OrderFilled log of an exchange with a leader as maker:
// every log sets the bloom bits of its address and each of its topics, so a block whose bloom
// lacks the bits of every exchange, or of both event topics, or of every leader, holds none.
func (w watch) mayHold(bloom types.Bloom) bool {
	anyOf := func(items []common.Hash) bool {
		return slices.ContainsFunc(items, func(h common.Hash) bool { return bloom.Test(h.Bytes()) })
	}
	if !slices.ContainsFunc(w.exchanges, func(a common.Address) bool { return bloom.Test(a.Bytes()) }) || !anyOf(filledTopics) {
		return false
	}
	for t := range w.leaders {
		if bloom.Test(t.Bytes()) {
			return true
		}
	}
	return false
}

// keep says whether l is one of the watched logs (a leader's OrderFilled on an exchange).
func (w watch) keep(l *types.Log) bool {
	return slices.Contains(w.exchanges, l.Address) && len(l.Topics) >= 3 &&
		slices.Contains(filledTopics, l.Topics[0]) && w.leaders[l.Topics[2]]
}

// readBlocks returns the watched logs of each header's block, sorted by index. stop is the index
// of the first block not read bound (len(hs) when all were), cause why.
func (m *Monitor) readBlocks(ctx context.Context, src blockSource, hs []*blockHead, w watch) (logs [][]types.Log, stop int, cause error) {
	logs = make([][]types.Log, len(hs))
	stop = len(hs)
	var maybe []int
	for i, h := range hs {
		m.bstats.blocks.Add(1)
		if w.mayHold(h.Bloom) {
			maybe = append(maybe, i)
		} else {
			m.bstats.bloomEmpty.Add(1)
		}
	}
	if len(maybe) == 0 {
		return logs, stop, nil
	}
	hashes := make([]common.Hash, len(maybe))
	for k, i := range maybe {
		hashes[k] = hs[i].Hash
	}
	// Every OrderFilled of the exchanges, not only the leaders': an answer with any log in it
	// shows the backend holds the block (see the top of the file).
	q := ethereum.FilterQuery{Addresses: w.exchanges, Topics: [][]common.Hash{filledTopics}}
	got, errs := src.logsByHash(ctx, q, hashes)
	for k, i := range maybe {
		h := hs[i]
		if errs[k] != nil { // geth answers "unknown block" for a block it does not hold
			return logs, i, fmt.Errorf("logs by hash: %w", errs[k])
		}
		var bound []types.Log
		for _, l := range got[k] {
			if l.BlockHash == h.Hash && l.BlockNumber == uint64(h.Number) && !l.Removed {
				bound = append(bound, l)
			}
		}
		if len(bound) > 0 {
			m.bstats.byHash.Add(1)
		} else {
			rs, err := m.boundReceipts(ctx, src, h)
			if err != nil {
				return logs, i, err
			}
			m.bstats.byReceipts.Add(1)
			for _, r := range rs {
				for _, l := range r.Logs {
					if l != nil {
						bound = append(bound, *l)
					}
				}
			}
		}
		for _, l := range bound {
			if w.keep(&l) {
				logs[i] = append(logs[i], l)
			}
		}
		slices.SortFunc(logs[i], func(a, b types.Log) int { return cmpU(uint64(a.Index), uint64(b.Index)) })
	}
	return logs, stop, nil
}

// boundReceipts returns the receipts of h's block, checked against its receiptsRoot. Bor appends
// a state-sync receipt to a block's receipts that is not in the receipts root; its transaction
// hash is keccak256("matic-bor-receipt-" ‖ number (8 bytes, big endian) ‖ block hash)
// (maticnetwork/bor core/types/bor_receipt.go, GetDerivedBorTxHash), so it is left out of the
// root check (its logs are the state-sync contract's, never an exchange's).
func (m *Monitor) boundReceipts(ctx context.Context, src blockSource, h *blockHead) (types.Receipts, error) {
	rs, err := src.receipts(ctx, h.Hash)
	if err != nil {
		return nil, fmt.Errorf("receipts of block %d: %w", uint64(h.Number), err)
	}
	if rs == nil {
		return nil, fmt.Errorf("receipts of block %d: not found", uint64(h.Number))
	}
	key := append([]byte("matic-bor-receipt-"), binary.BigEndian.AppendUint64(nil, uint64(h.Number))...)
	stateSync := crypto.Keccak256Hash(append(key, h.Hash.Bytes()...))
	rooted := make(types.Receipts, 0, len(rs))
	for _, r := range rs {
		if r == nil {
			return nil, fmt.Errorf("receipts of block %d: null receipt", uint64(h.Number))
		}
		if r.BlockHash != (common.Hash{}) && r.BlockHash != h.Hash {
			return nil, fmt.Errorf("receipts of block %d: a receipt of block %s", uint64(h.Number), r.BlockHash)
		}
		if r.TxHash != stateSync {
			rooted = append(rooted, r)
		}
	}
	if root := types.DeriveSha(rooted, trie.NewStackTrie(nil)); root != h.ReceiptsRoot {
		return nil, fmt.Errorf("receipts of block %d: root %s is not the header's %s (a partial or foreign answer)",
			uint64(h.Number), root, h.ReceiptsRoot)
	}
	return rs, nil
}

// heldWarnAfter is how long one block may hold the checkpoint before it is logged as a warning:
// behind a lagging provider nearly every new block holds once, for a block time or so.
const heldWarnAfter = time.Minute

// hold counts a block not read bound and returns the error that says so.
func (m *Monitor) hold(block uint64, cause error) error {
	m.bstats.held.Add(1)
	now := m.clock.Now()
	if m.held.number != block || m.held.since == 0 {
		m.held = heldBlock{number: block, since: now}
	}
	msg := "block's logs not read bound to it; the checkpoint stays before it and it is read again"
	if d := now.Sub(m.held.since); d >= heldWarnAfter {
		m.warn.Warn(msg, zap.Uint64("block", block), zap.Duration("for", d.Round(time.Second)), zap.Error(cause))
	} else {
		m.log.Debug(msg, zap.Uint64("block", block), zap.Error(cause))
	}
	return fmt.Errorf("%w: block %d: %w", errHeld, block, cause)
}

// heldBlock is the block holding the checkpoint now, and since when.
type heldBlock struct {
	number uint64
	since  mclock.AbsTime
}

func (m *Monitor) batchSize() uint64 {
	if m.batch == 0 {
		m.batch = boundBatch
	}
	return m.batch
}

// shrinkBatch halves the batch after the node refused a whole batch.
func (m *Monitor) shrinkBatch() { m.batch = max(m.batchSize()/2, 1) }

// rpcSource reads through the node's raw RPC connection, in batches.
type rpcSource struct {
	m *Monitor
	c *rpc.Client
}

func (s *rpcSource) call(ctx context.Context, b []rpc.BatchElem) error {
	rctx, cancel := context.WithTimeout(ctx, s.m.opts.RPCTimeout)
	defer cancel()
	s.m.bstats.calls.Add(uint64(len(b)))
	s.m.bstats.requests.Add(1)
	err := s.c.BatchCallContext(rctx, b)
	if err != nil && len(b) > 1 {
		s.m.shrinkBatch()
	}
	return err
}

func (s *rpcSource) headers(ctx context.Context, from, to uint64) ([]*blockHead, error) {
	hs := make([]*blockHead, to-from+1)
	b := make([]rpc.BatchElem, len(hs))
	for i := range b {
		b[i] = rpc.BatchElem{Method: "eth_getBlockByNumber", Args: []any{hexutil.Uint64(from + uint64(i)), false}, Result: &hs[i]}
	}
	if err := s.call(ctx, b); err != nil {
		return nil, err
	}
	for i := range b {
		if b[i].Error != nil {
			return nil, b[i].Error
		}
	}
	return hs, nil
}

func (s *rpcSource) logsByHash(ctx context.Context, q ethereum.FilterQuery, hashes []common.Hash) ([][]types.Log, []error) {
	out := make([][]types.Log, len(hashes))
	errs := make([]error, len(hashes))
	for start := 0; start < len(hashes); start += int(s.m.batchSize()) {
		end := min(start+int(s.m.batchSize()), len(hashes))
		b := make([]rpc.BatchElem, end-start)
		for i := range b {
			b[i] = rpc.BatchElem{Method: "eth_getLogs", Args: []any{byHashArg(q, hashes[start+i])}, Result: &out[start+i]}
		}
		err := s.call(ctx, b)
		for i := range b {
			errs[start+i] = b[i].Error
			if err != nil {
				errs[start+i] = err
			}
		}
	}
	return out, errs
}

func byHashArg(q ethereum.FilterQuery, hash common.Hash) map[string]any {
	return map[string]any{"blockHash": hash, "address": q.Addresses, "topics": q.Topics}
}

func (s *rpcSource) receipts(ctx context.Context, hash common.Hash) (types.Receipts, error) {
	var rs types.Receipts
	b := []rpc.BatchElem{{Method: "eth_getBlockReceipts", Args: []any{hash}, Result: &rs}}
	if err := s.call(ctx, b); err != nil {
		return nil, err
	}
	return rs, b[0].Error
}

// clientSource reads through chain.Client, one call each.
type clientSource struct {
	m *Monitor
	c chain.Client
}

func (s *clientSource) headers(ctx context.Context, from, to uint64) ([]*blockHead, error) {
	hs := make([]*blockHead, 0, to-from+1)
	for n := from; n <= to; n++ {
		rctx, cancel := context.WithTimeout(ctx, s.m.opts.RPCTimeout)
		s.m.bstats.calls.Add(1)
		s.m.bstats.requests.Add(1)
		h, err := s.c.HeaderByNumber(rctx, new(big.Int).SetUint64(n))
		cancel()
		if err != nil {
			return nil, err
		}
		if h == nil || h.Number == nil {
			hs = append(hs, nil)
			continue
		}
		hs = append(hs, &blockHead{Number: hexutil.Uint64(h.Number.Uint64()), Hash: h.Hash(), ParentHash: h.ParentHash,
			Bloom: h.Bloom, ReceiptsRoot: h.ReceiptHash})
	}
	return hs, nil
}

func (s *clientSource) logsByHash(ctx context.Context, q ethereum.FilterQuery, hashes []common.Hash) ([][]types.Log, []error) {
	out := make([][]types.Log, len(hashes))
	errs := make([]error, len(hashes))
	for i, h := range hashes {
		rctx, cancel := context.WithTimeout(ctx, s.m.opts.RPCTimeout)
		s.m.bstats.calls.Add(1)
		s.m.bstats.requests.Add(1)
		q.BlockHash = &h
		out[i], errs[i] = s.c.FilterLogs(rctx, q)
		cancel()
	}
	return out, errs
}

func (s *clientSource) receipts(ctx context.Context, hash common.Hash) (types.Receipts, error) {
	r, ok := s.c.(receiptReader)
	if !ok {
		return nil, errors.New("the client cannot read block receipts")
	}
	rctx, cancel := context.WithTimeout(ctx, s.m.opts.RPCTimeout)
	defer cancel()
	s.m.bstats.calls.Add(1)
	s.m.bstats.requests.Add(1)
	return r.BlockReceipts(rctx, rpc.BlockNumberOrHashWithHash(hash, false))
}
