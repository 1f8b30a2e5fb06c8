// Package sim is polysim: a local stand-in for Polygon that polybot's demo and end-to-end tests
// run against. It runs go-ethereum's simulated chain with real websocket and HTTP JSON-RPC on
// loopback, places a log-emitting contract at the CLOB V2 exchange addresses, and has synthetic
// leaders trade on it, so that polybot sees the same OrderFilled logs it sees on Polygon and
// cannot tell the difference.
package sim

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/txpool"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth"
	"github.com/ethereum/go-ethereum/eth/catalyst"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/p2p"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/polymarket"
)

// Defaults and limits of Options.
const (
	DefaultHost    = "127.0.0.1"
	DefaultLeaders = 3
	DefaultMarkets = 4
	// DefaultRate and DefaultBlockInterval are polysim's command-line defaults. In Options the
	// zero values mean "off" (no automatic trading, manual Commit only), which is what tests want.
	DefaultRate          = 1.0
	DefaultBlockInterval = 2 * time.Second

	MaxLeaders = 1000
	MaxMarkets = 256
	MaxRate    = 1000.0 // fills per second
)

// Errors returned by Sim.
var (
	// ErrClosed is returned by every method that needs the chain after Close.
	ErrClosed = errors.New("polysim is closed")
	// ErrBadMatch is returned by EmitMatch for a Match that cannot be emitted as given.
	ErrBadMatch = errors.New("invalid match")
	// ErrBacklog is returned by EmitMatch and EmitRandomFill when a block's worth of emitter calls
	// already waits for Commit.
	ErrBacklog = errors.New("too many emitter calls wait for the next block; commit first")
)

// Options configures a Sim. The zero value is a valid configuration: loopback on free ports,
// DefaultLeaders leaders over DefaultMarkets markets on both V2 exchanges, no automatic trading
// and no automatic blocks.
type Options struct {
	// Host is the address both RPC servers listen on. It must be a loopback IP; default 127.0.0.1.
	Host string
	// WSPort and HTTPPort are the RPC ports; 0 picks a free port (WSURL and HTTPURL tell which).
	// When both are 0, or both are equal, one server answers both protocols on one port.
	WSPort, HTTPPort int
	// Leaders is the number of synthetic leaders, 0x1000…0001 upwards; 0 means DefaultLeaders.
	Leaders int
	// Markets is the number of outcome tokens the leaders trade; 0 means DefaultMarkets.
	Markets int
	// Rate is the number of leader fills per second across all leaders; 0 means no automatic
	// trading (EmitMatch and EmitRandomFill still work).
	Rate float64
	// MaxFills, when positive, stops the automatic trading after that many random fills; blocks
	// are still mined, so a client can catch up with a finished stream.
	MaxFills int
	// BlockInterval is the time between mined blocks; 0 means blocks are mined only by Commit.
	BlockInterval time.Duration
	// Seed seeds the random trading, so that runs are reproducible.
	Seed int64
	// Exchanges are the addresses that get the log-emitting contract; markets are assigned to
	// them in turn. Empty means polymarket.CTFExchangeV2 and polymarket.NegRiskCTFExchangeV2.
	// Every current Polymarket exchange (polymarket.CurrentExchanges, ExchangeV3 among them) gets
	// the contract too, without markets, so that EmitMatch can name it.
	Exchanges []common.Address
	// CTF is where the log-emitting contract emits ConditionResolution (ResolveMarket); empty
	// means polymarket.ConditionalTokens.
	CTF common.Address
	// Payouts places Solidity stand-ins of the contracts that pay winnings out (the CTF, pUSD,
	// the collateral adapter, the proxy wallet factory; payouts.go) where they sit on Polygon.
	Payouts bool
	// ProxyOwners get a Polymarket proxy wallet and SafeOwners a 1-of-1 Gnosis Safe, each at
	// the address Polygon derives from its owner. They need Payouts.
	ProxyOwners, SafeOwners []common.Address
	// Log receives polysim's own logs; nil discards them.
	Log *zap.Logger
	// Record, if set, receives every log emitted by the exchanges as one JSON line each, in the
	// shape eth_getLogs returns, once its block is mined.
	Record io.Writer
	// PUSD, if set, places pUSD with these balances and allowances in the genesis (pusd.go).
	PUSD *PUSD
	// Accounts are more genesis accounts: code, storage and balances at fixed addresses, such
	// as a wallet contract at its CREATE2 address. They may not replace polysim's own contracts.
	Accounts types.GenesisAlloc
	// WalletOptions place deposit wallets and pUSD (wallets.go).
	WalletOptions
}

func (o *Options) validate() error {
	if o.Host == "" {
		o.Host = DefaultHost
	}
	if ip := net.ParseIP(o.Host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("host %q: must be a loopback IP address such as 127.0.0.1", o.Host)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"ws port", o.WSPort}, {"http port", o.HTTPPort}} {
		if p.v < 0 || p.v > 65535 {
			return fmt.Errorf("%s %d: must be between 0 (pick a free port) and 65535", p.name, p.v)
		}
	}
	if o.Leaders == 0 {
		o.Leaders = DefaultLeaders
	}
	if o.Leaders < 0 || o.Leaders > MaxLeaders {
		return fmt.Errorf("leaders %d: must be between 1 and %d", o.Leaders, MaxLeaders)
	}
	if o.Markets == 0 {
		o.Markets = DefaultMarkets
	}
	if o.Markets < 0 || o.Markets > MaxMarkets {
		return fmt.Errorf("markets %d: must be between 1 and %d", o.Markets, MaxMarkets)
	}
	if o.MaxFills < 0 {
		return fmt.Errorf("max fills %d: must be 0 (no limit) or positive", o.MaxFills)
	}
	if math.IsNaN(o.Rate) || o.Rate < 0 || o.Rate > MaxRate {
		return fmt.Errorf("rate %v: must be between 0 (no automatic trading) and %v fills per second", o.Rate, MaxRate)
	}
	if o.BlockInterval < 0 || (o.BlockInterval > 0 && o.BlockInterval < time.Millisecond) {
		return fmt.Errorf("block interval %v: must be 0 (manual commits) or at least 1ms", o.BlockInterval)
	}
	if len(o.Exchanges) == 0 {
		o.Exchanges = []common.Address{polymarket.CTFExchangeV2, polymarket.NegRiskCTFExchangeV2}
	}
	seen := make(map[common.Address]bool, len(o.Exchanges))
	for _, ex := range o.Exchanges {
		if ex == (common.Address{}) || seen[ex] {
			return fmt.Errorf("exchanges: %v is zero or listed twice; give distinct non-zero addresses", ex)
		}
		seen[ex] = true
	}
	o.Exchanges = slices.Clone(o.Exchanges)
	if o.CTF == (common.Address{}) {
		o.CTF = polymarket.ConditionalTokens
	}
	if seen[o.CTF] || o.CTF == RedeemAddress {
		return fmt.Errorf("ctf: %v is also an exchange or the redemption address; give a distinct address", o.CTF)
	}
	if !o.Payouts && len(o.ProxyOwners)+len(o.SafeOwners) > 0 {
		return errors.New("proxy and safe owners: their wallets need the payout contracts; set Payouts")
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return nil
}

// Sim is a running simulated chain with synthetic leaders. Its methods are safe for concurrent use.
type Sim struct {
	opts      Options
	log       *zap.Logger
	stack     *node.Node
	backend   *eth.Ethereum
	beacon    *catalyst.SimulatedBeacon
	client    *ethclient.Client // in-process, reads receipts
	chainID   *big.Int
	signer    types.Signer
	key       *ecdsa.PrivateKey
	wsURL     string
	httpURL   string
	markets   []*big.Int
	marketsEx map[string]common.Address // token id (decimal) → exchange
	emitters  map[common.Address]bool   // the addresses with the emitter contract
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	mu       sync.Mutex
	closed   bool
	running  bool
	rng      *rand.Rand
	nonce    uint64
	leaders  []common.Address
	holdings map[holding]uint64   // shares held, in base units
	prices   map[string]uint64    // token id (decimal) → its last traded price, in base units
	unsent   []*types.Transaction // signed, handed to the pool at the next Commit
	pending  []pendingTx          // sent or unsent, not mined yet
	replaced []common.Hash        // emitter calls ReorgReplacing dropped for good
	emitted  []polymarket.Fill
	resolved map[string]bool // token id (decimal) → its market resolved
	pay      *payouts        // the payout stand-ins (Options.Payouts); nil without
}

type holding struct {
	leader common.Address
	token  string
}

// pendingTx is a sent, not yet mined emitter call.
type pendingTx struct {
	hash      common.Hash
	leader    common.Address
	leaderLog int // index of the leader's OrderFilled among the call's logs
	// fill is the leader's fill as polysim made it, recorded before it was encoded: the ground
	// truth Emitted reports, completed with the position the chain gives the log.
	fill polymarket.Fill
}

const (
	// rpcTimeout bounds every in-process RPC call.
	rpcTimeout = 10 * time.Second
	// maxCallsPerBlock bounds the emitter calls of one block: at most about 40,000 gas each, they
	// fit a 60M gas block, so every call sent is mined by the next Commit.
	maxCallsPerBlock = 500
)

// New starts the chain and its RPC servers. The caller must call Run or Close.
func New(opts Options) (*Sim, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("polysim options: %w", err)
	}
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("generate sender key: %w", err)
	}
	alloc := core.SystemContractAllocs()
	maps.Copy(alloc, types.GenesisAlloc{
		crypto.PubkeyToAddress(key.PublicKey): {Balance: new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))},
	})
	emitters := make(map[common.Address]bool)
	exchangeCode, err := exchangeRuntime()
	if err != nil {
		return nil, err
	}
	for _, ex := range append(slices.Clone(opts.Exchanges), polymarket.CurrentExchanges()...) {
		alloc[ex] = types.Account{Code: exchangeCode, Balance: new(big.Int)}
		emitters[ex] = true
	}
	alloc[opts.CTF] = types.Account{Code: emitterCode, Balance: new(big.Int)}
	alloc[RedeemAddress] = types.Account{Code: redeemSinkCode, Balance: new(big.Int)}
	if err := opts.allocWallets(alloc); err != nil {
		return nil, fmt.Errorf("polysim options: %w", err)
	}
	if err := opts.placeGenesis(alloc); err != nil {
		return nil, fmt.Errorf("polysim options: %w", err)
	}
	var pay *payouts
	if opts.Payouts {
		if pay, err = placePayouts(alloc, &opts, crypto.PubkeyToAddress(key.PublicKey)); err != nil {
			return nil, err
		}
	}

	nodeConf := node.DefaultConfig
	nodeConf.DataDir = ""
	nodeConf.IPCPath = "" // no IPC socket: parallel sims must not share one
	nodeConf.P2P = p2p.Config{NoDiscovery: true}
	nodeConf.HTTPHost, nodeConf.HTTPPort = opts.Host, opts.HTTPPort
	nodeConf.WSHost, nodeConf.WSPort = opts.Host, opts.WSPort
	nodeConf.HTTPModules = []string{"eth", "net", "web3"}
	nodeConf.WSModules = []string{"eth", "net", "web3"}

	// The same configuration as go-ethereum's ethclient/simulated.NewBackend. That constructor
	// hides its node, so it cannot tell which ports it bound when asked for port 0; polysim
	// assembles the same pieces itself to report the real URLs.
	ethConf := ethconfig.Defaults
	ethConf.Genesis = &core.Genesis{
		Config:   params.AllDevChainProtocolChanges,
		GasLimit: ethconfig.Defaults.Miner.GasCeil,
		Alloc:    alloc,
	}
	ethConf.SyncMode = ethconfig.FullSync
	ethConf.TxPool.NoLocals = true
	ethConf.TxPool.AccountSlots = 2 * maxCallsPerBlock
	ethConf.TxPool.AccountQueue = 2 * maxCallsPerBlock
	ethConf.LogNoHistory = true

	stack, err := node.New(&nodeConf)
	if err != nil {
		return nil, fmt.Errorf("create node: %w", err)
	}
	backend, err := eth.New(stack, &ethConf)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("create chain: %w", err), stack.Close())
	}
	stack.RegisterAPIs([]rpc.API{{
		Namespace: "eth",
		Service:   filters.NewFilterAPI(filters.NewFilterSystem(backend.APIBackend, filters.Config{})),
	}})
	if err := stack.Start(); err != nil {
		return nil, errors.Join(fmt.Errorf("start node: %w", err), stack.Close())
	}
	beacon, err := catalyst.NewSimulatedBeacon(0, common.Address{}, backend)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("create block producer: %w", err), stack.Close())
	}
	if err := beacon.Fork(backend.BlockChain().GetCanonicalHash(0)); err != nil {
		return nil, errors.Join(fmt.Errorf("reset to genesis: %w", err), beacon.Stop(), stack.Close())
	}

	chainID := new(big.Int).Set(params.AllDevChainProtocolChanges.ChainID)
	s := &Sim{
		opts:      opts,
		log:       opts.Log,
		stack:     stack,
		backend:   backend,
		beacon:    beacon,
		client:    ethclient.NewClient(stack.Attach()),
		chainID:   chainID,
		signer:    types.LatestSignerForChainID(chainID),
		key:       key,
		wsURL:     stack.WSEndpoint(),
		httpURL:   stack.HTTPEndpoint(),
		marketsEx: make(map[string]common.Address, opts.Markets),
		emitters:  emitters,
		done:      make(chan struct{}),
		rng:       rand.New(rand.NewPCG(uint64(opts.Seed), 0x706f6c7973696d)), // "polysim"
		holdings:  make(map[holding]uint64),
		prices:    make(map[string]uint64),
		resolved:  make(map[string]bool),
		pay:       pay,
	}
	for i := range opts.Leaders {
		s.leaders = append(s.leaders, LeaderAddress(i+1))
	}
	for i := range opts.Markets {
		token := MarketToken(i)
		s.markets = append(s.markets, token)
		s.marketsEx[token.String()] = opts.Exchanges[i%len(opts.Exchanges)]
	}
	s.log.Info("chain started",
		zap.String("ws", s.wsURL), zap.String("http", s.httpURL), zap.Uint64("chain_id", s.ChainID()))
	return s, nil
}

// LeaderAddress is the address of synthetic leader i (from 1): 0x1000…000i.
func LeaderAddress(i int) common.Address {
	var a common.Address
	a[0] = 0x10
	big.NewInt(int64(i)).FillBytes(a[12:])
	return a
}

// MarketToken is the outcome token id of market i (from 0): the CTF position id of slot 0 of the
// market's condition (markets.go), a fixed 256-bit number like the token ids of real Polymarket
// markets.
func MarketToken(i int) *big.Int {
	return new(big.Int).Set(marketAt(i).token)
}

// WSURL is the websocket JSON-RPC URL, e.g. ws://127.0.0.1:8546.
func (s *Sim) WSURL() string { return s.wsURL }

// HTTPURL is the HTTP JSON-RPC URL, e.g. http://127.0.0.1:8545.
func (s *Sim) HTTPURL() string { return s.httpURL }

// ChainID is the chain id the RPC reports (1337).
func (s *Sim) ChainID() uint64 { return s.chainID.Uint64() }

// Exchanges are the addresses that emit logs.
func (s *Sim) Exchanges() []common.Address { return slices.Clone(s.opts.Exchanges) }

// Markets are the outcome token ids the synthetic leaders trade.
func (s *Sim) Markets() []*big.Int {
	out := make([]*big.Int, len(s.markets))
	for i, m := range s.markets {
		out[i] = new(big.Int).Set(m)
	}
	return out
}

// ExchangeFor is the exchange a market trades on; Exchanges()[0] for a token polysim does not know.
func (s *Sim) ExchangeFor(token *big.Int) common.Address {
	if ex, ok := s.marketsEx[token.String()]; ok {
		return ex
	}
	return s.opts.Exchanges[0]
}

// LeaderAddresses are the leaders that trade, including the ones added by AddLeader.
func (s *Sim) LeaderAddresses() []common.Address {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.leaders)
}

// AddLeader makes addr trade in the random fills from now on. Adding a leader twice is a no-op.
func (s *Sim) AddLeader(addr common.Address) error {
	if addr == (common.Address{}) {
		return errors.New("add leader: zero address")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.leaders, addr) {
		s.leaders = append(s.leaders, addr)
	}
	return nil
}

// Emitted returns the leaders' own fills (maker = leader) of every mined emitter call, in chain
// order, as polysim made them (recorded before encoding, never decoded back), with the block,
// tx hash and log index the chain gave their logs. Fills whose call is not mined yet are not included.
func (s *Sim) Emitted() []polymarket.Fill {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]polymarket.Fill, len(s.emitted))
	for i, f := range s.emitted {
		f.TokenID = new(big.Int).Set(f.TokenID)
		out[i] = f
	}
	return out
}

// Run mines a block every BlockInterval and emits a random fill at Rate until ctx is done, then
// closes the chain. It returns nil on cancellation or after Close, and an error if the chain fails.
func (s *Sim) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.running {
		s.mu.Unlock()
		return errors.New("polysim is already running")
	}
	s.running = true
	s.mu.Unlock()

	var blocks, trades <-chan time.Time
	if s.opts.BlockInterval > 0 {
		t := time.NewTicker(s.opts.BlockInterval)
		defer t.Stop()
		blocks = t.C
	}
	if s.opts.Rate > 0 {
		t := time.NewTicker(max(time.Duration(float64(time.Second)/s.opts.Rate), time.Millisecond))
		defer t.Stop()
		trades = t.C
	}
	fills := 0
	for {
		var err error
		select {
		case <-ctx.Done():
			return s.Close()
		case <-s.done:
			return nil
		case <-blocks:
			_, err = s.Commit()
		case <-trades:
			_, _, err = s.EmitRandomFill()
			switch {
			case errors.Is(err, ErrBacklog):
				s.log.Debug("random fill skipped: too many calls wait for the next block")
				err = nil
			case err == nil:
				if fills++; fills == s.opts.MaxFills {
					trades = nil
					s.log.Info("trading stopped after the last fill (max fills)", zap.Int("fills", fills))
				}
			}
		}
		if errors.Is(err, ErrClosed) {
			return nil
		}
		if err != nil {
			return errors.Join(err, s.Close())
		}
	}
}

// Close stops the chain and its RPC servers, freeing their ports. It is safe to call more than once.
func (s *Sim) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.done)
		s.mu.Unlock()
		s.client.Close()
		s.closeErr = errors.Join(s.beacon.Stop(), s.stack.Close())
		s.log.Info("chain stopped")
	})
	return s.closeErr
}

// Commit mines a block now, with every pending emitter call, and returns its number.
func (s *Sim) Commit() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrClosed
	}
	if err := s.submit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	before := s.backend.BlockChain().CurrentBlock().Number.Uint64()
	hash := s.beacon.Commit()
	number := s.backend.BlockChain().CurrentBlock().Number.Uint64()
	if number != before+1 {
		return number, fmt.Errorf("commit: head is block %d after sealing on block %d", number, before)
	}
	if err := s.collect(hash); err != nil {
		return number, fmt.Errorf("commit block %d: %w", number, err)
	}
	return number, nil
}

// submit hands the signed emitter calls to the transaction pool, all in one batch, and checks
// that they are all executable. s.mu must be held.
//
// Calls are held back until Commit because go-ethereum's pool can strand a transaction in its
// queue when the promotion after its arrival is merged with a head reset while an earlier
// transaction of the same sender is pending (the reset restarts the sender's nonce from the
// state). Submitting one batch when the previous calls are already mined avoids that.
func (s *Sim) submit() error {
	if len(s.unsent) == 0 {
		return nil
	}
	txs := s.unsent
	s.unsent = nil
	pool := s.backend.TxPool()
	// The pool moves to a new head in the background: without this, a transaction whose gas
	// arrived in the block just sealed can be refused for the balance before it.
	if err := pool.Sync(); err != nil {
		return fmt.Errorf("sync pool: %w", err)
	}
	if err := errors.Join(pool.Add(txs, true)...); err != nil {
		return fmt.Errorf("submit emitter calls: %w", err)
	}
	for attempt := 0; ; attempt++ {
		stuck := 0
		for _, tx := range txs {
			if pool.Status(tx.Hash()) != txpool.TxStatusPending {
				stuck++
			}
		}
		if stuck == 0 {
			return nil
		}
		if attempt == 3 {
			return fmt.Errorf("%d of %d emitter calls are not executable in the pool", stuck, len(txs))
		}
		if err := pool.Sync(); err != nil {
			return fmt.Errorf("sync pool: %w", err)
		}
	}
}

// collect reads the receipts of a freshly mined block: it records its logs and moves the
// leaders' fills of the calls it includes from pending to emitted. s.mu must be held.
func (s *Sim) collect(block common.Hash) error {
	if len(s.pending) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	receipts, err := s.client.BlockReceipts(ctx, rpc.BlockNumberOrHashWithHash(block, false))
	if err != nil {
		return fmt.Errorf("read receipts: %w", err)
	}
	header, err := s.client.HeaderByHash(ctx, block)
	if err != nil {
		return fmt.Errorf("read header: %w", err)
	}
	byTx := make(map[common.Hash]*types.Receipt, len(receipts))
	for _, r := range receipts {
		byTx[r.TxHash] = r
		if s.opts.Record != nil {
			for _, l := range r.Logs {
				line, err := json.Marshal(l)
				if err != nil {
					return fmt.Errorf("record log: %w", err)
				}
				if _, err := s.opts.Record.Write(append(line, '\n')); err != nil {
					return fmt.Errorf("record log: %w", err)
				}
			}
		}
	}
	var errs []error
	still := s.pending[:0]
	for _, p := range s.pending {
		r, ok := byTx[p.hash]
		if !ok {
			still = append(still, p) // not in this block: stays pending
			continue
		}
		if r.Status != types.ReceiptStatusSuccessful {
			errs = append(errs, fmt.Errorf("emitter call %v reverted", p.hash))
			continue
		}
		if p.leaderLog >= len(r.Logs) {
			errs = append(errs, fmt.Errorf("emitter call %v emitted %d logs, want more than %d", p.hash, len(r.Logs), p.leaderLog))
			continue
		}
		l := r.Logs[p.leaderLog]
		if len(l.Topics) < 3 || l.Topics[2] != common.BytesToHash(p.leader.Bytes()) || l.Address != p.fill.Exchange {
			errs = append(errs, fmt.Errorf("emitter call %v: log %d is not the leader's fill", p.hash, p.leaderLog))
			continue
		}
		f := p.fill
		f.TokenID = new(big.Int).Set(p.fill.TokenID)
		f.Block, f.BlockHash, f.TxHash, f.LogIndex, f.BlockTime, f.Removed = l.BlockNumber, l.BlockHash, l.TxHash, l.Index, l.BlockTimestamp, false
		if f.BlockTime == 0 { // receipts' logs carry no block timestamp
			f.BlockTime = header.Time
		}
		s.emitted = append(s.emitted, f)
		s.log.Info("leader fill",
			zap.Stringer("leader", f.Maker),
			zap.Stringer("side", f.Side),
			zap.String("token", f.Market()),
			zap.String("shares", decimal.NewFromBigInt(new(big.Int).SetUint64(f.Shares), -6).String()),
			zap.String("price", f.Price().String()),
			zap.Uint64("block", f.Block),
			zap.Stringer("tx", f.TxHash))
	}
	s.pending = still
	return errors.Join(errs...)
}
