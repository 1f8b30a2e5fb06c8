// Package ownfills is the chain's record of polybot's own fills. It watches the exchanges'
// OrderFilled logs whose maker is polybot's trading address (the funder, or the signer of an
// EOA wallet) with a second wallet monitor, so they are read the way leader fills are (bound
// to their blocks, from a checkpoint of their own, backfilled after every reconnect), and
// matches each to its copy's intent by order hash.
//
// The CLOB's answer to an order is a first report; what the chain says the order filled is
// what polybot records (store.ConfirmOnChain): a copy whose CLOB report differed is corrected,
// and every copy that filled carries its confirming block and transaction. An own fill that no
// intent matches (a trade made by hand from the same wallet) is logged and counted.
//
// What it holds is bounded: the fills of orders whose intent is not completed yet, and of the
// others for Window after they were recorded. The checkpoint never passes a block holding a
// fill not yet recorded, so a restart reads such fills again.
package ownfills

import (
	"context"
	"errors"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/polybot/polybot/internal/dedup"
	"github.com/polybot/polybot/internal/executor"
	"github.com/polybot/polybot/internal/monitor"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
)

// Defaults of Options.
const (
	DefaultWindow   = 10 * time.Minute
	DefaultInterval = 2 * time.Second
)

// Options configures a Ledger.
type Options struct {
	// Monitor is the wallet monitor's configuration (Dial, Exchanges, Confirmations, …).
	// Leaders, Dedup, Handler, Checkpoint and OnSubscribed are set by the Ledger.
	Monitor monitor.Options
	// Address is polybot's trading address: the maker of its orders.
	Address common.Address
	Store   *store.Store
	// Window is how long the fills of a recorded order stay readable through Of; default
	// DefaultWindow.
	Window time.Duration
	// Interval is how often the fills of orders whose intent was not completed yet are tried
	// again; default DefaultInterval.
	Interval time.Duration
	Log      *zap.Logger
	Clock    mclock.Clock
}

// Stats counts what the ledger has seen since start.
type Stats struct {
	Fills     uint64 // own OrderFilled logs read
	Confirmed uint64 // orders whose chain record was written to their intent
	Corrected uint64 // of them, orders whose CLOB report the chain corrected
	Unmatched uint64 // own fills of orders no intent has (manual trades)
	Removed   uint64 // own fills a reorg removed
	Held      int    // orders whose fills are held now
	Through   uint64 // the block the ledger has read through
}

// Ledger is the chain's record of polybot's own fills. It implements executor.OwnFills.
type Ledger struct {
	opts Options
	mon  *monitor.Monitor
	log  *zap.Logger

	mu sync.Mutex
	// recording serialises record: the monitor's hand-off and the retry tick may record the
	// same order at once, and each would write and count it.
	recording sync.Mutex
	orders    map[common.Hash]*order

	fills, confirmed, corrected, unmatched, removed atomic.Uint64
}

var _ executor.OwnFills = (*Ledger)(nil)

// order is what the ledger holds of one order hash.
type order struct {
	fills   []polymarket.Fill
	done    bool           // recorded in the store (or found to have no intent)
	doneAt  mclock.AbsTime // when done
	matched bool           // an intent has it
}

// New builds a ledger; nothing runs until Run.
func New(opts Options) (*Ledger, error) {
	if opts.Store == nil {
		return nil, errors.New("ownfills: Store is required")
	}
	if opts.Address == (common.Address{}) {
		return nil, errors.New("ownfills: the trading address is required")
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Clock == nil {
		opts.Clock = mclock.System{}
	}
	l := &Ledger{opts: opts, log: opts.Log, orders: make(map[common.Hash]*order)}
	// Own fills are few (one or a few per copy): a small cache covers every overlap of a
	// backfill with the stream.
	cache, err := dedup.New(dedup.Options{Capacity: 4096, Clock: opts.Clock})
	if err != nil {
		return nil, err
	}
	mo := opts.Monitor
	mo.Leaders = []common.Address{opts.Address}
	mo.Dedup = cache
	mo.Handler = l.handle
	mo.OnRemoved = l.onRemoved
	mo.Checkpoint = heldCheckpoint{inner: opts.Store.OwnFillsCheckpointer(), l: l}
	mo.OnSubscribed = nil
	mo.Log = opts.Log.Named("monitor")
	mo.Clock = opts.Clock
	if l.mon, err = monitor.New(mo); err != nil {
		return nil, err
	}
	return l, nil
}

// Monitor is the ledger's wallet monitor (its health and counters).
func (l *Ledger) Monitor() *monitor.Monitor { return l.mon }

// Run reads own fills until ctx ends, and retries the orders whose intent was not completed
// when their fills arrived.
func (l *Ledger) Run(ctx context.Context) error {
	l.log.Info("watching polybot's own fills on chain", zap.Stringer("address", l.opts.Address))
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return l.mon.Run(gctx) })
	g.Go(func() error {
		prune := l.opts.Clock.Now()
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-l.opts.Clock.After(l.opts.Interval):
			}
			l.retry()
			if now := l.opts.Clock.Now(); now.Sub(prune) >= time.Hour {
				prune = now
				if n, err := l.opts.Store.PruneOrderIndex(); err != nil {
					l.log.Warn("order index not pruned", zap.Error(err))
				} else if n > 0 {
					l.log.Debug("order index pruned", zap.Int("entries", n))
				}
			}
		}
	})
	return g.Wait()
}

// Of returns the fills of the order with this hash read so far, and the block read through.
// The fills of an order recorded longer than Window ago are no longer held: Of then answers
// from its intent's chain record, as one fill with the order's totals and its newest block and
// transaction.
func (l *Ledger) Of(hash common.Hash) ([]polymarket.Fill, uint64) {
	through := l.mon.Stats().Checkpoint
	l.mu.Lock()
	if o := l.orders[hash]; o != nil {
		fills := slices.Clone(o.fills)
		l.mu.Unlock()
		return fills, through
	}
	l.mu.Unlock()
	in, ok, err := l.opts.Store.IntentOfOrder(hash)
	if err != nil || !ok || in.Chain == nil || in.Chain.Fills == 0 {
		return nil, through
	}
	c := in.Chain
	tok, _ := new(big.Int).SetString(in.Token, 10)
	return []polymarket.Fill{{OrderHash: hash, Maker: l.opts.Address, Side: in.Side, TokenID: tok,
		Shares: c.Shares, Collateral: c.Collateral, Fee: c.Fee, Block: c.Block, TxHash: c.Tx}}, through
}

// Stats returns the counters.
func (l *Ledger) Stats() Stats {
	l.mu.Lock()
	held := len(l.orders)
	l.mu.Unlock()
	return Stats{
		Fills: l.fills.Load(), Confirmed: l.confirmed.Load(), Corrected: l.corrected.Load(),
		Unmatched: l.unmatched.Load(), Removed: l.removed.Load(), Held: held, Through: l.mon.Stats().Checkpoint,
	}
}

// handle takes one own fill from the monitor: it is held, and recorded at once if its intent
// is completed. A store that fails keeps the fill held and retried; the checkpoint waits.
func (l *Ledger) handle(_ context.Context, f polymarket.Fill) error {
	if f.Maker != l.opts.Address {
		return nil // the monitor watches only the trading address; never count another's fill
	}
	l.mu.Lock()
	o := l.orders[f.OrderHash]
	if o == nil {
		o = &order{}
		l.orders[f.OrderHash] = o
	}
	if !slices.ContainsFunc(o.fills, func(g polymarket.Fill) bool { return sameFill(&g, &f) }) {
		o.fills = append(o.fills, f)
		o.done = false
		l.fills.Add(1) // each fill once, however often the monitor hands it on
	}
	l.mu.Unlock()
	l.record(f.OrderHash)
	return nil
}

func sameFill(a, b *polymarket.Fill) bool {
	return a.TxHash == b.TxHash && a.OrderHash == b.OrderHash && a.Nth == b.Nth
}

// onRemoved drops a fill a reorg took off the chain; the order is recorded again from the
// fills that remain (the monitor hands on the fill again where the reorg puts it).
func (l *Ledger) onRemoved(f polymarket.Fill) {
	l.removed.Add(1)
	l.mu.Lock()
	if o := l.orders[f.OrderHash]; o != nil {
		o.fills = slices.DeleteFunc(o.fills, func(g polymarket.Fill) bool { return sameFill(&g, &f) })
		o.done = false
	}
	l.mu.Unlock()
	l.log.Warn("an own fill was removed by a reorg", zap.Stringer("order", f.OrderHash), zap.Stringer("tx", f.TxHash))
}

// retry records the orders not recorded yet and forgets those recorded longer than Window ago.
func (l *Ledger) retry() {
	now := l.opts.Clock.Now()
	var todo []common.Hash
	l.mu.Lock()
	for h, o := range l.orders {
		switch {
		case !o.done:
			todo = append(todo, h)
		case now.Sub(o.doneAt) > l.opts.Window:
			delete(l.orders, h)
		}
	}
	l.mu.Unlock()
	for _, h := range todo {
		l.record(h)
	}
}

// totals sums an order's fills into the chain's record; Block and Tx are the newest fill's.
func totals(fills []polymarket.Fill) store.OnChain {
	var c store.OnChain
	for i := range fills {
		f := &fills[i]
		c.Fills++
		c.Shares += f.Shares
		c.Collateral += f.Collateral
		c.Fee += f.Fee
		if f.Block >= c.Block {
			c.Block, c.Tx = f.Block, f.TxHash
		}
	}
	return c
}

// record writes what the chain says the order filled to its intent.
func (l *Ledger) record(hash common.Hash) {
	l.recording.Lock()
	defer l.recording.Unlock()
	l.mu.Lock()
	o := l.orders[hash]
	if o == nil || o.done {
		l.mu.Unlock()
		return
	}
	fills := slices.Clone(o.fills)
	l.mu.Unlock()
	if len(fills) == 0 {
		l.finish(hash, fills, false)
		return
	}
	c := totals(fills)
	conf, err := l.opts.Store.ConfirmOnChain(hash, c)
	log := l.log.With(zap.Stringer("order", hash), zap.Uint64("block", c.Block), zap.Stringer("tx", c.Tx))
	switch {
	case err != nil:
		log.Warn("own fill not recorded yet; retrying", zap.Error(err))
		return
	case !conf.Found:
		f := &fills[len(fills)-1]
		l.unmatched.Add(uint64(len(fills)))
		log.Warn("own fill with no intent: a trade polybot did not place (or whose record was compacted); counted, not copied",
			zap.Stringer("side", f.Side), zap.String("token", f.Market()), zap.String("shares", units(c.Shares)),
			zap.String("usdc", units(c.Collateral)))
		l.finish(hash, fills, false)
		return
	case !conf.Settled:
		return // the CLOB's final report is not in yet: tried again on the next tick
	}
	in := conf.Intent
	if conf.Corrected {
		l.corrected.Add(1)
		log.Warn("copy corrected by the chain",
			zap.String("intent", in.ID.String()), zap.Stringer("side", in.Side),
			zap.String("clob_shares", units(conf.Before.FilledShares)), zap.String("chain_shares", units(c.Shares)),
			zap.String("clob_usdc", units(conf.Before.FilledCollateral)), zap.String("chain_usdc", units(c.Collateral)),
			zap.String("clob_fee", units(conf.Before.Fee)), zap.String("chain_fee", units(c.Fee)))
	} else {
		log.Info("copy confirmed on chain", zap.String("intent", in.ID.String()), zap.String("shares", units(c.Shares)))
	}
	l.confirmed.Add(1)
	l.finish(hash, fills, true)
}

// finish marks the order recorded with the fills it was recorded with (more may have arrived
// meanwhile: then it stays to do).
func (l *Ledger) finish(hash common.Hash, with []polymarket.Fill, matched bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	o := l.orders[hash]
	if o == nil || len(o.fills) != len(with) {
		return
	}
	o.done, o.doneAt, o.matched = true, l.opts.Clock.Now(), matched
}

// oldestHeld is the block of the oldest fill not recorded yet; ok false when there is none.
func (l *Ledger) oldestHeld() (uint64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b uint64
	ok := false
	for _, o := range l.orders {
		if o.done {
			continue
		}
		for i := range o.fills {
			if f := o.fills[i].Block; !ok || f < b {
				b, ok = f, true
			}
		}
	}
	return b, ok
}

// heldCheckpoint saves the own fills' checkpoint held back to the block before the oldest fill
// not recorded yet, so a restart reads that fill again.
type heldCheckpoint struct {
	inner store.OwnFillsCheckpoint
	l     *Ledger
}

func (c heldCheckpoint) Load() (uint64, bool, error) { return c.inner.Load() }

func (c heldCheckpoint) Save(block uint64) error {
	if b, ok := c.l.oldestHeld(); ok && b > 0 && b-1 < block {
		block = b - 1
	}
	return c.inner.Save(block)
}

// units formats base units as an exact decimal ("12.5").
func units(v uint64) string { return decimal.NewFromUint64(v).Shift(-6).String() }
