package sim

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/secrets"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// Defaults of CLOBOptions.
const (
	// DefaultCLOBCollateral is the trading account's starting pUSD: one million, in base units.
	DefaultCLOBCollateral = 1_000_000 * Unit
	// DefaultCLOBMinSize is every market's minimum order size, in shares.
	DefaultCLOBMinSize = 5
	// CLOBDepth is the size, in shares, of each level the market maker quotes.
	CLOBDepth = 10_000
)

// CLOBOptions configure the fake CLOB that runs next to the chain.
type CLOBOptions struct {
	// Port on the sim's host; 0 picks a free port.
	Port int
	// CredsDir, when set, receives the trading account's key (polybot-key, hex) and API
	// credentials (polybot-api, JSON), both 0600, under the names secrets reads from
	// $CREDENTIALS_DIRECTORY. The directory is created 0700 if missing.
	CredsDir string
	// Collateral is the trading account's starting pUSD in base units; 0 means
	// DefaultCLOBCollateral.
	Collateral int64
	// BalanceCache makes the CLOB check orders against its cached balances, refreshed by GET
	// /balance-allowance/update, as the real CLOB does (clobsim.Options.BalanceCache).
	BalanceCache bool
	// DelayEvery, when positive, makes every n-th order of the trading account answer
	// "delayed", with nothing matched; the CLOB matches it DelayAfter later (default 3s), as
	// the real CLOB does in markets with a matching delay.
	DelayEvery int
	DelayAfter time.Duration
	// Misreport, when positive, makes the first n "matched" answers to the trading account
	// report half of what matched; the trade on chain is the whole (clobsim.MisreportMatched).
	Misreport int
	// Wallet is the kind of wallet the trading account trades from (clobwallet.go): its key
	// itself (EOA, the zero value), its Polymarket proxy, its Gnosis Safe or its deposit wallet.
	// The proxy and the Safe must have been placed for Key by Options.PlaceWallet; the CLOB
	// holds the collateral at the wallet and takes the key's orders for it.
	Wallet polymarket.WalletKind
	// DepositWallet is Wallet: polymarket.WalletDeposit, the trading account trading from a
	// deposit wallet (signature type 3) whose POLY_1271 orders the CLOB has the wallet check.
	DepositWallet bool
	// Key, if set, is the trading account's key (else a new one). A wallet that
	// Options.PlaceWallet placed for this key from the genesis, at the address Polygon derives
	// (polymarket.ProxyWallet, SafeWallet, DepositWallet), is the one Wallet trades from, as the
	// daemon's wallet check requires; without one, a deposit wallet stand-in is deployed at a
	// CREATE address (and a proxy or Safe is an error).
	Key *ecdsa.PrivateKey
	Log *zap.Logger
}

// CLOB is a clobsim server with a book for each of the sim's markets, one trading account for
// polybot, and a market maker that quotes around the leaders' prices: whenever an order or a
// book is asked for, the maker's quotes on that token sit at the price of the latest mined
// leader fill (an ask at that price, a bid one tick below), CLOBDepth shares each.
type CLOB struct {
	sim   *Sim
	srv   *clobsim.Server
	key   *ecdsa.PrivateKey
	creds clob.Credentials
	log   *zap.Logger

	maker      *ecdsa.PrivateKey
	makerAddr  common.Address
	makerCreds clob.Credentials
	ctf, neg   common.Address

	mu     sync.Mutex
	quoted map[string]quote // token -> the maker's live quotes
	salt   int64

	settled  atomic.Uint64         // trades put on chain (settle.go)
	chain    *ethclient.Client     // in-process, for the deposit wallets' isValidSignature (wallets.go)
	funder   common.Address        // where the account's funds are: its key's address or its wallet
	kind     polymarket.WalletKind // the wallet the account trades from (clobwallet.go)
	approved bool                  // the trading account approved the collateral adapter (payouts.go); sim.mu
}

type quote struct {
	price  decimal.Decimal
	orders []string // order hashes
}

var clobTick = decimal.New(1, -2)

// StartCLOB starts the fake CLOB on the sim's host. Close it before or after the sim.
func (s *Sim) StartCLOB(opts CLOBOptions) (*CLOB, error) {
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("clob port %d: must be between 0 (pick a free port) and 65535", opts.Port)
	}
	if opts.Collateral == 0 {
		opts.Collateral = DefaultCLOBCollateral
	}
	if opts.Collateral < 0 {
		return nil, fmt.Errorf("clob collateral %d must be positive", opts.Collateral)
	}
	if opts.Log == nil {
		opts.Log = s.log
	}
	if opts.DelayEvery < 0 || opts.DelayAfter < 0 {
		return nil, fmt.Errorf("clob delay: every %d orders after %s must not be negative", opts.DelayEvery, opts.DelayAfter)
	}
	if opts.DelayAfter == 0 {
		opts.DelayAfter = 3 * time.Second
	}
	var err error
	key := opts.Key
	if key == nil {
		if key, err = crypto.GenerateKey(); err != nil {
			return nil, err
		}
	}
	maker, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	addr, makerAddr := crypto.PubkeyToAddress(key.PublicKey), crypto.PubkeyToAddress(maker.PublicKey)
	c := &CLOB{
		sim: s, key: key, creds: clobsim.DeriveCredentials(addr, 0), log: opts.Log.Named("clob"),
		maker: maker, makerAddr: makerAddr, makerCreds: clobsim.DeriveCredentials(makerAddr, 0),
		quoted: make(map[string]quote), kind: opts.Wallet,
	}
	if opts.DepositWallet {
		c.kind = polymarket.WalletDeposit
	}
	if c.funder, err = s.clobFunder(c.kind, addr); err != nil {
		return nil, err
	}
	// The sim's first exchange signs normal markets and its second neg-risk ones, as polybot's
	// live.ctf_exchange and live.neg_risk_exchange do.
	c.ctf, c.neg = s.opts.Exchanges[0], polymarket.NegRiskCTFExchangeV2
	if len(s.opts.Exchanges) > 1 {
		c.neg = s.opts.Exchanges[1]
	}
	makerTokens := make(map[string]int64, len(s.markets))
	var markets []clobsim.Market
	for _, m := range s.markets {
		id := m.String()
		makerTokens[id] = 1 << 50
		markets = append(markets, clobsim.Market{
			TokenID: id, ConditionID: ConditionID(m).Hex(),
			TickSize: clobTick, MinSize: decimal.NewFromInt(DefaultCLOBMinSize), NegRisk: s.marketsEx[id] == c.neg,
		})
	}
	// The CLOB asks deposit wallets on this chain whether a POLY_1271 order is their owner's.
	c.chain = s.attach()
	srv, err := clobsim.New(clobsim.Options{
		Chain:     c.chain,
		ChainID:   s.chainID.Int64(),
		Exchanges: clobsim.Exchanges{CTF: c.ctf, NegRisk: c.neg},
		Markets:   markets,
		Accounts: map[string]clobsim.Account{
			c.creds.APIKey:      {Credentials: c.creds, Address: addr},
			c.makerCreds.APIKey: {Credentials: c.makerCreds, Address: makerAddr},
		},
		Balances: map[common.Address]clobsim.Balance{
			c.funder:  {Collateral: opts.Collateral},
			makerAddr: {Collateral: 1 << 50, Tokens: makerTokens},
		},
		BalanceCache: opts.BalanceCache,
		Settler:      c,
		Log:          opts.Log,
	})
	if err != nil {
		c.chain.Close()
		return nil, err
	}
	c.srv = srv
	if c.funder != addr {
		srv.SetFunder(addr, c.funder)
	}
	if c.kind == polymarket.WalletDeposit {
		srv.AllowDepositWalletKey(addr)
	}
	srv.Override(clobsim.RoutePostOrder, c.quoteFirst)
	srv.Override(clobsim.RouteBook, c.quoteFirst)
	if opts.DelayEvery > 0 {
		srv.DelayOrdersOf(c.creds.APIKey, opts.DelayEvery, opts.DelayAfter)
		c.log.Info("every n-th order of the trading account answers delayed and matches later",
			zap.Int("every", opts.DelayEvery), zap.Duration("after", opts.DelayAfter))
	}
	if opts.Misreport > 0 {
		srv.MisreportMatched(opts.Misreport, 50)
		c.log.Info("the first matched answers report half of what matched; the chain has the whole", zap.Int("answers", opts.Misreport))
	}
	if err := srv.Start(net.JoinHostPort(s.opts.Host, strconv.Itoa(opts.Port))); err != nil {
		c.chain.Close()
		return nil, err
	}
	// Gas for the account's own transactions (redemptions), mined with the next block.
	if err := s.Fund(addr, new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether))); err != nil {
		c.Close()
		return nil, fmt.Errorf("fund the trading account: %w", err)
	}
	if opts.CredsDir != "" {
		if err := c.writeCreds(opts.CredsDir); err != nil {
			c.Close()
			return nil, err
		}
	}
	c.log.Info("fake CLOB started", zap.String("url", srv.URL()), zap.Stringer("account", addr))
	return c, nil
}

// URL is the CLOB's base URL.
func (c *CLOB) URL() string { return c.srv.URL() }

// Server is the underlying fake CLOB (fault hooks, order states, balances).
func (c *CLOB) Server() *clobsim.Server { return c.srv }

// Address is the trading account's signer (EOA).
func (c *CLOB) Address() common.Address { return crypto.PubkeyToAddress(c.key.PublicKey) }

// Key is the trading account's private key.
func (c *CLOB) Key() *ecdsa.PrivateKey { return c.key }

// Credentials are the trading account's API credentials.
func (c *CLOB) Credentials() clob.Credentials { return c.creds }

// Close stops the server.
func (c *CLOB) Close() {
	c.srv.Close()
	c.chain.Close()
}

func (c *CLOB) writeCreds(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("clob creds dir: %w", err)
	}
	keyHex := []byte(hex.EncodeToString(crypto.FromECDSA(c.key)) + "\n")
	defer clear(keyHex)
	path := filepath.Join(dir, secrets.KeyCredential)
	if err := os.WriteFile(path, keyHex, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil { // an existing file keeps its mode on WriteFile
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err := secrets.SaveCredentials(filepath.Join(dir, secrets.APICredential), c.creds); err != nil {
		return err
	}
	return c.writeWallet(dir)
}

// quoteFirst moves the maker's quotes on the request's token to the latest leader price, then
// serves the request.
func (c *CLOB) quoteFirst(w http.ResponseWriter, r *http.Request, next http.Handler) {
	token := r.URL.Query().Get("token_id")
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, `{"error":"request body too large"}`, http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var env struct {
			Order struct {
				TokenID string `json:"tokenId"`
			} `json:"order"`
		}
		if json.Unmarshal(body, &env) == nil {
			token = env.Order.TokenID
		}
	}
	if token != "" {
		if err := c.requote(token, next); err != nil {
			c.log.Warn("market maker could not quote", zap.String("token", token), zap.Error(err))
		}
	}
	next.ServeHTTP(w, r)
}

// lastPrice is the price of the latest mined leader fill on token, if any.
func (c *CLOB) lastPrice(token string) (decimal.Decimal, bool) {
	s := c.sim
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.emitted) - 1; i >= 0; i-- {
		f := &s.emitted[i]
		if f.TokenID.String() == token && f.Shares > 0 {
			return f.Price(), true
		}
	}
	return decimal.Decimal{}, false
}

func (c *CLOB) requote(token string, h http.Handler) error {
	p, ok := c.lastPrice(token)
	if !ok {
		return nil
	}
	p = p.Round(2)
	if p.LessThan(clobTick) || p.GreaterThan(decimal.New(1, 0).Sub(clobTick)) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if q, ok := c.quoted[token]; ok && q.price.Equal(p) {
		return nil
	}
	for _, id := range c.quoted[token].orders {
		body, _ := json.Marshal(map[string]string{"orderID": id})
		if _, err := c.call(h, http.MethodDelete, "/order", body); err != nil {
			return err
		}
	}
	delete(c.quoted, token)
	q := quote{price: p}
	tokenID, _ := new(big.Int).SetString(token, 10)
	exchange := c.ctf
	if c.sim.marketsEx[token] == c.neg {
		exchange = c.neg
	}
	for _, lv := range []struct {
		side  order.Side
		price decimal.Decimal
	}{{order.Sell, p}, {order.Buy, p.Sub(clobTick)}} {
		if !lv.price.IsPositive() {
			continue
		}
		makerAmt, takerAmt, err := order.LimitAmounts(lv.side, lv.price, decimal.NewFromInt(CLOBDepth), clobTick)
		if err != nil {
			return err
		}
		c.salt++
		o := order.OrderV2{
			Salt: big.NewInt(c.salt), Maker: c.makerAddr, Signer: c.makerAddr, TokenID: tokenID,
			MakerAmount: makerAmt, TakerAmount: takerAmt, Side: lv.side, SignatureType: order.EOA,
			Timestamp: big.NewInt(time.Now().UnixMilli()), Expiration: new(big.Int),
		}
		sig, hash, err := order.SignV2(c.maker, &o, order.ExchangeDomain(order.V2, c.sim.chainID.Int64(), exchange))
		if err != nil {
			return err
		}
		body, err := order.SignedOrderV2{Order: o, Signature: sig}.PostOrderBody(c.makerCreds.APIKey, order.GTC, false)
		if err != nil {
			return err
		}
		if _, err := c.call(h, http.MethodPost, "/order", body); err != nil {
			return err
		}
		q.orders = append(q.orders, hash.Hex())
	}
	c.quoted[token] = q
	return nil
}

// call serves one of the maker's own signed requests in process.
func (c *CLOB) call(h http.Handler, method, path string, body []byte) ([]byte, error) {
	hdr, err := clob.L2Headers(c.makerCreds, c.makerAddr, time.Now().Unix(), method, path, string(body))
	if err != nil {
		return nil, err
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v) // canonical, as a server receives them over the wire
	}
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code/100 != 2 {
		return nil, fmt.Errorf("maker %s %s: %d %s", method, path, rec.Code, bytes.TrimSpace(rec.Body.Bytes()))
	}
	return rec.Body.Bytes(), nil
}
