// Package clobsim is a fake Polymarket CLOB for polybot's tests and for polysim: a real HTTP
// server on loopback that checks requests as strictly as the CLOB does (L1 signatures, L2
// HMACs over the exact body, V2 order signatures and domains, tick grid, minimum size,
// duplicates, cent-precise market BUY amounts) and matches orders against an in-memory book per
// market: a market BUY spends its collateral at the book's prices, the taker pays the market's
// fee, and the open orders of an API key whose heartbeats stop are canceled. Faults can be
// injected per route: overrides, delays, forced status codes and "accept then stall"; Pause
// refuses orders as an engine restart (425) or cancel-only mode (503) does.
package clobsim

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
)

// Routes, as the request counters and fault hooks name them.
const (
	RouteVersion          = "GET /version"
	RouteTime             = "GET /time"
	RouteBook             = "GET /book"
	RouteTickSize         = "GET /tick-size"
	RouteNegRisk          = "GET /neg-risk"
	RouteFeeRate          = "GET /fee-rate"
	RouteCreateAPIKey     = "POST /auth/api-key"
	RouteDeriveAPIKey     = "GET /auth/derive-api-key"
	RoutePostOrder        = "POST /order"
	RouteCancelOrder      = "DELETE /order"
	RouteGetOrder         = "GET /data/order/{id}"
	RouteBalanceAllowance = "GET /balance-allowance"
	RouteMarket           = "GET /markets/{condition_id}"
	RouteClobMarket       = "GET /clob-markets/{condition_id}"
	RouteHeartbeat        = "POST /heartbeats"
	// RouteUpdateBalanceAllowance refreshes the server's cached balance (see BalanceCache).
	RouteUpdateBalanceAllowance = "GET /balance-allowance/update"
	// RouteClosedOnly reports the API key holder's closed-only flag (rules_access.go).
	RouteClosedOnly = "GET /auth/ban-status/closed-only"
	// RouteGeoblock stands in for polymarket.com's GET /api/geoblock, which says whether the
	// caller's region may place orders (rules_access.go).
	RouteGeoblock = "GET /api/geoblock"
)

// DefaultHeartbeatTimeout is how long after an API key's last heartbeat the server cancels
// its open orders, once that key has sent one.
const DefaultHeartbeatTimeout = 10 * time.Second

// Default V2 exchange addresses on Polygon: names for polymarket.CTFExchangeV2 and
// polymarket.NegRiskCTFExchangeV2.
var (
	DefaultCTFExchange     = polymarket.CTFExchangeV2
	DefaultNegRiskExchange = polymarket.NegRiskCTFExchangeV2
)

// maxBody bounds request bodies.
const maxBody = 1 << 20

// Exchanges are the verifying contracts of the order domains: CTF and NegRisk of domain
// version "2" (CTF token ids), V3 of domain version "3" (Protocol V2 position ids, and every
// order once GET /version announces 3: rules_version.go).
type Exchanges struct {
	CTF     common.Address
	NegRisk common.Address
	// V3 is ExchangeV3, the exchange of ProtocolV2 markets. Default polymarket.ExchangeV3.
	V3 common.Address
}

// Market is one outcome token's book. Bids and Asks may be given in any order; sizes are in
// shares (at most 6 decimals) and prices must sit on the tick grid.
type Market struct {
	TokenID     string
	ConditionID string // the "market" field of GET /book
	Outcome     int    // the token's outcome slot in its condition (GET /markets lists tokens by it)
	// Question and OutcomeName are what GET /markets/{condition_id} answers as the market's
	// "question" and the token's "outcome" (docs.polymarket.com/developers/CLOB/markets/get-market,
	// the Market object). Question is taken from the condition's first token; without
	// OutcomeName the outcome is the token id.
	Question    string
	OutcomeName string
	TickSize    decimal.Decimal
	MinSize     decimal.Decimal
	NegRisk     bool
	// ProtocolV2 marks a Protocol V2 market (Gamma "version": "v2"): TokenID is one of its
	// positionIds, and its orders are accepted only when signed for ExchangeV3 under EIP-712
	// domain version "3", whatever NegRisk says (docs.polymarket.com/protocol-v2-migration:
	// "V2 orders use ExchangeV3, signing domain version "3""; clob-client-v2
	// tests/client/positionOrders.test.ts signs a neg-risk position order for ExchangeV3). The
	// order's "tokenId" carries the position id.
	ProtocolV2 bool
	// FeeRateBps and FeeExponent are the market's fee schedule: the taker of each match pays
	// C·rate·(p·(1−p))^exponent (rules_fees.go), as GET /clob-markets/{condition_id} announces
	// it in "fd". FeeExponent 0 means 1. GET /fee-rate answers only the legacy base_fee.
	FeeRateBps  int
	FeeExponent int
	Bids        []order.Level
	Asks        []order.Level
}

// Account is an API key's holder: its credentials and the signer EOA they belong to.
type Account struct {
	Credentials clob.Credentials
	Address     common.Address
}

// Balance is a wallet's holdings in base units (6 decimals): collateral and shares per token.
type Balance struct {
	Collateral int64
	Tokens     map[string]int64
}

func (b Balance) clone() Balance {
	c := Balance{Collateral: b.Collateral, Tokens: make(map[string]int64, len(b.Tokens))}
	for k, v := range b.Tokens {
		c.Tokens[k] = v
	}
	return c
}

// Options configure a Server.
type Options struct {
	// ChainID of the order and ClobAuth domains. Default 137.
	ChainID int64
	// Exchanges are the V2 exchange addresses. Default the Polygon V2 exchanges.
	Exchanges Exchanges
	Markets   []Market
	// Accounts are API keys known from the start; L1 create/derive adds more.
	Accounts map[string]Account
	// Funders maps a signer EOA to its funder: the proxy or safe that is the maker of its
	// POLY_PROXY/POLY_GNOSIS_SAFE orders (whose address the order check derives itself,
	// rules_wallets.go), or the deposit wallet of its POLY_1271 orders. Balance queries with a
	// non-zero signature_type read the funder's balance.
	Funders map[common.Address]common.Address
	// Chain is where POLY_1271 orders are checked: clobsim calls the deposit wallet's
	// isValidSignature there (polysim's RPC, e.g. an *ethclient.Client). Without it POLY_1271
	// orders are refused.
	Chain ethereum.ContractCaller
	// Balances by maker address (the EOA for EOA orders, else the funder). Fills move them.
	Balances map[common.Address]Balance
	// Version is what GET /version announces. Default 2.
	Version int
	// AllowancesMap makes GET /balance-allowance answer {"allowances":{spender:amount}} (newer
	// servers) instead of {"allowance":amount}.
	AllowancesMap bool
	// BalanceCache makes the server check orders against its cached balances, as the real
	// CLOB does: a wallet's balance of an asset (collateral or one token) is read into the
	// cache the first time an order or GET /balance-allowance asks for it, is reduced by what
	// the wallet's own orders spend, and takes in what they receive only when GET
	// /balance-allowance/update refreshes it. A SELL of shares just bought is then refused
	// with "not enough balance / allowance" until that refresh.
	BalanceCache bool
	Log          *zap.Logger
	// Now is the server's clock (GET /time, order creation times, heartbeats, pauses). Default
	// time.Now.
	Now func() time.Time
	// Settler, if set, puts every matched trade on chain (settle.go).
	Settler Settler
	// HeartbeatTimeout: once an API key has sent POST /heartbeats, its open orders are
	// canceled when no heartbeat follows within this long. Default DefaultHeartbeatTimeout.
	HeartbeatTimeout time.Duration
}

// OverrideFunc replaces a route's handler; next is the real one, to call or not.
type OverrideFunc func(w http.ResponseWriter, r *http.Request, next http.Handler)

type fault struct {
	override   OverrideFunc
	delay      time.Duration // before handling
	stall      time.Duration // after handling, before answering
	failN      int
	failStatus int
	retryAfter time.Duration
}

// Server is the fake CLOB. Create it with New, then Start it.
type Server struct {
	chainID       int64
	exch          Exchanges
	allowancesMap bool
	balanceCache  bool
	log           *zap.Logger
	now           func() time.Time
	mux           *http.ServeMux

	srv       *http.Server
	url       string
	serveDone chan struct{}
	closing   chan struct{}
	closeOnce sync.Once
	handlers  sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	version  int
	books    map[string]*book
	accounts map[string]Account
	funders  map[common.Address]common.Address
	balances map[common.Address]Balance
	cached   map[cacheKey]int64 // BalanceCache: the server's view of balances
	updates  map[common.Address]int
	orders   map[common.Hash]*simOrder
	faults   map[string]*fault
	counts   map[string]int
	late     orderFaults // delayed orders, answers without amounts (orders.go)
	chain    settleState // matched trades settled on chain, misreported answers (settle.go)
	trades   tradeBook   // trades and their settlement (trades.go)
	access   accessRules // who may trade what, and when (rules_access.go)
	// walletChain answers the deposit wallets' isValidSignature (rules_wallets.go).
	walletChain ethereum.ContractCaller

	hbTimeout   time.Duration
	heartbeats  map[string]heartbeat // API key -> its heartbeat session
	hbSeq       int
	pausedUntil time.Time // POST /order is refused with pauseStatus until then
	pauseStatus int
}

// heartbeat is an API key's heartbeat session: the id the next heartbeat must carry and when
// the last one came.
type heartbeat struct {
	id   string
	last time.Time
}

// New validates opts and builds a server; it does not listen yet.
func New(opts Options) (*Server, error) {
	if opts.ChainID == 0 {
		opts.ChainID = 137
	}
	if opts.ChainID < 0 {
		return nil, fmt.Errorf("clobsim: chain id %d must be positive", opts.ChainID)
	}
	if opts.Exchanges == (Exchanges{}) {
		opts.Exchanges = Exchanges{CTF: DefaultCTFExchange, NegRisk: DefaultNegRiskExchange}
	}
	if opts.Exchanges.V3 == (common.Address{}) {
		opts.Exchanges.V3 = polymarket.ExchangeV3
	}
	if opts.Exchanges.V3 == opts.Exchanges.CTF || opts.Exchanges.V3 == opts.Exchanges.NegRisk {
		return nil, fmt.Errorf("clobsim: ExchangeV3 %s must differ from the V2 exchanges", opts.Exchanges.V3)
	}
	if opts.Exchanges.CTF == (common.Address{}) || opts.Exchanges.NegRisk == (common.Address{}) || opts.Exchanges.CTF == opts.Exchanges.NegRisk {
		return nil, fmt.Errorf("clobsim: exchanges %s and %s must be two distinct non-zero addresses", opts.Exchanges.CTF, opts.Exchanges.NegRisk)
	}
	if opts.Version == 0 {
		opts.Version = 2
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HeartbeatTimeout < 0 {
		return nil, fmt.Errorf("clobsim: heartbeat timeout %v is negative", opts.HeartbeatTimeout)
	}
	if opts.HeartbeatTimeout == 0 {
		opts.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	s := &Server{
		hbTimeout:     opts.HeartbeatTimeout,
		heartbeats:    make(map[string]heartbeat),
		chainID:       opts.ChainID,
		exch:          opts.Exchanges,
		allowancesMap: opts.AllowancesMap,
		balanceCache:  opts.BalanceCache,
		cached:        make(map[cacheKey]int64),
		updates:       make(map[common.Address]int),
		log:           opts.Log.Named("clobsim"),
		now:           opts.Now,
		version:       opts.Version,
		books:         make(map[string]*book),
		accounts:      make(map[string]Account),
		funders:       make(map[common.Address]common.Address),
		balances:      make(map[common.Address]Balance),
		orders:        make(map[common.Hash]*simOrder),
		faults:        make(map[string]*fault),
		counts:        make(map[string]int),
		serveDone:     make(chan struct{}),
		closing:       make(chan struct{}),
	}
	for _, m := range opts.Markets {
		b, err := newBook(m)
		if err != nil {
			return nil, err
		}
		if _, dup := s.books[m.TokenID]; dup {
			return nil, fmt.Errorf("clobsim: market %s listed twice", m.TokenID)
		}
		s.books[m.TokenID] = b
	}
	for k, a := range opts.Accounts {
		if k != a.Credentials.APIKey {
			return nil, fmt.Errorf("clobsim: account listed under %q has API key %q", k, a.Credentials.APIKey)
		}
		if err := a.Credentials.Validate(); err != nil {
			return nil, fmt.Errorf("clobsim: account %q: %w", k, err)
		}
		s.accounts[k] = a
	}
	for k, v := range opts.Funders {
		s.funders[k] = v
	}
	s.trades.settler = opts.Settler
	s.walletChain = opts.Chain
	for k, v := range opts.Balances {
		s.balances[k] = v.clone()
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc(RouteVersion, s.handleVersion)
	s.mux.HandleFunc(RouteTime, s.handleTime)
	s.mux.HandleFunc(RouteBook, s.handleBook)
	s.mux.HandleFunc(RouteTickSize, s.handleTickSize)
	s.mux.HandleFunc(RouteNegRisk, s.handleNegRisk)
	s.mux.HandleFunc(RouteFeeRate, s.handleFeeRate)
	s.mux.HandleFunc(RouteCreateAPIKey, s.handleAPIKey)
	s.mux.HandleFunc(RouteDeriveAPIKey, s.handleAPIKey)
	s.mux.HandleFunc(RoutePostOrder, s.handlePostOrder)
	s.mux.HandleFunc(RouteCancelOrder, s.handleCancelOrder)
	s.mux.HandleFunc(RouteGetOrder, s.handleGetOrder)
	s.mux.HandleFunc(RouteTrades, s.handleTrades)
	s.mux.HandleFunc(RouteBalanceAllowance, s.handleBalanceAllowance)
	s.mux.HandleFunc(RouteMarket, s.handleMarket)
	s.mux.HandleFunc(RouteClobMarket, s.handleClobMarket)
	s.mux.HandleFunc(RouteHeartbeat, s.handleHeartbeat)
	s.mux.HandleFunc(RouteUpdateBalanceAllowance, s.handleUpdateBalanceAllowance)
	s.mux.HandleFunc(RouteClosedOnly, s.handleClosedOnly)
	s.mux.HandleFunc(RouteGeoblock, s.handleGeoblock)
}

// Start listens on addr (host:port; "" for 127.0.0.1 on a free port) and serves. Only
// loopback addresses are accepted: the fake exchange is never exposed.
func (s *Server) Start(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("clobsim: listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("clobsim: listen address %q is not loopback (use 127.0.0.1)", addr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil || s.closed {
		return errors.New("clobsim: already started or closed")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("clobsim: listen: %w", err)
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: zap.NewStdLog(s.log)}
	s.url = "http://" + ln.Addr().String()
	go func() {
		defer close(s.serveDone)
		_ = s.srv.Serve(ln) // returns http.ErrServerClosed on Close
	}()
	s.log.Info("fake CLOB listening", zap.String("url", s.url))
	return nil
}

// URL returns the base URL, e.g. http://127.0.0.1:41234 ("" before Start).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Close stops the server, ends stalled handlers and waits for every handler to return.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		srv := s.srv
		s.mu.Unlock()
		close(s.closing)
		if srv != nil {
			_ = srv.Close()
			<-s.serveDone
		}
		s.handlers.Wait()
	})
}

// ServeHTTP counts the request, applies the route's faults and serves it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, route := s.mux.Handler(r)
	if route == "" {
		route = r.Method + " " + r.URL.Path
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "server closing")
		return
	}
	s.handlers.Add(1)
	defer s.handlers.Done()
	s.counts[route]++
	s.expireHeartbeatsLocked()
	var f fault
	if p := s.faults[route]; p != nil {
		f = *p
		if p.failN > 0 {
			p.failN--
		}
	}
	s.mu.Unlock()

	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if f.delay > 0 && !s.wait(r, f.delay) {
		return
	}
	if f.failN > 0 {
		if f.retryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int64((f.retryAfter+time.Second-1)/time.Second)))
		}
		writeError(w, f.failStatus, fmt.Sprintf("simulated %d", f.failStatus))
		return
	}
	var next http.Handler = s.mux
	if f.override != nil {
		o := f.override
		next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { o(w, r, s.mux) })
	}
	if f.stall <= 0 {
		next.ServeHTTP(w, r)
		return
	}
	// Accept then stall: do the work, hold the answer back.
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	if !s.wait(r, f.stall) {
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// wait waits d, or until the client goes away or the server closes (false).
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closing:
		return false
	}
}

func (s *Server) faultFor(route string) *fault {
	f := s.faults[route]
	if f == nil {
		f = &fault{}
		s.faults[route] = f
	}
	return f
}

// Override replaces route's handler with h (nil restores it).
func (s *Server) Override(route string, h OverrideFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultFor(route).override = h
}

// Delay holds every request to route for d before handling it (0 removes the delay).
func (s *Server) Delay(route string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultFor(route).delay = d
}

// StallAfterAccept makes route do its work (an order is placed and recorded) and then hold the
// answer for d, or until the client gives up: the client sees a timeout on an accepted
// request. 0 removes the stall.
func (s *Server) StallAfterAccept(route string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultFor(route).stall = d
}

// FailNext answers the next n requests to route with status, without handling them, and with a
// Retry-After header (whole seconds, rounded up) when retryAfter > 0.
func (s *Server) FailNext(route string, n, status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faultFor(route)
	f.failN, f.failStatus, f.retryAfter = n, status, retryAfter
}

// ClearFaults removes every override, delay, stall and forced failure.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = make(map[string]*fault)
}

// Requests returns how many requests route has received (faulted ones included).
func (s *Server) Requests(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

// SetVersion changes what GET /version announces.
func (s *Server) SetVersion(v int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = v
}

// AddAccount registers an API key.
func (s *Server) AddAccount(a Account) error {
	if err := a.Credentials.Validate(); err != nil {
		return fmt.Errorf("clobsim: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[a.Credentials.APIKey] = a
	return nil
}

// SetFunder registers funder as the maker wallet of signer's proxy, safe or 1271 orders.
func (s *Server) SetFunder(signer, funder common.Address) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.funders[signer] = funder
}

// SetBalance sets addr's holdings.
func (s *Server) SetBalance(addr common.Address, b Balance) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.balances[addr] = b.clone()
}

// Balance returns addr's holdings.
func (s *Server) Balance(addr common.Address) Balance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.balances[addr].clone()
}

// OrderState is an order the server has accepted. Sizes are share base units.
type OrderState struct {
	Hash         common.Hash
	Owner        string
	Maker        common.Address
	TokenID      string
	Side         order.Side
	Price        decimal.Decimal
	OriginalSize int64
	SizeMatched  int64
	Status       string // LIVE, MATCHED, CANCELED
	OrderType    order.OrderType
	// Fee is the taker fee charged when the order matched on arrival (collateral base units):
	// the taker fee of each fill (takerFee) at the market's FeeRateBps.
	Fee int64
}

// Order returns the accepted order with hash h.
func (s *Server) Order(h common.Hash) (OrderState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[h]
	if !ok {
		return OrderState{}, false
	}
	return o.OrderState, true
}

// SetTickSize changes tokenID's tick size, as the CLOB does when a price nears 0 or 1. Every
// resting price must sit on the new grid.
func (s *Server) SetTickSize(tokenID string, tick decimal.Decimal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.books[tokenID]
	if b == nil {
		return fmt.Errorf("clobsim: no market %s", tokenID)
	}
	if err := order.ValidatePrice(tick, tick); err != nil {
		return fmt.Errorf("clobsim: market %s: tick size: %w", tokenID, err)
	}
	for _, e := range append(append([]*entry(nil), b.bids...), b.asks...) {
		if !e.price.Mod(tick).IsZero() {
			return fmt.Errorf("clobsim: market %s: resting price %s is off the tick %s", tokenID, e.price, tick)
		}
	}
	b.TickSize = tick
	return nil
}

// Levels returns tokenID's aggregated book as GET /book sends it (best last).
func (s *Server) Levels(tokenID string) (bids, asks []order.Level) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.books[tokenID]
	if b == nil {
		return nil, nil
	}
	return aggregate(b.bids), aggregate(b.asks)
}

// newBook validates m and seeds its book, best first.
func newBook(m Market) (*book, error) {
	if m.TokenID == "" || !isDecimalInt(m.TokenID) {
		return nil, fmt.Errorf("clobsim: market token id %q is not a decimal integer", m.TokenID)
	}
	if err := order.ValidatePrice(m.TickSize, m.TickSize); err != nil {
		return nil, fmt.Errorf("clobsim: market %s: tick size: %w", m.TokenID, err)
	}
	if m.MinSize.IsNegative() {
		return nil, fmt.Errorf("clobsim: market %s: negative minimum size", m.TokenID)
	}
	if m.FeeRateBps < 0 || m.FeeRateBps > 10000 {
		return nil, fmt.Errorf("clobsim: market %s: fee rate %d bps outside [0, 10000]", m.TokenID, m.FeeRateBps)
	}
	if m.FeeExponent < 0 || m.FeeExponent > 4 {
		return nil, fmt.Errorf("clobsim: market %s: fee exponent %d outside [0, 4]", m.TokenID, m.FeeExponent)
	}
	b := &book{Market: m}
	for _, side := range []struct {
		levels []order.Level
		dst    *[]*entry
	}{{m.Bids, &b.bids}, {m.Asks, &b.asks}} {
		for _, l := range side.levels {
			if err := order.ValidatePrice(l.Price, m.TickSize); err != nil {
				return nil, fmt.Errorf("clobsim: market %s: %w", m.TokenID, err)
			}
			units := l.Size.Shift(6)
			if !units.IsInteger() || !units.IsPositive() || !units.LessThan(decimal.New(1, 18)) {
				return nil, fmt.Errorf("clobsim: market %s: level size %s must be positive with at most 6 decimals", m.TokenID, l.Size)
			}
			*side.dst = append(*side.dst, &entry{price: l.Price, size: units.IntPart()})
		}
	}
	sort.SliceStable(b.bids, func(i, j int) bool { return b.bids[i].price.GreaterThan(b.bids[j].price) })
	sort.SliceStable(b.asks, func(i, j int) bool { return b.asks[i].price.LessThan(b.asks[j].price) })
	return b, nil
}

func isDecimalInt(s string) bool {
	if len(s) > 80 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// drain reads the request body (bounded by MaxBytesReader).
func drain(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	return b, nil
}
