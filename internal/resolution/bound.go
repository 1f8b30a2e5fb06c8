package resolution

// This file makes the watcher's cursor pass a block only after the block's ConditionResolution
// logs were read in a way bound to that block, as the wallet monitor does for leader fills
// (internal/monitor/bound.go; docs/design.md "Log reads bound to their block"). A range
// eth_getLogs answer is a first report: a load-balanced provider whose log backend lags its
// head answers a range that covers its newest block without that block's logs, and a resolution
// missed so would leave its positions open for good. So for every block the cursor is to pass
// the watcher fetches the header and
//   - proves the block holds no resolution of a held market when its logsBloom lacks the CTF's
//     address, the ConditionResolution topic, or every held condition id;
//   - else reads the CTF's logs of the block with eth_getLogs{blockHash} (EIP-234): any log in
//     the answer carrying the block's hash shows the answering backend holds the block, and a
//     node stores a block's logs as one record, so the answer is the whole set;
//   - else (an empty answer while the bloom says "maybe") reads the block's receipts by hash and
//     checks them against the header's receiptsRoot;
//   - else the block holds the cursor, and is read again at the next round.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/ethereum/go-ethereum/trie"

	"github.com/polybot/polybot/internal/polymarket"
)

// errHeld says a block's resolutions could not be read bound to it: the cursor stays before it.
var errHeld = errors.New("resolutions not read bound to their block")

// headerBatch is the most headers fetched in one JSON-RPC batch.
const headerBatch = 100

// boundHead is what the bound read needs of a header: the hash the node gave for it (what its
// logs carry; never recomputed, so chains whose headers geth's types cannot hash still work),
// its parent, its bloom and its receipts root.
type boundHead struct {
	Number       hexutil.Uint64 `json:"number"`
	Hash         common.Hash    `json:"hash"`
	ParentHash   common.Hash    `json:"parentHash"`
	Bloom        types.Bloom    `json:"logsBloom"`
	ReceiptsRoot common.Hash    `json:"receiptsRoot"`
}

// BoundStats counts the watcher's bound reads.
type BoundStats struct {
	Blocks     uint64 // blocks read bound
	BloomEmpty uint64 // of them, proven free of held markets' resolutions by the bloom
	ByHash     uint64 // read with eth_getLogs{blockHash}
	ByReceipts uint64 // read from receipts checked against the receipts root
	Held       uint64 // reads that stopped at a block not read bound (the cursor waited)
}

// BoundStats returns the bound-read counters. Call it from the goroutine that runs the watcher
// (or after Run returned).
func (w *Watcher) BoundStats() BoundStats { return w.bstats }

// headers returns the headers of blocks from..to, batched when the connection exposes its raw
// RPC client.
func (w *Watcher) headers(ctx context.Context, c Chain, from, to uint64) ([]*boundHead, error) {
	cctx, cancel := context.WithTimeout(ctx, w.opts.RPCTimeout)
	defer cancel()
	if rc, ok := c.(interface{ Client() *rpc.Client }); ok && rc.Client() != nil {
		hs := make([]*boundHead, to-from+1)
		b := make([]rpc.BatchElem, len(hs))
		for i := range b {
			b[i] = rpc.BatchElem{Method: "eth_getBlockByNumber", Args: []any{hexutil.Uint64(from + uint64(i)), false}, Result: &hs[i]}
		}
		if err := rc.Client().BatchCallContext(cctx, b); err != nil {
			return nil, err
		}
		for i := range b {
			if b[i].Error != nil {
				return nil, b[i].Error
			}
		}
		return hs, nil
	}
	hs := make([]*boundHead, 0, to-from+1)
	for n := from; n <= to; n++ {
		h, err := c.HeaderByNumber(cctx, new(big.Int).SetUint64(n))
		if err != nil {
			return nil, err
		}
		if h == nil || h.Number == nil {
			hs = append(hs, nil)
			continue
		}
		hs = append(hs, &boundHead{Number: hexutil.Uint64(h.Number.Uint64()), Hash: h.Hash(), ParentHash: h.ParentHash,
			Bloom: h.Bloom, ReceiptsRoot: h.ReceiptHash})
	}
	return hs, nil
}

// mayHold says whether bloom admits a ConditionResolution log of the CTF for one of conditions:
// every log sets the bloom bits of its address and each of its topics.
func (w *Watcher) mayHold(bloom types.Bloom, conditions []common.Hash) bool {
	if !bloom.Test(w.opts.CTF.Bytes()) || !bloom.Test(polymarket.ConditionResolutionTopic.Bytes()) {
		return false
	}
	return slices.ContainsFunc(conditions, func(h common.Hash) bool { return bloom.Test(h.Bytes()) })
}

// bound reads the held markets' resolutions of blocks from..to bound to each block, in order,
// hands each resolution log to each, and calls passed after every block read so. It stops at
// the first block it cannot read bound, with an error wrapping errHeld.
func (w *Watcher) bound(ctx context.Context, c Chain, from, to uint64, conditions []common.Hash,
	each func(*types.Log) error, passed func(block uint64) error) error {
	var prev common.Hash
	if w.batch == 0 {
		w.batch = headerBatch
	}
	for lo := from; lo <= to; {
		hi := min(to, lo+w.batch-1)
		hs, err := w.headers(ctx, c, lo, hi)
		if err != nil && hi > lo {
			// Providers cap JSON-RPC batches (some free tiers far below 100): a refused batch
			// is halved and asked again.
			w.batch = max(w.batch/2, 1)
			continue
		}
		if err != nil {
			return w.hold(lo, fmt.Errorf("headers %d-%d: %w", lo, hi, err))
		}
		for i, h := range hs {
			n := lo + uint64(i)
			switch {
			case h == nil || uint64(h.Number) != n || h.Hash == (common.Hash{}):
				return w.hold(n, errors.New("header missing or for another block"))
			case prev != (common.Hash{}) && h.ParentHash != prev:
				// One chain: headers answered from two forks are read again, not mixed.
				return w.hold(n, fmt.Errorf("header's parent %s is not block %d's hash %s (reorg)", h.ParentHash, n-1, prev))
			}
			prev = h.Hash
			w.bstats.Blocks++
			if !w.mayHold(h.Bloom, conditions) {
				w.bstats.BloomEmpty++
			} else {
				logs, err := w.blockLogs(ctx, c, h)
				if err != nil {
					return w.hold(n, err)
				}
				for j := range logs {
					l := &logs[j]
					if l.Address == w.opts.CTF && len(l.Topics) > 1 && l.Topics[0] == polymarket.ConditionResolutionTopic &&
						slices.Contains(conditions, l.Topics[1]) {
						if err := each(l); err != nil {
							return err
						}
					}
				}
			}
			if err := passed(n); err != nil {
				return err
			}
		}
		lo = hi + 1
	}
	return nil
}

// blockLogs returns the CTF's logs of h's block, read bound to it.
func (w *Watcher) blockLogs(ctx context.Context, c Chain, h *boundHead) ([]types.Log, error) {
	hash := h.Hash
	cctx, cancel := context.WithTimeout(ctx, w.opts.RPCTimeout)
	// Every CTF log, not only resolutions: an answer with any log in it shows the backend holds
	// the block (on Polygon nearly every block holds the CTF's transfers).
	got, err := c.FilterLogs(cctx, ethereum.FilterQuery{BlockHash: &hash, Addresses: []common.Address{w.opts.CTF}})
	cancel()
	if err != nil { // geth answers "unknown block" for a block it does not hold
		return nil, fmt.Errorf("logs of block %d by hash: %w", uint64(h.Number), err)
	}
	var bound []types.Log
	for _, l := range got {
		if l.BlockHash == h.Hash && l.BlockNumber == uint64(h.Number) && !l.Removed {
			bound = append(bound, l)
		}
	}
	if len(bound) > 0 {
		w.bstats.ByHash++
		return bound, nil
	}
	rs, err := w.receipts(ctx, c, h)
	if err != nil {
		return nil, err
	}
	w.bstats.ByReceipts++
	for _, r := range rs {
		for _, l := range r.Logs {
			if l != nil {
				bound = append(bound, *l)
			}
		}
	}
	return bound, nil
}

// receiptReader is the optional eth_getBlockReceipts of a connection (ethclient has it).
type receiptReader interface {
	BlockReceipts(ctx context.Context, blockNrOrHash rpc.BlockNumberOrHash) ([]*types.Receipt, error)
}

// receipts returns the receipts of h's block, checked against its receiptsRoot. Bor's state-sync
// receipt is not in the root: its transaction hash is keccak256("matic-bor-receipt-" ‖ number (8
// bytes, big endian) ‖ block hash) (maticnetwork/bor core/types/bor_receipt.go), and it is left
// out of the check.
func (w *Watcher) receipts(ctx context.Context, c Chain, h *boundHead) (types.Receipts, error) {
	n := uint64(h.Number)
	rr, ok := c.(receiptReader)
	if !ok {
		return nil, fmt.Errorf("block %d: empty answer by hash, and the connection cannot read receipts", n)
	}
	cctx, cancel := context.WithTimeout(ctx, w.opts.RPCTimeout)
	rs, err := rr.BlockReceipts(cctx, rpc.BlockNumberOrHashWithHash(h.Hash, false))
	cancel()
	if err != nil {
		return nil, fmt.Errorf("receipts of block %d: %w", n, err)
	}
	if rs == nil {
		return nil, fmt.Errorf("receipts of block %d: not found", n)
	}
	key := append([]byte("matic-bor-receipt-"), binary.BigEndian.AppendUint64(nil, n)...)
	stateSync := crypto.Keccak256Hash(append(key, h.Hash.Bytes()...))
	rooted := make(types.Receipts, 0, len(rs))
	for _, r := range rs {
		if r == nil {
			return nil, fmt.Errorf("receipts of block %d: null receipt", n)
		}
		if r.BlockHash != (common.Hash{}) && r.BlockHash != h.Hash {
			return nil, fmt.Errorf("receipts of block %d: a receipt of block %s", n, r.BlockHash)
		}
		if r.TxHash != stateSync {
			rooted = append(rooted, r)
		}
	}
	if root := types.DeriveSha(rooted, trie.NewStackTrie(nil)); root != h.ReceiptsRoot {
		return nil, fmt.Errorf("receipts of block %d: root %s is not the header's %s (a partial or foreign answer)", n, root, h.ReceiptsRoot)
	}
	return rs, nil
}

// hold counts a block not read bound and returns the error that says so.
func (w *Watcher) hold(block uint64, cause error) error {
	w.bstats.Held++
	return fmt.Errorf("%w: block %d: %w", errHeld, block, cause)
}
