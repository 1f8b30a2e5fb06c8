package monitor

// This file gives each leader fill its Nth: how many earlier fills of the same order its
// transaction made. With the transaction hash and the order hash it is the fill's identity (the
// dedup key, the intent id), so it must not depend on which logs of a transaction polybot
// happened to receive, or in what order: it is read from the transaction's receipt, the
// chain's own list of the transaction's logs, bound to the log's block.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/polybot/polybot/internal/polymarket"
)

// errReceipt is a receipt that could not be read, or that does not belong to the log's block
// (a reorg in between, or a node whose receipts lag its logs). The fill is not handed on; the
// session reconnects and reads it again.
var errReceipt = errors.New("transaction receipt")

// receiptKey is one transaction in one block.
type receiptKey struct{ block, tx common.Hash }

// orderFills is, for one transaction in one block, the log indexes of its OrderFilled logs per
// exchange and order hash, ascending.
type orderFills map[exOrder][]uint

type exOrder struct {
	exchange common.Address
	order    common.Hash
}

// receiptsKept bounds the receipt cache: the leader transactions of a few hundred blocks. A
// removed log finds its old block's receipt here (the node no longer serves it).
const receiptsKept = 1024

// receiptCache keeps the OrderFilled log indexes of recent receipts, oldest evicted first.
type receiptCache struct {
	m     map[receiptKey]orderFills
	order []receiptKey
}

func (c *receiptCache) get(k receiptKey) (orderFills, bool) {
	f, ok := c.m[k]
	return f, ok
}

func (c *receiptCache) put(k receiptKey, f orderFills) {
	if c.m == nil {
		c.m = make(map[receiptKey]orderFills)
	}
	if _, ok := c.m[k]; ok {
		return
	}
	if len(c.order) >= receiptsKept {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[k] = f
	c.order = append(c.order, k)
}

// fillsOf lists the OrderFilled logs of a receipt by exchange and order. A log that does not
// decode is left out, as the monitor skips it.
func fillsOf(r *types.Receipt) orderFills {
	out := make(orderFills)
	for _, l := range r.Logs {
		if l == nil {
			continue
		}
		f, err := polymarket.DecodeOrderFilled(l)
		if err != nil {
			continue
		}
		k := exOrder{f.Exchange, f.OrderHash}
		out[k] = append(out[k], l.Index)
	}
	for _, idx := range out {
		slices.Sort(idx)
	}
	return out
}

// nth returns the Nth of l's fill of order: how many OrderFilled logs of the same exchange and
// order its transaction emitted before it (lower log index), from the transaction's receipt.
// The receipt must come from l's block (its block hash equal to l's): a receipt of another
// block, or none, is an error, and the fill waits for the next read. A reorg that includes the
// transaction again, in another block at other log indexes, counts its fills again from its
// receipt there, so each gets the Nth, and the dedup key and intent id, it had before.
//
// A removed log's block is no longer the node's: its Nth comes from the receipt read when the
// fill arrived (cached), else from the removed logs of that block in the order they came (a
// node sends all of them, in order).
func (m *Monitor) nth(ctx context.Context, l *types.Log, order common.Hash) (uint, error) {
	k := receiptKey{l.BlockHash, l.TxHash}
	fills, ok := m.receipts.get(k)
	if !ok && l.Removed {
		return m.nthSeen(l, order), nil
	}
	if !ok {
		var err error
		if fills, err = m.readReceipt(ctx, l); err != nil {
			return 0, err
		}
		m.receipts.put(k, fills)
	}
	idx := fills[exOrder{l.Address, order}]
	i, found := slices.BinarySearch(idx, l.Index)
	if !found {
		return 0, fmt.Errorf("%w of %v: log %d of block %v is not one of its fills of order %v", errReceipt, l.TxHash, l.Index, l.BlockHash, order)
	}
	return uint(i), nil
}

// readReceipt reads l's transaction receipt and checks that it is of l's block.
func (m *Monitor) readReceipt(ctx context.Context, l *types.Log) (orderFills, error) {
	if m.client == nil {
		return nil, fmt.Errorf("%w of %v: not connected", errReceipt, l.TxHash)
	}
	rctx, cancel := context.WithTimeout(ctx, m.opts.RPCTimeout)
	defer cancel()
	r, err := m.client.TransactionReceipt(rctx, l.TxHash)
	switch {
	case errors.Is(err, ethereum.NotFound) || (err == nil && r == nil):
		return nil, fmt.Errorf("%w of %v (block %d): not found", errReceipt, l.TxHash, l.BlockNumber)
	case err != nil:
		return nil, fmt.Errorf("%w of %v: %w", errReceipt, l.TxHash, err)
	case r.BlockHash != l.BlockHash:
		return nil, fmt.Errorf("%w of %v is of block %v, its log of block %v (a reorg)", errReceipt, l.TxHash, r.BlockHash, l.BlockHash)
	}
	return fillsOf(r), nil
}

// ordKey is one order's fills in one transaction of one block.
type ordKey struct{ block, tx, order common.Hash }

// ordEntry lists the log indexes of an ordKey's removed fills in the order they came: a fill's
// Nth is its position in it.
type ordEntry struct {
	number uint64
	idx    []uint
}

// ordsKept bounds the removed logs' bookkeeping: the fills of a few hundred recent blocks.
const ordsKept = 4096

// nthSeen is the Nth of a removed log whose block's receipt is not cached: its position among
// the removed fills of the same order and transaction of that block, in the order they came.
func (m *Monitor) nthSeen(l *types.Log, order common.Hash) uint {
	k := ordKey{l.BlockHash, l.TxHash, order}
	e := m.ords[k]
	if e == nil {
		if m.ords == nil {
			m.ords = make(map[ordKey]*ordEntry)
		}
		if len(m.ords) >= ordsKept {
			m.pruneOrds(l.BlockNumber)
		}
		e = &ordEntry{number: l.BlockNumber}
		m.ords[k] = e
	}
	for i, x := range e.idx {
		if x == l.Index {
			return uint(i)
		}
	}
	e.idx = append(e.idx, l.Index)
	return uint(len(e.idx) - 1)
}

// pruneOrds drops the bookkeeping of blocks well below the head, or if that is not enough, of
// every block before current.
func (m *Monitor) pruneOrds(current uint64) {
	head := m.head.Load()
	for k, e := range m.ords {
		if e.number+256 < head && e.number < current {
			delete(m.ords, k)
		}
	}
	if len(m.ords) < ordsKept {
		return
	}
	for k, e := range m.ords {
		if e.number < current {
			delete(m.ords, k)
		}
	}
}
