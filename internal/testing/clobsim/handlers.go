package clobsim

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
)

// Statuses of GET /data/order.
const (
	statusLive     = "LIVE"
	statusMatched  = "MATCHED"
	statusCanceled = "CANCELED"
)

// Messages the CLOB answers with (as the live API words them where known).
const (
	msgUnauthorized   = "Unauthorized/Invalid api key"
	msgNotEnough      = "not enough balance / allowance"
	msgFOKNotFilled   = "order couldn't be fully filled. FOK orders are fully filled or killed."
	msgFAKNotFilled   = "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found."
	msgOwner          = "the order owner has to be the owner of the API KEY"
	msgInvalidPayload = "Invalid order payload"
	maxUint256        = "115792089237316195423570985008687907853269984665640564039457584007913129639935"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (s *Server) handleVersion(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	v := s.version
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]int{"version": v})
}

func (s *Server) handleTime(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.now().Unix())
}

// market returns the book of the request's token_id, or answers 404.
func (s *Server) market(w http.ResponseWriter, r *http.Request) *book {
	id := r.URL.Query().Get("token_id")
	b := s.bookLocked(id)
	if b == nil {
		writeError(w, http.StatusNotFound, msgNoBook)
	}
	return b
}

type wireLevel struct {
	Price string `json:"price"`
	Size  string `json:"size"`
}

func wireLevels(ls []order.Level) []wireLevel {
	out := make([]wireLevel, len(ls))
	for i, l := range ls {
		out[i] = wireLevel{l.Price.String(), l.Size.String()}
	}
	return out
}

func (s *Server) handleBook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.market(w, r)
	if b == nil {
		return
	}
	bids, asks := wireLevels(aggregate(b.bids)), wireLevels(aggregate(b.asks))
	ts := strconv.FormatInt(s.now().UnixMilli(), 10)
	h := sha1.New()
	fmt.Fprintf(h, "%s|%s|%s|%v|%v", b.ConditionID, b.TokenID, ts, bids, asks)
	writeJSON(w, http.StatusOK, map[string]any{
		"market": b.ConditionID, "asset_id": b.TokenID, "timestamp": ts, "hash": hex.EncodeToString(h.Sum(nil)),
		"bids": bids, "asks": asks, "min_order_size": b.MinSize.String(), "tick_size": b.TickSize.String(),
		"neg_risk": b.NegRisk, "last_trade_price": b.lastTrade.String(),
	})
}

func (s *Server) handleTickSize(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.market(w, r); b != nil {
		// A JSON number, as the live API sends it.
		writeJSON(w, http.StatusOK, map[string]json.Number{"minimum_tick_size": json.Number(b.TickSize.String())})
	}
}

func (s *Server) handleNegRisk(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.market(w, r); b != nil {
		writeJSON(w, http.StatusOK, map[string]bool{"neg_risk": b.NegRisk})
	}
}

// DeriveCredentials returns the API credentials the server issues to addr for nonce: a pure
// function of both, so create and derive agree and tests can predict them.
func DeriveCredentials(addr common.Address, nonce int64) clob.Credentials {
	var buf [len("polybot/clobsim/api-key") + 20 + 8]byte
	n := copy(buf[:], "polybot/clobsim/api-key")
	n += copy(buf[n:], addr[:])
	binary.BigEndian.PutUint64(buf[n:], uint64(nonce))
	seed := crypto.Keccak256(buf[:])
	k := hex.EncodeToString(seed[:16])
	return clob.Credentials{
		APIKey:     k[0:8] + "-" + k[8:12] + "-" + k[12:16] + "-" + k[16:20] + "-" + k[20:32],
		Secret:     base64.URLEncoding.EncodeToString(crypto.Keccak256(seed, []byte("secret"))),
		Passphrase: hex.EncodeToString(crypto.Keccak256(seed, []byte("passphrase"))[:16]),
	}
}

func (s *Server) handleAPIKey(w http.ResponseWriter, r *http.Request) {
	addr, nonce, err := clob.VerifyL1(r.Header, s.chainID)
	if err != nil {
		s.log.Debug("L1 auth refused", zap.Error(err))
		writeError(w, http.StatusUnauthorized, "Invalid L1 Request headers")
		return
	}
	creds := DeriveCredentials(addr, nonce)
	s.mu.Lock()
	s.accounts[creds.APIKey] = Account{Credentials: creds, Address: addr}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"apiKey": creds.APIKey, "secret": creds.Secret, "passphrase": creds.Passphrase})
}

// authL2 checks a private request's L2 headers against the API key they name and answers 401
// when they fail. It returns the API key and its account.
// authedBody reads a private request's body and checks its L2 headers over it; on false the
// answer (413, or the auth error) is written.
func (s *Server) authedBody(w http.ResponseWriter, r *http.Request) ([]byte, string, Account, bool) {
	body, err := drain(r)
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
		return nil, "", Account{}, false
	}
	apiKey, acct, ok := s.authL2(w, r, body)
	return body, apiKey, acct, ok
}

func (s *Server) authL2(w http.ResponseWriter, r *http.Request, body []byte) (string, Account, bool) {
	key := r.Header.Get(clob.HeaderAPIKey)
	s.mu.Lock()
	acct, ok := s.accounts[key]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusUnauthorized, msgUnauthorized)
		return "", Account{}, false
	}
	addr, _, err := clob.VerifyL2(r.Header, acct.Credentials, r.Method, r.URL.Path, string(body))
	if err != nil || addr != acct.Address {
		s.log.Debug("L2 auth refused", zap.String("path", r.URL.Path), zap.Error(err))
		writeError(w, http.StatusUnauthorized, msgUnauthorized)
		return "", Account{}, false
	}
	return key, acct, true
}

type wireOrder struct {
	Salt          json.Number `json:"salt"`
	Maker         string      `json:"maker"`
	Signer        string      `json:"signer"`
	TokenID       string      `json:"tokenId"`
	MakerAmount   string      `json:"makerAmount"`
	TakerAmount   string      `json:"takerAmount"`
	Side          string      `json:"side"`
	SignatureType *int        `json:"signatureType"`
	Timestamp     string      `json:"timestamp"`
	Expiration    string      `json:"expiration"`
	Metadata      string      `json:"metadata"`
	Builder       string      `json:"builder"`
	Signature     string      `json:"signature"`
}

type postOrderAnswer struct {
	Success            bool     `json:"success"`
	ErrorMsg           string   `json:"errorMsg"`
	OrderID            string   `json:"orderID"`
	Status             string   `json:"status"`
	MakingAmount       string   `json:"makingAmount"`
	TakingAmount       string   `json:"takingAmount"`
	TransactionsHashes []string `json:"transactionsHashes"`
}

// rejection is a refused order: an HTTP status and the API's message.
type rejection struct {
	status int
	msg    string
}

func reject(format string, args ...any) *rejection {
	return &rejection{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func (s *Server) handlePostOrder(w http.ResponseWriter, r *http.Request) {
	if s.geoblocked(w) { // before authentication, as the CLOB does
		return
	}
	body, apiKey, acct, ok := s.authedBody(w, r)
	if !ok || s.paused(w) {
		return
	}
	ans, rej := s.placeOrder(apiKey, acct, body)
	if rej != nil {
		s.log.Debug("order refused", zap.Int("status", rej.status), zap.String("reason", rej.msg))
		writeError(w, rej.status, rej.msg)
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// parseOrder reads the order object of a POST /order body; a V1-shaped order is refused with
// order_version_mismatch.
func parseOrder(raw json.RawMessage) (*order.OrderV2, []byte, *rejection) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, nil, reject("%s: order is not an object", msgInvalidPayload)
	}
	_, hasTimestamp := fields["timestamp"]
	for _, v1 := range []string{"taker", "nonce", "feeRateBps"} {
		if _, ok := fields[v1]; ok || !hasTimestamp {
			return nil, nil, reject("%s", msgVersionMismatch) // a V1-shaped order (rules_access.go)
		}
	}
	var wo wireOrder
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&wo); err != nil {
		return nil, nil, reject("%s: %v", msgInvalidPayload, err)
	}
	bad := func(what string) (*order.OrderV2, []byte, *rejection) {
		return nil, nil, reject("%s: %s", msgInvalidPayload, what)
	}
	o := &order.OrderV2{}
	var ok bool
	if o.Salt, ok = new(big.Int).SetString(wo.Salt.String(), 10); !ok {
		return bad("salt")
	}
	for _, f := range []struct {
		name string
		in   string
		dst  **big.Int
	}{{"tokenId", wo.TokenID, &o.TokenID}, {"makerAmount", wo.MakerAmount, &o.MakerAmount},
		{"takerAmount", wo.TakerAmount, &o.TakerAmount}, {"timestamp", wo.Timestamp, &o.Timestamp},
		{"expiration", wo.Expiration, &o.Expiration}} {
		if *f.dst, ok = new(big.Int).SetString(f.in, 10); !ok {
			return bad(f.name)
		}
	}
	if !common.IsHexAddress(wo.Maker) || !common.IsHexAddress(wo.Signer) {
		return bad("maker or signer")
	}
	o.Maker, o.Signer = common.HexToAddress(wo.Maker), common.HexToAddress(wo.Signer)
	side, err := order.ParseSide(wo.Side)
	if err != nil {
		return bad("side")
	}
	o.Side = side
	if wo.SignatureType == nil || *wo.SignatureType < 0 || *wo.SignatureType > 3 {
		return bad("signatureType")
	}
	o.SignatureType = order.SignatureType(*wo.SignatureType)
	for _, f := range []struct {
		in  string
		dst *[32]byte
	}{{wo.Metadata, &o.Metadata}, {wo.Builder, &o.Builder}} {
		b, err := hexutil.Decode(f.in)
		if err != nil || len(b) != 32 {
			return bad("metadata or builder")
		}
		copy(f.dst[:], b)
	}
	sig, err := hexutil.Decode(wo.Signature)
	if err != nil {
		return bad("signature")
	}
	if err := checkOrderFields(o); err != nil {
		return nil, nil, reject("%s: %v", msgInvalidPayload, err)
	}
	return o, sig, nil
}

// limitPrice checks the order's implied price against the tick grid: exact for GTC/GTD, within a
// tenth of a tick for FOK/FAK (whose amounts are truncated). It returns the price on the grid.
func limitPrice(hash common.Hash, typ order.OrderType, num, den *big.Int, tick decimal.Decimal) (decimal.Decimal, *rejection) {
	n, d := decimal.NewFromBigInt(num, 0), decimal.NewFromBigInt(den, 0)
	tdp := int32(0)
	for !tick.Shift(tdp).IsInteger() {
		tdp++
	}
	p := n.DivRound(d, tdp)
	exact := n.DivRound(d, 8)
	off := p.Mul(d).Sub(n).Abs()
	onGrid := p.Mod(tick).IsZero()
	if typ == order.FOK || typ == order.FAK {
		onGrid = onGrid && off.Mul(decimal.New(10, 0)).LessThanOrEqual(tick.Mul(d))
	} else {
		onGrid = onGrid && off.IsZero()
	}
	if !onGrid {
		return decimal.Decimal{}, reject("order %s is invalid. Price (%s) breaks minimum tick size rule: %s", hash.Hex(), exact, tick)
	}
	if !p.IsPositive() || !p.LessThan(decimal.New(1, 0)) {
		return decimal.Decimal{}, reject("order %s is invalid. Price (%s) must be between 0 and 1", hash.Hex(), p)
	}
	return p, nil
}

// placeOrder validates, de-duplicates and matches an order body.
func (s *Server) placeOrder(apiKey string, acct Account, body []byte) (*postOrderAnswer, *rejection) {
	p, rej := s.validateOrder(apiKey, acct, body)
	if rej != nil {
		return nil, rej
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.orders[p.hash]; dup {
		return nil, reject("order %s is invalid. Duplicated.", p.hash.Hex())
	}
	if rej := s.checkMinimumsLocked(p); rej != nil {
		return nil, rej
	}
	if rej := s.checkBalanceLocked(p); rej != nil {
		return nil, rej
	}
	if s.delayNextLocked(apiKey) {
		return s.holdLocked(&simOrder{OrderState: OrderState{
			Hash: p.hash, Owner: apiKey, Maker: p.o.Maker, TokenID: p.tokenID, Side: p.o.Side, Price: p.price,
			OriginalSize: p.size, OrderType: p.typ,
		}, createdAt: s.now(), expiration: p.o.Expiration.Int64()}, p.num, p.den, p.postOnly), nil
	}
	return s.matchLocked(apiKey, p)
}

// orderEnvelope is the body of POST /order around the signed order.
type orderEnvelope struct {
	Order     json.RawMessage `json:"order"`
	Owner     string          `json:"owner"`
	OrderType string          `json:"orderType"`
	PostOnly  bool            `json:"postOnly"`
}

// placement is an order that passed validation, with what matching it needs.
type placement struct {
	o        *order.OrderV2
	typ      order.OrderType
	postOnly bool
	book     *book
	tokenID  string
	hash     common.Hash
	num, den *big.Int // the price as a ratio: collateral per share
	size     int64    // shares, in base units
	price    decimal.Decimal
	// marketBuy is a BUY at FOK/FAK: it names the collateral it spends, not its shares.
	marketBuy bool
}

// parseEnvelope reads the body of POST /order and checks its owner, order type and
// post-only flag.
func parseEnvelope(apiKey string, body []byte) (orderEnvelope, order.OrderType, *rejection) {
	var env orderEnvelope
	if err := json.Unmarshal(body, &env); err != nil || len(env.Order) == 0 {
		return env, 0, reject("%s", msgInvalidPayload)
	}
	if env.Owner != apiKey {
		return env, 0, reject("%s", msgOwner)
	}
	typ, err := order.ParseOrderType(env.OrderType)
	if err != nil {
		return env, 0, reject("%s: orderType %q", msgInvalidPayload, env.OrderType)
	}
	if env.PostOnly && typ != order.GTC && typ != order.GTD {
		return env, 0, reject("invalid post-only order: only GTC and GTD orders can be post-only")
	}
	return env, typ, nil
}

// validateOrder checks an order body as the CLOB does before it looks at balances: shape,
// market, signature, amounts, tick and minimum size.
func (s *Server) validateOrder(apiKey string, acct Account, body []byte) (*placement, *rejection) {
	env, typ, rej := parseEnvelope(apiKey, body)
	if rej != nil {
		return nil, rej
	}
	o, sig, rej := parseOrder(env.Order)
	if rej != nil {
		return nil, rej
	}
	if (typ == order.GTD) != (o.Expiration.Sign() != 0) {
		return nil, reject("%s: expiration must be set for GTD orders and only for them", msgInvalidPayload)
	}
	p := &placement{o: o, typ: typ, postOnly: env.PostOnly, tokenID: o.TokenID.String()}
	s.mu.Lock()
	p.book = s.bookLocked(p.tokenID)
	s.mu.Unlock()
	if p.book == nil {
		return nil, reject(fmtNoMarket, p.tokenID)
	}
	// A Protocol V2 market's orders are signed for ExchangeV3 under domain version "3"; other
	// markets' for the CTF or neg-risk V2 exchange under the version GET /version announces
	// (Market.ProtocolV2, rules_version.go).
	signedFor, hash, rej := s.verifyOrder(o, sig, p.book.NegRisk, p.book.ProtocolV2, acct)
	if rej != nil {
		return nil, rej
	}
	p.hash = hash
	if rej := s.checkAccess(o, acct, signedFor); rej != nil {
		return nil, rej
	}
	if !o.MakerAmount.IsInt64() || !o.TakerAmount.IsInt64() || o.MakerAmount.Sign() <= 0 || o.TakerAmount.Sign() <= 0 ||
		o.MakerAmount.Int64() > 1e17 || o.TakerAmount.Int64() > 1e17 {
		return nil, reject("%s: amounts must be positive and below 1e17", msgInvalidPayload)
	}
	p.num, p.den = o.MakerAmount, o.TakerAmount // BUY: collateral per share
	p.size = o.TakerAmount.Int64()
	if o.Side == order.Sell {
		p.num, p.den = o.TakerAmount, o.MakerAmount
		p.size = o.MakerAmount.Int64()
	}
	if rej := checkAmountDecimals(o.Side, typ, o.MakerAmount, o.TakerAmount, p.book.TickSize); rej != nil {
		return nil, rej
	}
	if p.price, rej = limitPrice(p.hash, typ, p.num, p.den, p.book.TickSize); rej != nil {
		return nil, rej
	}
	// A market BUY (FOK/FAK) names the collateral it spends.
	p.marketBuy = o.Side == order.Buy && (typ == order.FOK || typ == order.FAK)
	return p, nil
}

// checkBalanceLocked refuses an order whose maker cannot pay what it spends: collateral
// (and the taker fee) for a BUY, the token for a SELL.
func (s *Server) checkBalanceLocked(p *placement) *rejection {
	o := p.o
	// A BUY pays the taker fee on top of its collateral: the most it can be is the fee of its
	// shares at the order's own price.
	maxFee := int64(0)
	if o.Side == order.Buy {
		maxFee = p.book.takerFee(o.TakerAmount.Int64(), p.price)
	}
	spend := cacheKey{o.Maker, ""}
	if o.Side == order.Sell {
		spend.token = p.tokenID
	} else if s.balanceCache {
		s.balanceOf(cacheKey{o.Maker, p.tokenID}) // a BUY reads the token's balance into the cache too
	}
	if s.balanceOf(spend) < o.MakerAmount.Int64()+maxFee {
		return reject("%s", msgNotEnough)
	}
	return nil
}

// matchLocked matches an order against the book, settles the fills and the taker fee, rests
// what a GTC/GTD order has left, and answers as the CLOB does.
func (s *Server) matchLocked(apiKey string, p *placement) (*postOrderAnswer, *rejection) {
	o, b, typ := p.o, p.book, p.typ
	avail := b.available(o.Side, p.num, p.den)
	full := avail >= p.size
	if p.marketBuy {
		full = b.availableValue(p.num, p.den).GreaterThanOrEqual(decimal.NewFromInt(o.MakerAmount.Int64()))
	}
	switch {
	case p.postOnly && avail > 0:
		return nil, reject("invalid post-only order: order crosses book")
	case typ == order.FOK && !full:
		return nil, reject("%s", msgFOKNotFilled)
	case typ == order.FAK && avail == 0:
		return nil, reject("%s", msgFAKNotFilled)
	}
	so := &simOrder{OrderState: OrderState{
		Hash: p.hash, Owner: apiKey, Maker: o.Maker, TokenID: p.tokenID, Side: o.Side, Price: p.price,
		OriginalSize: p.size, Status: statusMatched, OrderType: typ,
	}, createdAt: s.now(), expiration: o.Expiration.Int64()}
	var shares, collateral int64
	var fills []fill
	if p.marketBuy {
		// A market BUY spends its collateral at the book's prices: a better price buys more
		// shares than the order's taker amount.
		fills = b.takeBudget(p.num, p.den, o.MakerAmount.Int64())
	} else {
		fills = b.take(o.Side, p.num, p.den, p.size)
	}
	for _, f := range fills {
		s.settle(o.Side, o.Maker, p.tokenID, f)
		shares += f.shares
		collateral += f.collateral
		// The taker pays the market's fee at match time, per fill at the fill's price, in
		// collateral: on top of a BUY, out of a SELL's proceeds. Resting orders (makers) pay none.
		so.Fee += b.takerFee(f.shares, f.entry.price)
	}
	if so.Fee > 0 {
		mb := s.balances[o.Maker]
		mb.Collateral -= so.Fee
		s.balances[o.Maker] = mb
		s.spendCached(cacheKey{o.Maker, ""}, so.Fee)
	}
	so.SizeMatched = shares
	status := "matched"
	if (typ == order.GTC || typ == order.GTD) && shares < p.size {
		so.Status, status = statusLive, "live"
		b.rest(o.Side, &entry{price: p.price, size: p.size - shares, order: so})
	}
	s.orders[p.hash] = so
	s.recordTradeLocked(so, fills, so.Fee)
	return s.answerLocked(p, status, shares, collateral), nil
}

// answerLocked is the answer to a placed order that matched shares for collateral.
func (s *Server) answerLocked(p *placement, status string, shares, collateral int64) *postOrderAnswer {
	ans := &postOrderAnswer{Success: true, OrderID: p.hash.Hex(), Status: status, TransactionsHashes: []string{}}
	shares, collateral, tx := s.reportLocked(p.hash, shares, collateral)
	making, taking := collateral, shares
	if p.o.Side == order.Sell {
		making, taking = shares, collateral
	}
	ans.MakingAmount, ans.TakingAmount = decimal.New(making, -6).String(), decimal.New(taking, -6).String()
	if shares > 0 {
		ans.TransactionsHashes = []string{tx.Hex()}
	}
	s.withoutAmountsLocked(ans)
	s.log.Debug("order placed", zap.String("order", ans.OrderID), zap.String("type", p.typ.String()),
		zap.String("status", status), zap.Int64("shares_matched", shares))
	return ans
}

func (s *Server) handleCancelOrder(w http.ResponseWriter, r *http.Request) {
	body, apiKey, _, ok := s.authedBody(w, r)
	if !ok {
		return
	}
	var req struct {
		OrderID string `json:"orderID"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.OrderID == "" {
		writeError(w, http.StatusBadRequest, "Invalid payload: need {\"orderID\": …}")
		return
	}
	ans := struct {
		Canceled    []string          `json:"canceled"`
		NotCanceled map[string]string `json:"not_canceled"`
	}{Canceled: []string{}, NotCanceled: map[string]string{}}
	s.mu.Lock()
	o := s.orders[common.HexToHash(req.OrderID)]
	switch {
	case o == nil || o.Owner != apiKey || !strings.HasPrefix(req.OrderID, "0x"):
		ans.NotCanceled[req.OrderID] = "Order not found or already canceled"
	case o.Status != statusLive && o.Status != statusDelayed:
		ans.NotCanceled[req.OrderID] = "Order not found or already canceled"
	default:
		o.Status = statusCanceled
		s.books[o.TokenID].remove(o)
		ans.Canceled = append(ans.Canceled, req.OrderID)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, ans)
}

func (s *Server) handleGetOrder(w http.ResponseWriter, r *http.Request) {
	apiKey, _, ok := s.authL2(w, r, nil)
	if !ok {
		return
	}
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[common.HexToHash(id)]
	if o == nil || !openOrder(o) || o.Owner != apiKey || !strings.HasPrefix(id, "0x") || len(id) != 66 {
		writeError(w, http.StatusNotFound, "order not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": o.Hash.Hex(), "status": o.Status, "owner": o.Owner, "maker_address": o.Maker.Hex(),
		"market": s.books[o.TokenID].ConditionID, "asset_id": o.TokenID, "side": o.Side.String(),
		"original_size": decimal.New(o.OriginalSize, -6).String(), "size_matched": decimal.New(o.SizeMatched, -6).String(),
		"price": o.Price.String(), "outcome": "", "expiration": strconv.FormatInt(o.expiration, 10),
		"order_type": o.OrderType.String(), "associate_trades": []string{}, "created_at": o.createdAt.Unix(),
	})
}
