package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/chainlog"
)

// Limits and defaults of FastOptions.
const (
	// FastMaxRate is the highest Rate of a FastChain, in leader fills per second.
	FastMaxRate = 1_000_000
	// DefaultFastBlockInterval is the time between a FastChain's blocks.
	DefaultFastBlockInterval = 100 * time.Millisecond
	// DefaultFastKeepBlocks is how many recent blocks a FastChain answers eth_getLogs from.
	DefaultFastKeepBlocks = 100
	// fastMaxResults is the most logs one eth_getLogs answer holds; beyond it the call fails as
	// it does on hosted nodes, and the caller asks for a smaller range.
	fastMaxResults = 10_000
)

// FastOptions configures a FastChain. Zero values select the defaults.
type FastOptions struct {
	// Host, WSPort and HTTPPort are as in Options; both servers answer both protocols.
	Host             string
	WSPort, HTTPPort int
	// Leaders and Markets are as in Options.
	Leaders, Markets int
	// Rate is the number of leader fills per second, at most FastMaxRate; 0 means none.
	Rate float64
	// BlockInterval is the time between blocks; 0 means DefaultFastBlockInterval.
	BlockInterval time.Duration
	// KeepBlocks is how many recent blocks eth_getLogs can return (eth_getBlockByNumber: ten
	// times as many); 0 means DefaultFastKeepBlocks.
	KeepBlocks int
	// Seed seeds the random trading.
	Seed int64
	// Exchanges are as in Options.
	Exchanges []common.Address
	// Log receives the chain's own logs; nil discards them.
	Log *zap.Logger
}

// FastChain is polysim's fast mode: a JSON-RPC server on loopback that speaks the part of the
// Ethereum API polybot uses (eth_chainId, eth_blockNumber, eth_getBlockByNumber, eth_getLogs,
// eth_getTransactionReceipt, eth_subscribe to newHeads and logs) and makes up its blocks: each holds the OrderFilled logs
// of synthetic leaders' fills, one transaction each, with no EVM, signing or state behind them.
// It sustains far more fills per second than Sim, whose every fill is a mined transaction, and
// keeps only the last KeepBlocks blocks, so its memory stays flat however long it runs. It is
// meant for soak tests of polybot, not for testing chain behaviour (no reorgs).
type FastChain struct {
	opts    FastOptions
	log     *zap.Logger
	srv     *rpc.Server
	servers []*http.Server
	wsURL   string
	httpURL string
	markets []*big.Int
	emitted atomic.Uint64

	mu      sync.Mutex
	blocks  []fastBlock     // the last KeepBlocks blocks, oldest first
	headers []*types.Header // the last 10 × KeepBlocks headers, oldest first, by number
	head    *types.Header
	subs    map[*fastSub]struct{}
	rng     *rand.Rand
	txSeq   uint64
}

type fastBlock struct {
	header *types.Header
	logs   []*types.Log
	byTx   map[common.Hash]*types.Log // each fill is the only log of its transaction
}

// fastSub is one eth_subscribe subscription: to heads, or to logs matching crit.
type fastSub struct {
	notifier *rpc.Notifier
	id       rpc.ID
	logs     bool
	crit     filters.FilterCriteria
}

// NewFast starts a FastChain's RPC servers. The caller must call Run.
func NewFast(opts FastOptions) (*FastChain, error) {
	o := Options{Host: opts.Host, WSPort: opts.WSPort, HTTPPort: opts.HTTPPort, Leaders: opts.Leaders,
		Markets: opts.Markets, Exchanges: opts.Exchanges, Log: opts.Log}
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("polysim options: %w", err)
	}
	opts.Host, opts.Leaders, opts.Markets, opts.Exchanges, opts.Log = o.Host, o.Leaders, o.Markets, o.Exchanges, o.Log
	if math.IsNaN(opts.Rate) || opts.Rate < 0 || opts.Rate > FastMaxRate {
		return nil, fmt.Errorf("polysim options: rate %v: must be between 0 and %d fills per second in fast mode", opts.Rate, FastMaxRate)
	}
	if opts.BlockInterval == 0 {
		opts.BlockInterval = DefaultFastBlockInterval
	}
	if opts.BlockInterval < time.Millisecond {
		return nil, fmt.Errorf("polysim options: block interval %v: must be at least 1ms in fast mode", opts.BlockInterval)
	}
	if opts.KeepBlocks == 0 {
		opts.KeepBlocks = DefaultFastKeepBlocks
	}
	if opts.KeepBlocks < 1 {
		return nil, fmt.Errorf("polysim options: keep blocks %d: must be at least 1", opts.KeepBlocks)
	}
	c := &FastChain{
		opts: opts,
		log:  opts.Log,
		srv:  rpc.NewServer(),
		subs: make(map[*fastSub]struct{}),
		rng:  rand.New(rand.NewPCG(uint64(opts.Seed), 0x666173742d73696d)), // "fast-sim"
		head: &types.Header{Number: new(big.Int), Difficulty: new(big.Int), GasLimit: 60_000_000,
			Time: uint64(time.Now().Unix()), BaseFee: big.NewInt(params.InitialBaseFee)},
	}
	for i := range opts.Markets {
		c.markets = append(c.markets, MarketToken(i))
	}
	c.blocks = append(c.blocks, fastBlock{header: c.head})
	c.headers = append(c.headers, c.head)
	if err := c.srv.RegisterName("eth", &fastAPI{c}); err != nil {
		return nil, fmt.Errorf("register eth API: %w", err)
	}
	if err := c.srv.RegisterName("net", &fastNetAPI{c}); err != nil {
		return nil, fmt.Errorf("register net API: %w", err)
	}
	ws := c.srv.WebsocketHandler([]string{"*"})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			ws.ServeHTTP(w, r)
			return
		}
		c.srv.ServeHTTP(w, r)
	})
	ports := []int{opts.WSPort}
	if opts.HTTPPort != opts.WSPort {
		ports = append(ports, opts.HTTPPort)
	}
	var addrs []string
	for _, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(opts.Host, strconv.Itoa(p)))
		if err != nil {
			c.closeServers()
			return nil, fmt.Errorf("listen: %w", err)
		}
		hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
		c.servers = append(c.servers, hs)
		go func() { _ = hs.Serve(ln) }()
		addrs = append(addrs, ln.Addr().String())
	}
	c.wsURL, c.httpURL = "ws://"+addrs[0], "http://"+addrs[len(addrs)-1]
	c.log.Info("fast chain started", zap.String("ws", c.wsURL), zap.String("http", c.httpURL),
		zap.Float64("rate", opts.Rate), zap.Duration("block_interval", opts.BlockInterval))
	return c, nil
}

// WSURL is the websocket JSON-RPC URL.
func (c *FastChain) WSURL() string { return c.wsURL }

// HTTPURL is the HTTP JSON-RPC URL.
func (c *FastChain) HTTPURL() string { return c.httpURL }

// ChainID is the chain id the server reports.
func (c *FastChain) ChainID() uint64 { return params.AllDevChainProtocolChanges.ChainID.Uint64() }

// LeaderAddresses returns the synthetic leaders' addresses.
func (c *FastChain) LeaderAddresses() []common.Address {
	out := make([]common.Address, c.opts.Leaders)
	for i := range out {
		out[i] = LeaderAddress(i + 1)
	}
	return out
}

// Markets returns the outcome tokens the leaders trade.
func (c *FastChain) Markets() []*big.Int { return slices.Clone(c.markets) }

// ExchangeFor returns the exchange that emits token's fills.
func (c *FastChain) ExchangeFor(token *big.Int) common.Address {
	for i, m := range c.markets {
		if m.Cmp(token) == 0 {
			return c.opts.Exchanges[i%len(c.opts.Exchanges)]
		}
	}
	return common.Address{}
}

// Emitted returns the number of leader fills in the blocks made so far.
func (c *FastChain) Emitted() uint64 { return c.emitted.Load() }

// Run makes a block every BlockInterval, each with the fills due at Rate, and sends it to the
// subscribers, until ctx is done; then it closes the servers. Sending waits for each subscriber's
// connection, so a subscriber that cannot keep up slows the chain down rather than being dropped;
// ticks missed meanwhile are skipped, not made up. It returns nil on cancellation.
func (c *FastChain) Run(ctx context.Context) error {
	defer c.closeServers()
	t := time.NewTicker(c.opts.BlockInterval)
	defer t.Stop()
	perBlock := c.opts.Rate * c.opts.BlockInterval.Seconds()
	due := 0.0
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			c.log.Info("fast chain stopped", zap.Uint64("fills", c.Emitted()))
			return nil
		case now := <-t.C:
			// Fills due since the last block, at most two blocks' worth after a stall.
			due += min(c.opts.Rate*now.Sub(last).Seconds(), 2*perBlock)
			last = now
			n := int(due)
			due -= float64(n)
			c.mine(n)
		}
	}
}

func (c *FastChain) closeServers() {
	for _, hs := range c.servers {
		_ = hs.Close()
	}
	c.srv.Stop()
}

// mine makes a block with n fills and sends it to the subscribers.
func (c *FastChain) mine(n int) {
	c.mu.Lock()
	parent := c.head
	h := &types.Header{
		ParentHash: parent.Hash(), Number: new(big.Int).Add(parent.Number, common.Big1), Difficulty: new(big.Int),
		GasLimit: parent.GasLimit, GasUsed: uint64(n) * 40_000, Time: uint64(time.Now().Unix()), BaseFee: parent.BaseFee,
	}
	logs := make([]*types.Log, n)
	for i := range logs {
		logs[i] = c.randomFillLog(h.Number.Uint64(), common.Hash{}, h.Time, uint(i))
	}
	// The header's logsBloom covers its logs, as a node's does (the yellow paper's block
	// header, Hb: the bloom of every log's address and topics); the hash covers the bloom.
	h.Bloom = types.CreateBloom(&types.Receipt{Logs: logs})
	hash := h.Hash()
	for _, l := range logs {
		l.BlockHash = hash
	}
	byTx := make(map[common.Hash]*types.Log, n)
	for _, l := range logs {
		byTx[l.TxHash] = l
	}
	c.head = h
	c.blocks = append(c.blocks, fastBlock{header: h, logs: logs, byTx: byTx})
	if len(c.blocks) > c.opts.KeepBlocks {
		c.blocks[0] = fastBlock{}
		c.blocks = c.blocks[1:]
	}
	c.headers = append(c.headers, h)
	if len(c.headers) > 10*c.opts.KeepBlocks {
		c.headers[0] = nil
		c.headers = c.headers[1:]
	}
	subs := make([]*fastSub, 0, len(c.subs))
	for s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()
	c.emitted.Add(uint64(n))

	for _, s := range subs {
		if !s.logs {
			_ = s.notifier.Notify(s.id, h)
			continue
		}
		for _, l := range logs {
			if matches(l, s.crit) {
				_ = s.notifier.Notify(s.id, l)
			}
		}
	}
}

// randomFillLog makes the OrderFilled log of one leader fill as the only log of its transaction,
// the leader being the taker of the match. c.mu must be held.
func (c *FastChain) randomFillLog(block uint64, blockHash common.Hash, blockTime uint64, index uint) *types.Log {
	mi := c.rng.IntN(len(c.markets))
	f := polymarket.Fill{
		Exchange: c.opts.Exchanges[mi%len(c.opts.Exchanges)],
		Maker:    LeaderAddress(1 + c.rng.IntN(c.opts.Leaders)),
		TokenID:  c.markets[mi],
		Side:     polymarket.Buy,
		Shares:   (200 + c.rng.Uint64N(30_000)) * Lot,
	}
	if c.rng.IntN(3) == 0 {
		f.Side = polymarket.Sell
	}
	f.Taker = f.Exchange
	f.Collateral = f.Shares * ((5 + c.rng.Uint64N(91)) * Unit / 100) / Unit
	f.OrderHash = c.hash(c.txSeq, 1)
	topics, data := chainlog.Trade{OrderHash: f.OrderHash, Maker: f.Maker, Taker: f.Taker, Sell: f.Side == polymarket.Sell,
		TokenID: f.TokenID, Shares: f.Shares, Collateral: f.Collateral, Fee: f.Fee}.FastV2()
	c.txSeq++
	return &types.Log{Address: f.Exchange, Topics: topics, Data: data, BlockNumber: block, BlockHash: blockHash,
		BlockTimestamp: blockTime, TxHash: c.hash(c.txSeq, 0), TxIndex: index, Index: index}
}

// hash returns a distinct, uniformly spread hash for each (n, kind).
func (c *FastChain) hash(n, kind uint64) common.Hash {
	var h common.Hash
	x := n*4 + kind + uint64(c.opts.Seed)<<48
	for i := 0; i < len(h); i += 8 {
		// splitmix64
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		binary.BigEndian.PutUint64(h[i:], z^z>>31)
	}
	return h
}

// matches reports whether l passes the address and topic filters of crit.
func matches(l *types.Log, crit filters.FilterCriteria) bool {
	if len(crit.Addresses) > 0 && !slices.Contains(crit.Addresses, l.Address) {
		return false
	}
	if len(crit.Topics) > len(l.Topics) {
		return false
	}
	for i, want := range crit.Topics {
		if len(want) > 0 && !slices.Contains(want, l.Topics[i]) {
			return false
		}
	}
	return true
}

// fastAPI is the eth namespace of a FastChain.
type fastAPI struct{ c *FastChain }

// ChainId is eth_chainId.
func (a *fastAPI) ChainId() *hexutil.Big {
	return (*hexutil.Big)(new(big.Int).SetUint64(a.c.ChainID()))
}

func (a *fastAPI) BlockNumber() hexutil.Uint64 {
	a.c.mu.Lock()
	defer a.c.mu.Unlock()
	return hexutil.Uint64(a.c.head.Number.Uint64())
}

// GetBlockByNumber returns the header of a recent block (no transactions), or null.
func (a *fastAPI) GetBlockByNumber(number rpc.BlockNumber, _ bool) (any, error) {
	a.c.mu.Lock()
	defer a.c.mu.Unlock()
	if number < 0 { // latest, pending, safe, finalized
		return a.c.head, nil
	}
	if len(a.c.headers) > 0 {
		first := a.c.headers[0].Number.Int64()
		if i := number.Int64() - first; i >= 0 && i < int64(len(a.c.headers)) {
			return a.c.headers[i], nil
		}
	}
	return nil, nil // JSON null: not found
}

// GetLogs returns the matching logs of the kept blocks in crit's range.
func (a *fastAPI) GetLogs(crit filters.FilterCriteria) ([]*types.Log, error) {
	a.c.mu.Lock()
	defer a.c.mu.Unlock()
	head := a.c.head.Number.Uint64()
	from, to := head, head
	if crit.BlockHash != nil {
		for _, b := range a.c.blocks {
			if b.header.Hash() == *crit.BlockHash {
				from, to = b.header.Number.Uint64(), b.header.Number.Uint64()
			}
		}
	} else {
		if crit.FromBlock != nil && crit.FromBlock.Sign() >= 0 {
			from = crit.FromBlock.Uint64()
		}
		if crit.ToBlock != nil && crit.ToBlock.Sign() >= 0 {
			to = crit.ToBlock.Uint64()
		}
	}
	if from > to {
		return nil, errors.New("invalid block range params")
	}
	out := []*types.Log{}
	for _, b := range a.c.blocks {
		if n := b.header.Number.Uint64(); n < from || n > to {
			continue
		}
		for _, l := range b.logs {
			if matches(l, crit) {
				out = append(out, l)
			}
		}
		if len(out) > fastMaxResults {
			return nil, &limitError{fmt.Sprintf("query returned more than %d results", fastMaxResults)}
		}
	}
	return out, nil
}

// GetTransactionReceipt is eth_getTransactionReceipt: the receipt of a transaction of the kept
// blocks (its one log), or null for a transaction the chain does not hold, as a node answers
// (Ethereum JSON-RPC API, execution-apis: eth_getTransactionReceipt returns null when no
// receipt was found).
func (a *fastAPI) GetTransactionReceipt(tx common.Hash) (any, error) {
	a.c.mu.Lock()
	defer a.c.mu.Unlock()
	for _, b := range a.c.blocks {
		l, ok := b.byTx[tx]
		if !ok {
			continue
		}
		r := &types.Receipt{Type: types.DynamicFeeTxType, Status: types.ReceiptStatusSuccessful,
			CumulativeGasUsed: uint64(l.TxIndex+1) * 40_000, GasUsed: 40_000, Logs: []*types.Log{l}, TxHash: tx,
			BlockHash: l.BlockHash, BlockNumber: new(big.Int).SetUint64(l.BlockNumber), TransactionIndex: l.TxIndex,
			EffectiveGasPrice: new(big.Int).Set(b.header.BaseFee)}
		r.Bloom = types.CreateBloom(r)
		return r, nil
	}
	return nil, nil // JSON null: not found
}

// NewHeads is eth_subscribe("newHeads").
func (a *fastAPI) NewHeads(ctx context.Context) (*rpc.Subscription, error) {
	return a.c.subscribe(ctx, false, filters.FilterCriteria{})
}

// Logs is eth_subscribe("logs", crit).
func (a *fastAPI) Logs(ctx context.Context, crit filters.FilterCriteria) (*rpc.Subscription, error) {
	return a.c.subscribe(ctx, true, crit)
}

func (c *FastChain) subscribe(ctx context.Context, logs bool, crit filters.FilterCriteria) (*rpc.Subscription, error) {
	notifier, ok := rpc.NotifierFromContext(ctx)
	if !ok {
		return nil, rpc.ErrNotificationsUnsupported
	}
	sub := notifier.CreateSubscription()
	s := &fastSub{notifier: notifier, id: sub.ID, logs: logs, crit: crit}
	c.mu.Lock()
	c.subs[s] = struct{}{}
	c.mu.Unlock()
	go func() {
		<-sub.Err() // unsubscribed, or the connection closed
		c.mu.Lock()
		delete(c.subs, s)
		c.mu.Unlock()
	}()
	return sub, nil
}

// limitError is the JSON-RPC error of an eth_getLogs answer that would be too large.
type limitError struct{ msg string }

func (e *limitError) Error() string  { return e.msg }
func (e *limitError) ErrorCode() int { return -32005 }

// fastNetAPI is the net namespace of a FastChain.
type fastNetAPI struct{ c *FastChain }

func (a *fastNetAPI) Version() string { return strconv.FormatUint(a.c.ChainID(), 10) }
