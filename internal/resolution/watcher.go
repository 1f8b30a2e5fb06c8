// Package resolution closes polybot's positions in markets that have resolved, redeems their
// winnings in live trading, and keeps the marks (current prices) the daily-loss breaker values
// open positions at.
//
// The Watcher polls the chain for the Conditional Tokens contract's ConditionResolution logs of
// the markets polybot holds. It learns each open position's market (condition id, outcome slot,
// neg-risk) from the CLOB once: the condition id is GET /book's "market" field and the outcome
// slot is the token's index in GET /markets/{condition_id}'s tokens. A resolution closes the
// position at shares × payoutNumerators[slot] / sum(payoutNumerators), exactly, realising the
// P&L in the day's counters and freeing every limit the position held.
package resolution

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
)

// Chain is what the watcher reads from a node (chain.Client is one).
type Chain interface {
	FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error)
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
}

// MarketSource tells which market an outcome token belongs to (CLOBMarkets asks the CLOB).
type MarketSource interface {
	MarketOf(ctx context.Context, token string) (store.Market, error)
}

// Redeemer turns a resolved position's winning shares back into collateral (ChainRedeemer
// sends the transaction through the funder's wallet). Redeem returns the transaction's hash once
// sent; Confirm reads its receipt and returns the collateral that reached the funder, or
// ErrNotMined (ask later), or an error wrapping ErrRedeemReverted or ErrNoPayout (it did not pay).
type Redeemer interface {
	Redeem(ctx context.Context, p store.Position) (common.Hash, error)
	Confirm(ctx context.Context, p store.Position, tx common.Hash) (uint64, error)
}

// Store is the part of the state store the watcher uses (*store.Store implements it).
type Store interface {
	Positions() ([]store.Position, error)
	SetMarket(token string, m store.Market) error
	Resolve(token string, numerator, denominator *big.Int, tx common.Hash, block uint64, now time.Time) (store.Position, bool, error)
	PendingRedemptions() ([]store.Position, error)
	RedemptionSent(p store.Position, tx common.Hash, now time.Time) error
	RedemptionPaid(p store.Position, paid uint64, now time.Time) error
	RedemptionFailed(p store.Position, attemptErr error, retryAt time.Time) error
	ResolutionCursor() (uint64, bool, error)
	SetResolutionCursor(block uint64) error
}

var _ Store = (*store.Store)(nil)

// Defaults of Options.
const (
	DefaultInterval      = time.Minute
	DefaultLookback      = 50_000 // blocks: about a day on Polygon
	DefaultCatchUp       = 2_000  // blocks: about an hour on Polygon
	DefaultChunk         = 2_000
	DefaultMaxLookups    = 20
	DefaultMaxMarks      = 50
	DefaultConfirmations = 0
	// A failed redemption is tried again after DefaultRedeemBackoff, doubled after each further
	// failure up to DefaultRedeemMaxBackoff. A sent redemption not mined after
	// DefaultRedeemTimeout counts as failed.
	DefaultRedeemBackoff    = time.Minute
	DefaultRedeemMaxBackoff = time.Hour
	DefaultRedeemTimeout    = 30 * time.Minute
)

// Options configure a Watcher.
type Options struct {
	Dial func(ctx context.Context) (Chain, error) // required: connects to the node
	// CTF is the contract whose ConditionResolution logs are read; default
	// polymarket.ConditionalTokens.
	CTF     common.Address
	Store   Store        // required
	Markets MarketSource // required
	// Redeemer, if set, redeems each resolved position that pays out (live trading).
	Redeemer Redeemer
	// RedeemBackoff, RedeemMaxBackoff and RedeemTimeout pace the redemptions' retries; defaults
	// DefaultRedeemBackoff, DefaultRedeemMaxBackoff, DefaultRedeemTimeout.
	RedeemBackoff, RedeemMaxBackoff, RedeemTimeout time.Duration
	// Marks, if set, are refreshed from Books for every open position on each round, and a
	// resolved position's mark is dropped.
	Marks *Marks
	Books BookSource
	// OnResolved, if set, is called after a position was closed by its market's resolution (the
	// leader book drops the market).
	OnResolved func(p store.Position)

	Interval time.Duration // between rounds; default DefaultInterval
	Lookback uint64        // blocks read back on the first round; default DefaultLookback
	CatchUp  uint64        // blocks read back for a market learned late; default DefaultCatchUp
	// Chunk is the most blocks of one eth_getLogs call; default DefaultChunk. Like the wallet
	// monitor's, it is halved while the node answers that a range is too large
	// (chain.IsRangeLimited) and grows back after calls that succeed (chain.Span).
	Chunk         uint64
	Confirmations uint64        // blocks a resolution must be buried under; default 0
	MaxLookups    int           // market lookups per round; default DefaultMaxLookups
	MaxMarks      int           // books read per round for marks; default DefaultMaxMarks
	RPCTimeout    time.Duration // per node or CLOB call; default 30 s
	Now           func() time.Time
	Log           *zap.Logger
}

// Watcher closes positions whose market resolved. Run it once.
type Watcher struct {
	opts     Options
	log      *zap.Logger
	client   Chain
	markCur  int // round-robin position of the mark refresh
	resolved uint64
	// redeemed counts redemptions whose receipt showed the payout since start; lastRedeemed
	// describes the latest. failures and lastFailure do the same for the failed attempts.
	redeemed     atomic.Uint64
	lastRedeemed atomic.Pointer[string]
	failures     atomic.Uint64
	lastFailure  atomic.Pointer[string]
	span         *chain.Span // blocks per eth_getLogs call, adapted to the node
	halvings     uint64
	bstats       BoundStats // reads bound to their block (bound.go)
	// late are the markets learned late whose catch-up read has not succeeded yet.
	late map[common.Hash]bool
	// batch is the most headers a bound read asks in one JSON-RPC batch (bound.go).
	batch uint64
}

// Redemptions is how many redemptions were shown by their receipts to pay since start, and the
// latest as a line (alerts tell the operator of each).
func (w *Watcher) Redemptions() (uint64, string) {
	last := ""
	if p := w.lastRedeemed.Load(); p != nil {
		last = *p
	}
	return w.redeemed.Load(), last
}

// RedemptionFailures is how many redemption attempts failed since start (not sent, reverted,
// paid nothing, never mined), and the latest as a line.
func (w *Watcher) RedemptionFailures() (uint64, string) {
	last := ""
	if p := w.lastFailure.Load(); p != nil {
		last = *p
	}
	return w.failures.Load(), last
}

// New validates opts and returns a Watcher.
func New(opts Options) (*Watcher, error) {
	switch {
	case opts.Dial == nil:
		return nil, errors.New("resolution watcher: no chain dialer")
	case opts.Store == nil:
		return nil, errors.New("resolution watcher: no store")
	case opts.Markets == nil:
		return nil, errors.New("resolution watcher: no market source")
	}
	if opts.CTF == (common.Address{}) {
		opts.CTF = polymarket.ConditionalTokens
	}
	def := func(v *uint64, d uint64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&opts.Lookback, DefaultLookback)
	def(&opts.CatchUp, DefaultCatchUp)
	def(&opts.Chunk, DefaultChunk)
	if opts.Interval < 0 || opts.RPCTimeout < 0 || opts.MaxLookups < 0 || opts.MaxMarks < 0 ||
		opts.RedeemBackoff < 0 || opts.RedeemMaxBackoff < 0 || opts.RedeemTimeout < 0 {
		return nil, errors.New("resolution watcher: negative interval, timeout or bound")
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.RPCTimeout == 0 {
		opts.RPCTimeout = 30 * time.Second
	}
	if opts.MaxLookups == 0 {
		opts.MaxLookups = DefaultMaxLookups
	}
	if opts.MaxMarks == 0 {
		opts.MaxMarks = DefaultMaxMarks
	}
	if opts.RedeemBackoff == 0 {
		opts.RedeemBackoff = DefaultRedeemBackoff
	}
	if opts.RedeemMaxBackoff == 0 {
		opts.RedeemMaxBackoff = DefaultRedeemMaxBackoff
	}
	if opts.RedeemTimeout == 0 {
		opts.RedeemTimeout = DefaultRedeemTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	return &Watcher{opts: opts, log: opts.Log, span: chain.NewSpan(opts.Chunk)}, nil
}

// Resolved is the number of positions the watcher has closed.
func (w *Watcher) Resolved() uint64 { return w.resolved }

// Span is the number of blocks the next eth_getLogs call may cover, and RangeHalvings how often
// a node's refusal of a range halved it. Call them from the goroutine that runs the watcher
// (or after Run returned).
func (w *Watcher) Span() uint64          { return w.span.Blocks() }
func (w *Watcher) RangeHalvings() uint64 { return w.halvings }

// Run runs a round at once and then every Interval until ctx ends. A failed round is logged
// and retried at the next one; it returns nil when ctx is cancelled.
func (w *Watcher) Run(ctx context.Context) error {
	t := time.NewTicker(w.opts.Interval)
	defer t.Stop()
	defer func() {
		if c, ok := w.client.(interface{ Close() }); ok && c != nil {
			c.Close()
		}
	}()
	for {
		if err := w.Round(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("resolution round failed; retrying at the next", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Round learns the markets of new positions, reads the resolutions since the last round and
// closes the positions they resolve, redeems what is pending, and refreshes the marks.
func (w *Watcher) Round(ctx context.Context) error {
	open, err := w.opts.Store.Positions()
	if err != nil {
		return fmt.Errorf("read positions: %w", err)
	}
	learned := w.learnMarkets(ctx, open)
	if open, err = w.opts.Store.Positions(); err != nil {
		return fmt.Errorf("read positions: %w", err)
	}
	err = w.readResolutions(ctx, open, learned)
	if w.opts.Redeemer != nil {
		err = errors.Join(err, w.redeem(ctx))
	}
	w.refreshMarks(ctx, open)
	return err
}

// learnMarkets asks the market source for the market of up to MaxLookups open positions that
// have none yet, and returns the condition ids it learned.
func (w *Watcher) learnMarkets(ctx context.Context, open []store.Position) map[common.Hash]bool {
	learned := make(map[common.Hash]bool)
	n := 0
	for _, p := range open {
		if p.Market != nil {
			continue
		}
		if n >= w.opts.MaxLookups {
			break
		}
		n++
		cctx, cancel := context.WithTimeout(ctx, w.opts.RPCTimeout)
		m, err := w.opts.Markets.MarketOf(cctx, p.Token)
		cancel()
		if err != nil {
			w.log.Warn("market of a position not known yet; asking again at the next round", zap.String("token", p.Token), zap.Error(err))
			continue
		}
		if err := w.opts.Store.SetMarket(p.Token, m); err != nil && !errors.Is(err, store.ErrNoPosition) {
			w.log.Warn("market of a position not recorded", zap.String("token", p.Token), zap.Error(err))
			continue
		}
		learned[m.Condition] = true
	}
	return learned
}

func (w *Watcher) chain(ctx context.Context) (Chain, error) {
	if w.client != nil {
		return w.client, nil
	}
	cctx, cancel := context.WithTimeout(ctx, w.opts.RPCTimeout)
	defer cancel()
	c, err := w.opts.Dial(cctx)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	w.client = c
	return c, nil
}

// dropChain forgets the connection after a failed call, so the next round dials again.
func (w *Watcher) dropChain() {
	if c, ok := w.client.(interface{ Close() }); ok {
		c.Close()
	}
	w.client = nil
}

// readResolutions reads ConditionResolution logs of the held markets from the cursor to the
// confirmed head, and for markets learned this round from CatchUp blocks before the cursor.
func (w *Watcher) readResolutions(ctx context.Context, open []store.Position, learned map[common.Hash]bool) error {
	c, err := w.chain(ctx)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, w.opts.RPCTimeout)
	head, err := c.HeaderByNumber(cctx, nil)
	cancel()
	if err != nil {
		w.dropChain()
		return fmt.Errorf("read the head: %w", err)
	}
	if head.Number.Uint64() < w.opts.Confirmations {
		return nil
	}
	to := head.Number.Uint64() - w.opts.Confirmations
	cursor, started, err := w.opts.Store.ResolutionCursor()
	if err != nil {
		return fmt.Errorf("read the resolution cursor: %w", err)
	}
	from := cursor + 1
	if !started {
		from = to - min(to, w.opts.Lookback)
	}
	byCondition := make(map[common.Hash][]store.Position)
	var all, late []common.Hash
	for _, p := range open {
		if p.Market == nil {
			continue
		}
		cid := p.Market.Condition
		if len(byCondition[cid]) == 0 {
			all = append(all, cid)
			if (learned[cid] || w.late[cid]) && started {
				late = append(late, cid)
			}
		}
		byCondition[cid] = append(byCondition[cid], p)
	}
	for cid := range w.late {
		if len(byCondition[cid]) == 0 {
			delete(w.late, cid) // no longer held
		}
	}
	if len(late) > 0 {
		// A catch-up that fails (or holds at a block not read bound) is done again at the next
		// round: the markets learned this round are not learned again.
		if err := w.scan(ctx, c, from-min(from, w.opts.CatchUp), min(cursor, to), late, byCondition, nil); err != nil {
			if w.late == nil {
				w.late = make(map[common.Hash]bool)
			}
			for _, cid := range late {
				w.late[cid] = true
			}
			return err
		}
		for _, cid := range late {
			delete(w.late, cid)
		}
	}
	if len(all) > 0 && from <= to {
		// A round that fails half-way (a small span on a free-tier node means many calls) keeps
		// the blocks it read: the cursor moves to the last one, and the next round resumes there.
		var done uint64
		progressed := false
		read := func(hi uint64) error { done, progressed = hi, true; return nil }
		if err := w.scan(ctx, c, from, to, all, byCondition, read); err != nil {
			if progressed {
				if cerr := w.opts.Store.SetResolutionCursor(done); cerr != nil {
					return errors.Join(err, fmt.Errorf("record the resolution cursor: %w", cerr))
				}
			}
			if errors.Is(err, errHeld) {
				// Behind a provider whose log backend lags, the newest block often holds once.
				w.log.Info("a block's resolutions were not read bound to it; the cursor stays before it and the next round reads it again",
					zap.Error(err))
				return nil
			}
			return err
		}
	}
	if from <= to || !started {
		if err := w.opts.Store.SetResolutionCursor(to); err != nil {
			return fmt.Errorf("record the resolution cursor: %w", err)
		}
	}
	return nil
}

// scan reads [from, to] in chunks of the adaptive span and calls read (if set) with the last
// block read bound so far. Each chunk is first read with a range eth_getLogs (a first report:
// what it finds is handled at once), then block by block bound to each block (bound.go), which
// alone moves read. A range the node refuses as too large is halved and asked again; a refusal
// of a one-block range fails the round. A block that cannot be read bound stops the scan with an
// error wrapping errHeld.
func (w *Watcher) scan(ctx context.Context, c Chain, from, to uint64, conditions []common.Hash, byCondition map[common.Hash][]store.Position, read func(hi uint64) error) error {
	handle := func(l *types.Log) error {
		r, err := polymarket.DecodeConditionResolution(l)
		if err != nil {
			w.log.Warn("malformed resolution log skipped", zap.Stringer("tx", l.TxHash), zap.Uint("log_index", l.Index), zap.Error(err))
			return nil
		}
		if r.Removed {
			return nil
		}
		for _, p := range byCondition[r.ConditionID] {
			if err := w.resolve(p, &r); err != nil {
				return err
			}
		}
		delete(byCondition, r.ConditionID)
		return nil
	}
	passed := func(n uint64) error {
		if read != nil {
			return read(n)
		}
		return nil
	}
	for lo := from; lo <= to; {
		hi := min(to, lo+w.span.Blocks()-1)
		q := ethereum.FilterQuery{
			FromBlock: new(big.Int).SetUint64(lo), ToBlock: new(big.Int).SetUint64(hi),
			Addresses: []common.Address{w.opts.CTF},
			Topics:    [][]common.Hash{{polymarket.ConditionResolutionTopic}, conditions},
		}
		cctx, cancel := context.WithTimeout(ctx, w.opts.RPCTimeout)
		logs, err := c.FilterLogs(cctx, q)
		cancel()
		if err != nil {
			if chain.IsRangeLimited(err) && w.span.Refused() {
				w.halvings++
				w.log.Info("node refused the eth_getLogs range; halving it", zap.Uint64("from", lo), zap.Uint64("to", hi),
					zap.Uint64("chunk", w.span.Blocks()), zap.Error(err))
				continue
			}
			w.dropChain()
			return fmt.Errorf("read resolutions of blocks %d-%d: %w", lo, hi, err)
		}
		w.span.Succeeded()
		for i := range logs {
			if err := handle(&logs[i]); err != nil {
				return err
			}
		}
		if err := w.bound(ctx, c, lo, hi, conditions, handle, passed); err != nil {
			return err
		}
		if hi == to {
			break
		}
		lo = hi + 1
	}
	return nil
}

func (w *Watcher) resolve(p store.Position, r *polymarket.Resolution) error {
	if p.Market.Outcome < 0 || p.Market.Outcome >= len(r.Numerators) {
		w.log.Error("resolved market has no payout for the position's outcome slot; position left open",
			zap.String("token", p.Token), zap.Int("outcome", p.Market.Outcome), zap.Int("slots", len(r.Numerators)))
		return nil
	}
	closed, found, err := w.opts.Store.Resolve(p.Token, r.Numerators[p.Market.Outcome], r.Denominator(), r.TxHash, r.Block, w.opts.Now())
	if err != nil {
		return err
	}
	if !found {
		return nil
	}
	w.resolved++
	if w.opts.Marks != nil {
		w.opts.Marks.Forget(p.Token)
	}
	res := closed.Resolution
	w.log.Info("market resolved: position closed", zap.String("token", p.Token), zap.Stringer("condition", p.Market.Condition),
		zap.String("shares", units(res.Shares)), zap.String("payout_usdc", units(res.Payout)),
		zap.String("pnl_usdc", signedUnits(res.PnL)), zap.Stringer("tx", r.TxHash))
	if w.opts.OnResolved != nil {
		w.opts.OnResolved(closed)
	}
	return nil
}

// redeem moves every pending redemption one step: a sent one has its receipt checked (paid,
// failed, or still not mined), an unsent one whose retry time has come is sent. Each step is
// recorded in the store before the next, so a restart neither forgets a sent redemption nor
// sends it twice.
func (w *Watcher) redeem(ctx context.Context) error {
	pending, err := w.opts.Store.PendingRedemptions()
	if err != nil {
		return fmt.Errorf("read pending redemptions: %w", err)
	}
	var errs error
	for _, p := range pending {
		if p.Market == nil || ctx.Err() != nil {
			continue
		}
		now := w.opts.Now()
		r := p.Resolution
		if r.RedeemState == store.RedeemSent {
			errs = errors.Join(errs, w.confirm(ctx, p, now))
			continue
		}
		if now.Before(r.RedeemRetryAt) {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, w.opts.RPCTimeout)
		tx, rerr := w.opts.Redeemer.Redeem(cctx, p)
		cancel()
		if rerr != nil {
			errs = errors.Join(errs, w.fail(p, fmt.Errorf("send: %w", rerr), now))
			continue
		}
		w.log.Info("redemption sent; its receipt is checked at the next round", zap.String("token", p.Token),
			zap.Stringer("condition", p.Market.Condition), zap.Stringer("tx", tx))
		if err := w.opts.Store.RedemptionSent(p, tx, now); err != nil {
			errs = errors.Join(errs, err)
		}
	}
	return errs
}

// confirm checks the receipt of p's sent redemption.
func (w *Watcher) confirm(ctx context.Context, p store.Position, now time.Time) error {
	r := p.Resolution
	cctx, cancel := context.WithTimeout(ctx, w.opts.RPCTimeout)
	paid, err := w.opts.Redeemer.Confirm(cctx, p, r.RedeemTx)
	cancel()
	switch {
	case err == nil:
		w.log.Info("winnings redeemed", zap.String("token", p.Token), zap.Stringer("condition", p.Market.Condition),
			zap.String("paid", units(paid)), zap.String("payout_expected", units(r.Payout)), zap.Stringer("tx", r.RedeemTx))
		if paid < r.Payout {
			// The adapters redeem the funder's whole balance of the market: less than polybot's
			// own payout means the wallet held fewer winning shares than polybot recorded.
			w.log.Warn("redemption paid less than the position's payout; check the wallet's positions", zap.String("token", p.Token),
				zap.String("paid", units(paid)), zap.String("payout_expected", units(r.Payout)), zap.Stringer("tx", r.RedeemTx))
		}
		line := fmt.Sprintf("token %s: %s paid, tx %s", p.Token, units(paid), r.RedeemTx.Hex())
		w.lastRedeemed.Store(&line)
		w.redeemed.Add(1)
		return w.opts.Store.RedemptionPaid(p, paid, now)
	case errors.Is(err, ErrNotMined):
		if now.Sub(r.RedeemedAt) < w.opts.RedeemTimeout {
			return nil
		}
		err = fmt.Errorf("%w after %v: %s", ErrNotMined, w.opts.RedeemTimeout, r.RedeemTx.Hex())
	case !errors.Is(err, ErrRedeemReverted) && !errors.Is(err, ErrNoPayout):
		// The node did not answer: the transaction's fate is unknown, ask again next round.
		w.log.Warn("redemption receipt not read; asking again at the next round", zap.String("token", p.Token),
			zap.Stringer("tx", r.RedeemTx), zap.Error(err))
		return nil
	}
	return w.fail(p, err, now)
}

// fail records a failed redemption attempt and when the next may be made, and tells the
// operator (log, RedemptionFailures for alerts and metrics, the store for `polybot status`).
func (w *Watcher) fail(p store.Position, err error, now time.Time) error {
	attempt := p.Resolution.RedeemAttempts + 1
	wait := w.opts.RedeemBackoff
	for i := 1; i < attempt && wait < w.opts.RedeemMaxBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, w.opts.RedeemMaxBackoff)
	w.log.Error("redemption did not pay; trying again later", zap.String("token", p.Token),
		zap.Stringer("condition", p.Market.Condition), zap.String("payout_expected", units(p.Resolution.Payout)),
		zap.Int("attempt", attempt), zap.Duration("retry_in", wait), zap.Error(err))
	line := fmt.Sprintf("token %s: attempt %d: %v", p.Token, attempt, err)
	w.lastFailure.Store(&line)
	w.failures.Add(1)
	return w.opts.Store.RedemptionFailed(p, err, now.Add(wait))
}

// refreshMarks reads the books of up to MaxMarks open positions, in turn across rounds.
func (w *Watcher) refreshMarks(ctx context.Context, open []store.Position) {
	if w.opts.Marks == nil || w.opts.Books == nil || len(open) == 0 {
		return
	}
	n := min(len(open), w.opts.MaxMarks)
	for i := range n {
		p := open[(w.markCur+i)%len(open)]
		cctx, cancel := context.WithTimeout(ctx, w.opts.RPCTimeout)
		b, err := w.opts.Books.Book(cctx, p.Token)
		cancel()
		if err != nil {
			w.log.Debug("book not read for a mark", zap.String("token", p.Token), zap.Error(err))
			continue
		}
		if m, ok := BookMark(b); ok {
			w.opts.Marks.Set(p.Token, m)
		}
	}
	w.markCur = (w.markCur + n) % len(open)
}
