// Package reorgcheck finds the leader fills polybot decided that a chain reorganisation removed
// for good. The store keeps the block (number and hash) each recent fill was seen in; every
// round, and first of all at start (so a reorg while polybot was down or disconnected is
// noticed), the checker compares them with the canonical chain. A block whose hash changed is
// checked at the fill's transaction: if its receipt holds the fill again (same exchange, order
// and Nth) the fill was included again and its new block is kept; if it does not once the head
// is Settle blocks past the fill's block, the fill is gone. It is then recorded as a decision of
// its own (store.ActionOrphaned), its move of the leader book is undone, and OnOrphan is told.
// polybot's copy, if it placed one, stays a real position.
package reorgcheck

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/ethereum/go-ethereum/core/types"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
)

// Chain is what the checker reads from a node (chain.Client is one).
type Chain interface {
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	TransactionReceipt(ctx context.Context, tx common.Hash) (*types.Receipt, error)
	Close()
}

// Store is the part of the state store the checker uses (*store.Store is one).
type Store interface {
	FillBlocks(from uint64) ([]store.FillBlock, error)
	MoveFillBlock(id store.IntentID, block uint64, hash common.Hash) error
	PruneFillBlocks(below uint64) (int, error)
	Orphan(f store.FillBlock, reason string) (bool, error)
}

// Options configures a Checker.
type Options struct {
	Dial  func(ctx context.Context) (Chain, error)
	Store Store
	// Depth is how many blocks deep a block must be before polybot takes it as final and stops
	// checking the fills in it; default 256 (Polygon PoS reorgs seen on mainnet stayed well
	// below it; with milestones, finality comes within a few dozen blocks).
	Depth uint64
	// Settle is how many blocks past a removed fill's block the head must be, without the fill
	// included again, before it is recorded as removed for good; default 32.
	Settle uint64
	// Every is the time between rounds; default 30 s. The first round runs at start, and a
	// round runs at once when Kick is called (a removed log seen live).
	Every time.Duration
	// Retry is the time before the next round while a removed fill waits to be included again
	// (or for Settle blocks); default 2 s, about one Polygon block.
	Retry time.Duration
	// RPCTimeout bounds each RPC call; default 30 s.
	RPCTimeout time.Duration
	// OnOrphan is told of each fill recorded as removed for good. Optional.
	OnOrphan func(store.FillBlock)
	Log      *zap.Logger
	Clock    mclock.Clock
}

// Checker is the reorg checker. Run it once.
type Checker struct {
	opts Options
	kick chan struct{}
}

// New validates opts and returns a Checker.
func New(opts Options) (*Checker, error) {
	if opts.Dial == nil || opts.Store == nil {
		return nil, errors.New("reorgcheck: Dial and Store are required")
	}
	if opts.Depth == 0 {
		opts.Depth = 256
	}
	if opts.Settle == 0 {
		opts.Settle = 32
	}
	if opts.Settle > opts.Depth {
		return nil, fmt.Errorf("reorgcheck: Settle %d exceeds Depth %d", opts.Settle, opts.Depth)
	}
	if opts.Every <= 0 {
		opts.Every = 30 * time.Second
	}
	if opts.Retry <= 0 {
		opts.Retry = 2 * time.Second
	}
	opts.Retry = min(opts.Retry, opts.Every)
	if opts.RPCTimeout <= 0 {
		opts.RPCTimeout = 30 * time.Second
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Clock == nil {
		opts.Clock = mclock.System{}
	}
	return &Checker{opts: opts, kick: make(chan struct{}, 1)}, nil
}

// Kick asks for a round now: the monitor saw a decided fill's log removed by a reorg.
func (c *Checker) Kick() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Run checks at start and then every Every until ctx ends, over one connection redialled after
// a failure. A failed round (node unreachable) is logged and tried again at the next one:
// nothing is decided without the chain's answer.
func (c *Checker) Run(ctx context.Context) error {
	var node Chain
	defer func() {
		if node != nil {
			node.Close()
		}
	}()
	for {
		err := ctx.Err()
		if node == nil && err == nil && c.nothingToCheck() {
			err = errIdle // no connection is opened while no decided fill is recent
		}
		if node == nil && err == nil {
			if node, err = c.opts.Dial(ctx); err != nil {
				node, err = nil, fmt.Errorf("dial: %w", err)
			}
		}
		wait := c.opts.Every
		if node != nil && err == nil {
			var res Result
			if res, err = c.Check(ctx, node); err != nil {
				node.Close()
				node = nil
			} else if res.Waiting > 0 {
				wait = c.opts.Retry
			}
		}
		if err != nil && ctx.Err() == nil && !errors.Is(err, errIdle) {
			c.opts.Log.Warn("reorg check failed; trying again", zap.Error(err), zap.Duration("in", wait))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.kick:
		case <-c.opts.Clock.After(wait):
		}
	}
}

var errIdle = errors.New("nothing to check")

// nothingToCheck reports whether the store holds no recent decided fill (an unreadable store
// is something to check: the round reports it).
func (c *Checker) nothingToCheck() bool {
	fills, err := c.opts.Store.FillBlocks(0)
	return err == nil && len(fills) == 0
}

// Result counts what one round found.
type Result struct {
	Checked, Moved, Orphaned, Waiting, Pruned int
}

// Check compares the stored fill blocks with node's canonical chain once.
func (c *Checker) Check(ctx context.Context, node Chain) (Result, error) {
	var res Result
	head, err := c.header(ctx, node, nil)
	if err != nil {
		return res, fmt.Errorf("head: %w", err)
	}
	h := head.Number.Uint64()
	fills, err := c.opts.Store.FillBlocks(0)
	if err != nil {
		return res, err
	}
	hashes := make(map[uint64]common.Hash)
	for _, f := range fills {
		if f.Block > h {
			res.Waiting++ // a shorter fork, or a node behind the one that delivered the fill
			continue
		}
		canon, ok := hashes[f.Block]
		if !ok {
			hd, err := c.header(ctx, node, new(big.Int).SetUint64(f.Block))
			if err != nil {
				return res, fmt.Errorf("header of block %d: %w", f.Block, err)
			}
			canon = hd.Hash()
			hashes[f.Block] = canon
		}
		res.Checked++
		if canon == f.BlockHash {
			continue
		}
		if err := c.removed(ctx, node, f, h, &res); err != nil {
			return res, err
		}
	}
	if h > c.opts.Depth {
		n, err := c.opts.Store.PruneFillBlocks(h - c.opts.Depth)
		if err != nil {
			return res, err
		}
		res.Pruned = n
	}
	return res, nil
}

// removed handles a fill whose block the canonical chain no longer holds.
func (c *Checker) removed(ctx context.Context, node Chain, f store.FillBlock, head uint64, res *Result) error {
	block, hash, found, err := c.findAgain(ctx, node, f)
	if err != nil {
		return err
	}
	log := c.opts.Log.With(zap.Stringer("tx", f.ID.Tx), zap.Stringer("leader", f.Leader), zap.String("market", f.Token),
		zap.Uint64("block", f.Block))
	if found {
		res.Moved++
		log.Info("a reorg moved a decided leader fill to another block; it stands", zap.Uint64("now_block", block))
		return c.opts.Store.MoveFillBlock(f.ID, block, hash)
	}
	if head < f.Block+c.opts.Settle {
		res.Waiting++
		return nil // it may be included again yet
	}
	reason := fmt.Sprintf("leader fill removed by a chain reorg (block %d replaced, its transaction not included again by block %d)",
		f.Block, head)
	if f.Copied {
		reason += "; polybot's copy stands"
	}
	ok, err := c.opts.Store.Orphan(f, reason)
	if err != nil || !ok {
		return err
	}
	res.Orphaned++
	log.Warn("a decided leader fill was removed by a reorg for good; recorded as orphaned, leader book corrected",
		zap.Bool("copied", f.Copied), zap.String("side", f.Side))
	if c.opts.OnOrphan != nil {
		c.opts.OnOrphan(f)
	}
	return nil
}

// findAgain reads f's transaction receipt: found when the canonical chain holds the transaction
// and it has f's fill (the Nth OrderFilled log of f's exchange and order).
func (c *Checker) findAgain(ctx context.Context, node Chain, f store.FillBlock) (block uint64, hash common.Hash, found bool, err error) {
	rctx, cancel := context.WithTimeout(ctx, c.opts.RPCTimeout)
	defer cancel()
	r, err := node.TransactionReceipt(rctx, f.ID.Tx)
	switch {
	case errors.Is(err, ethereum.NotFound) || (err == nil && r == nil):
		return 0, common.Hash{}, false, nil
	case err != nil:
		return 0, common.Hash{}, false, fmt.Errorf("receipt of %v: %w", f.ID.Tx, err)
	}
	if r.Status != types.ReceiptStatusSuccessful || r.BlockNumber == nil {
		return 0, common.Hash{}, false, nil
	}
	n := uint(0)
	for _, l := range r.Logs {
		if l == nil {
			continue
		}
		got, err := polymarket.DecodeOrderFilled(l)
		if err != nil || got.Exchange != f.Exchange || got.OrderHash != f.ID.OrderHash {
			continue
		}
		if n == f.ID.Nth {
			// The receipt must be of the canonical block at its number: a node may still hold
			// the receipt of a block it has just replaced.
			hd, err := c.header(ctx, node, r.BlockNumber)
			if err != nil {
				return 0, common.Hash{}, false, fmt.Errorf("header of block %v: %w", r.BlockNumber, err)
			}
			if hd.Hash() != r.BlockHash {
				return 0, common.Hash{}, false, nil
			}
			return r.BlockNumber.Uint64(), r.BlockHash, true, nil
		}
		n++
	}
	return 0, common.Hash{}, false, nil
}

func (c *Checker) header(ctx context.Context, node Chain, n *big.Int) (*types.Header, error) {
	rctx, cancel := context.WithTimeout(ctx, c.opts.RPCTimeout)
	defer cancel()
	h, err := node.HeaderByNumber(rctx, n)
	if err != nil {
		return nil, err
	}
	if h == nil || h.Number == nil {
		return nil, errors.New("empty answer")
	}
	return h, nil
}
