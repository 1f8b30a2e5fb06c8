package broker

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
)

// timestampsKept bounds the map of first-attempt timestamps: far more fills than are ever in
// flight at once.
const timestampsKept = 4096

// CLOBOptions configure a live broker.
type CLOBOptions struct {
	// OnBook, if set, is told each order book the broker reads (clob.Options.OnBook).
	OnBook func(*clob.Book)
	// BaseURL of the CLOB; ChainID signs orders and L1 headers.
	BaseURL string
	ChainID int64
	// CTFExchange and NegRiskExchange are the V2 exchanges whose domains orders are signed for.
	CTFExchange, NegRiskExchange common.Address
	// ExchangeV3 is the exchange of Protocol V2 markets (domain version "3"): a copy of a leader
	// fill on it is signed for it (order.VenueFor), and every order is while the CLOB announces
	// order version 3. Default polymarket.ExchangeV3.
	ExchangeV3 common.Address
	// Key is the signer EOA's key; required.
	Key *ecdsa.PrivateKey
	// Credentials, when set, are the API credentials; otherwise LoadCredentials yields them, or,
	// when it is nil, they are derived with L1 and not saved.
	Credentials     *clob.Credentials
	LoadCredentials CredentialSource
	// Funder is the maker wallet for POLY_PROXY, POLY_GNOSIS_SAFE and POLY_1271 orders.
	Funder        common.Address
	SignatureType order.SignatureType
	// Slippage is the price bound of LimitPrice; OrderType the time in force (FAK, FOK or GTC).
	Slippage  decimal.Decimal
	OrderType order.OrderType
	// Timeout bounds each CLOB request; 0 takes the client's default.
	Timeout time.Duration
	// RateLimit is the client's own request rate (requests per second); 0 takes the client's
	// default, rate.Inf means none.
	RateLimit  rate.Limit
	HTTPClient *http.Client
	Log        *zap.Logger
	// Now is the clock of order timestamps and request headers. Default time.Now.
	Now func() time.Time
}

// CheckFunder checks that the signature type fits the funder: an EOA signs for itself (funder
// unset or equal to the signer); a proxy, Safe or deposit wallet is a funder other than the signer.
func CheckFunder(t order.SignatureType, signer, funder common.Address) error {
	switch t {
	case order.EOA:
		if funder != (common.Address{}) && funder != signer {
			return fmt.Errorf("signature type EOA trades from the signer %s itself, but funder is %s: set live.funder to \"\" or pick signature type 1, 2 or 3", signer.Hex(), funder.Hex())
		}
	case order.PolyProxy, order.PolyGnosisSafe, order.Poly1271:
		if funder == (common.Address{}) {
			return fmt.Errorf("signature type %s needs live.funder: the proxy, Safe or deposit wallet that holds the funds", t)
		}
		if funder == signer {
			return fmt.Errorf("signature type %s needs a funder other than the signer %s: set live.funder to the wallet that holds the funds, or use signature type 0 (EOA)", t, signer.Hex())
		}
	default:
		return fmt.Errorf("signature type %d is not 0 to 3", t)
	}
	return nil
}

// CredentialSource yields the API credentials of client, whose L1 signer is the broker's signing
// key (secrets.CredentialSource reads them from a file, or derives and saves them). derived
// reports that they were derived with L1 rather than read, saved that they were then saved.
type CredentialSource func(ctx context.Context, client *clob.Client) (creds clob.Credentials, derived, saved bool, err error)

// deriveCredentials derives the API credentials with L1, saving them nowhere.
func deriveCredentials(ctx context.Context, client *clob.Client) (clob.Credentials, bool, bool, error) {
	c, err := client.CreateOrDeriveAPIKey(ctx, 0)
	if err != nil {
		return clob.Credentials{}, false, false, fmt.Errorf("derive API credentials (L1): %w", err)
	}
	return c, true, false, nil
}

// setDefaults validates opts and fills in the defaults of Log and Now.
func (opts *CLOBOptions) setDefaults() error {
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ChainID <= 0 {
		return fmt.Errorf("live broker: chain id %d must be positive", opts.ChainID)
	}
	if opts.CTFExchange == (common.Address{}) || opts.NegRiskExchange == (common.Address{}) {
		return errors.New("live broker: both V2 exchange addresses are required")
	}
	if opts.ExchangeV3 == (common.Address{}) {
		opts.ExchangeV3 = polymarket.ExchangeV3
	}
	if opts.ExchangeV3 == opts.CTFExchange || opts.ExchangeV3 == opts.NegRiskExchange {
		return fmt.Errorf("live broker: ExchangeV3 %s is also a V2 exchange: orders for it are signed under another domain", opts.ExchangeV3.Hex())
	}
	if opts.Slippage.IsNegative() {
		return fmt.Errorf("live broker: slippage %s is negative", opts.Slippage)
	}
	switch opts.OrderType {
	case order.FAK, order.FOK, order.GTC:
	default:
		return fmt.Errorf("live broker: order type %s (valid: FAK, FOK, GTC)", opts.OrderType)
	}
	if opts.Key == nil {
		return errors.New("live broker: a signing key is required")
	}
	if err := CheckFunder(opts.SignatureType, crypto.PubkeyToAddress(opts.Key.PublicKey), opts.Funder); err != nil {
		return fmt.Errorf("live broker: %w", err)
	}
	return nil
}

// credentials sets client's API credentials: opts.Credentials, or those opts.LoadCredentials
// yields (deriving them when it is nil).
func (opts *CLOBOptions) credentials(ctx context.Context, client *clob.Client) (clob.Credentials, error) {
	var creds clob.Credentials
	if opts.Credentials != nil {
		creds = *opts.Credentials
	} else {
		load := opts.LoadCredentials
		if load == nil {
			load = deriveCredentials
		}
		c, derived, saved, err := load(ctx, client)
		if err != nil {
			return creds, fmt.Errorf("live broker: API credentials: %w", err)
		}
		if derived {
			opts.Log.Info("API credentials derived with the signing key", zap.Bool("saved", saved))
		}
		creds = c
	}
	if err := client.SetCredentials(creds); err != nil {
		return creds, fmt.Errorf("live broker: %w", err)
	}
	return creds, nil
}

// CLOB places copies as signed V2 orders on the Polymarket CLOB. It is safe for concurrent use.
type CLOB struct {
	client    *clob.Client
	key       *ecdsa.PrivateKey
	signer    common.Address
	maker     common.Address
	sigType   order.SignatureType
	chainID   int64
	ctf, neg  common.Address
	v3        common.Address // ExchangeV3: Protocol V2 markets' exchange
	slippage  decimal.Decimal
	orderType order.OrderType
	apiKey    string
	log       *zap.Logger
	now       func() time.Time
	stamps    *lru.Cache[fillKey, int64] // fill -> timestamp (ms) of its first attempt
	access    access                     // what the CLOB lets the account do (access.go)
	// positions remembers the outcome ids polybot learned are Protocol V2 position ids (a
	// leader fill on ExchangeV3, or an order journaled for it), for copies whose source fill
	// does not name its exchange.
	positions *lru.Cache[string, bool]
}

type fillKey struct {
	tx      common.Hash
	log     uint
	attempt uint // an exit retry's attempt (Order.Attempt): an order of its own
}

// NewCLOB checks the CLOB (order version, clock skew), loads the API credentials (deriving
// them when there are none) and returns the live broker. A CLOB that wants an order version
// polybot cannot sign does not stop it: the broker starts with BUYs stopped (Access says why),
// re-reads GET /version as it does after order_version_mismatch, and BUYs resume once the CLOB
// announces a version polybot signs. Until then exits are refused before they are sent, there
// being no version to sign them for (exitSignable), and the exit retries try them again.
func NewCLOB(ctx context.Context, opts CLOBOptions) (*CLOB, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	key := opts.Key
	signer := crypto.PubkeyToAddress(key.PublicKey)
	client, err := clob.NewClient(clob.Options{
		BaseURL: opts.BaseURL, ChainID: opts.ChainID, Key: key, Timeout: opts.Timeout,
		HTTPClient: opts.HTTPClient, Log: opts.Log, Now: opts.Now, RateLimit: opts.RateLimit, OnBook: opts.OnBook,
	})
	if err != nil {
		return nil, fmt.Errorf("live broker: %w", err)
	}
	v, err := client.Version(ctx)
	if err != nil {
		return nil, fmt.Errorf("live broker: check CLOB protocol version: %w", err)
	}
	if v != 2 && v != 3 {
		opts.Log.Error("the CLOB announces an order version polybot cannot sign: polybot runs with BUYs stopped "+
			"(exits too, as no version was signed yet) and re-reads GET /version until it announces 2 or 3; "+
			"upgrade polybot if the CLOB stays on it (docs/live-trading.md)",
			zap.String("clob", opts.BaseURL), zap.Int("version", v))
	}
	if _, err := client.ClockSkew(ctx); err != nil {
		opts.Log.Warn("could not read the CLOB's clock", zap.Error(err))
	}
	creds, err := opts.credentials(ctx, client)
	if err != nil {
		return nil, err
	}
	stamps, err := lru.New[fillKey, int64](timestampsKept)
	if err != nil {
		return nil, err
	}
	positions, err := lru.New[string, bool](timestampsKept)
	if err != nil {
		return nil, err
	}
	maker := signer
	switch opts.SignatureType {
	case order.PolyProxy, order.PolyGnosisSafe:
		maker = opts.Funder
	case order.Poly1271:
		maker, signer = opts.Funder, opts.Funder
	}
	b := &CLOB{
		client: client, key: key, signer: signer, maker: maker, sigType: opts.SignatureType,
		chainID: opts.ChainID, ctf: opts.CTFExchange, neg: opts.NegRiskExchange, v3: opts.ExchangeV3,
		slippage: opts.Slippage, orderType: opts.OrderType, apiKey: creds.APIKey,
		log: opts.Log.Named("live"), now: opts.Now, stamps: stamps, positions: positions,
	}
	b.protocolFor(false)
	// An account in closed-only mode trades on: its exits go, its BUYs are refused with the
	// reason (access.go).
	b.refreshClosedOnly(ctx)
	b.log.Info("live trading on the CLOB",
		zap.String("clob", opts.BaseURL), zap.Stringer("maker", maker), zap.Stringer("signature_type", opts.SignatureType),
		zap.String("order_type", opts.OrderType.String()), zap.String("slippage", opts.Slippage.String()))
	return b, nil
}

// Client is the CLOB client the broker uses.
func (b *CLOB) Client() *clob.Client { return b.client }

// Close releases the client's idle connections.
func (b *CLOB) Close() { b.client.Close() }

// Prepared is a copy priced, sized and signed, ready to POST. Price is the worst price the
// order accepts; Size the shares ordered. A market BUY (FAK or FOK) spends Amount collateral (cut
// to cents, as the CLOB requires) for at least its taker amount of shares. FeeRateBps is the
// market's taker fee rate when the order was signed, FeeExponent its exponent (0 means 1; see
// order.ScheduleFee).
type Prepared struct {
	Price       decimal.Decimal
	Size        decimal.Decimal
	Amount      decimal.Decimal // collateral a market BUY spends; zero for other orders
	FeeRateBps  int
	FeeExponent int
	Hash        common.Hash
	Body        []byte
	Order       order.SignedOrderV2
	// exchange and proto (its signing domain) and orderType (its POST envelope's), kept for
	// Journal.
	exchange  common.Address
	proto     order.Protocol
	orderType order.OrderType
}

// marketBuy reports whether the prepared order is a market BUY: it spends its maker amount of
// collateral and takes as many shares as that buys at or below its price.
func (p *Prepared) marketBuy() bool { return p.Amount.IsPositive() }

// orderAmounts returns the maker and taker amounts of a copy of size shares at price. FAK and
// FOK orders are market orders: a BUY spends size·price collateral cut to cents (the CLOB
// refuses a market BUY whose maker amount has more than 2 decimals) for shares at the price
// rounded down to the tick, and may fill more shares when the book is better; a SELL sells the
// size. GTC orders are limit orders for size shares at price.
func orderAmounts(ot order.OrderType, side order.Side, price, size, tick decimal.Decimal) (maker, taker *big.Int, amount decimal.Decimal, err error) {
	if ot != order.FAK && ot != order.FOK {
		maker, taker, err = order.LimitAmounts(side, price, size, tick)
		return maker, taker, decimal.Decimal{}, err
	}
	amt := size
	if side == order.Buy {
		amt = size.Mul(price).Truncate(2)
		amount = amt
	}
	maker, taker, err = order.MarketAmounts(order.V2, side, price, amt, tick)
	return maker, taker, amount, err
}

// Prepare prices, sizes and signs the copy o without sending it. A copy that cannot be placed
// within its bounds is refused with ErrRefused or ErrPriceBound.
func (b *CLOB) Prepare(ctx context.Context, o Order) (_ *Prepared, err error) {
	defer func() { err = Classify(err) }()
	if o.Source == nil {
		return nil, fmt.Errorf("%w: a live copy needs its source fill (it keys the order's salt)", ErrRefused)
	}
	if o.TokenID == nil || o.TokenID.Sign() <= 0 {
		return nil, fmt.Errorf("%w: no token id", ErrRefused)
	}
	if o.Side == polymarket.Buy {
		if err := b.buyAllowed(ctx); err != nil {
			return nil, err
		}
	}
	m, err := b.client.Market(ctx, o.TokenID.String())
	if clob.KindOf(err) == clob.KindNotFound {
		return nil, fmt.Errorf("%w: %w", ErrMarketClosed, err)
	}
	if err != nil {
		return nil, err
	}
	price, err := LimitPrice(o.Side, o.Collateral, o.Shares, b.slippage, m.TickSize)
	if err != nil {
		return nil, err
	}
	if err := order.ValidatePrice(price, m.TickSize); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	size := sharesOf(o.Shares)
	if err := order.ValidateSize(size, minSizeFor(o, b.orderType, m.MinSize)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if err := belowMinNotional(o.Side, price, size); err != nil {
		return nil, err
	}
	side := orderSide(o.Side)
	makerAmt, takerAmt, amount, err := orderAmounts(b.orderType, side, price, size, m.TickSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	key := fillKey{o.Source.TxHash, o.Source.LogIndex, o.Attempt}
	ts, ok := b.stamps.Get(key)
	if !ok {
		ts = b.now().UnixMilli()
		b.stamps.Add(key, ts)
	}
	// Signed for the order version the CLOB announced last (re-read after each
	// order_version_mismatch); an exit while it wants a version polybot cannot sign is signed
	// for the last one it took, and may be refused. A Protocol V2 position order is signed for
	// ExchangeV3 whatever the version (order.VenueFor).
	proto, exchange, _ := b.protocolFor(m.NegRisk)
	if b.isPosition(o) {
		venue, err := order.VenueFor(true, m.NegRisk, order.Exchanges{CTF: b.ctf, NegRisk: b.neg, V3: b.v3})
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRefused, err)
		}
		proto, exchange = venue.Protocol, venue.Exchange
	} else if proto == 0 {
		if err := b.exitSignable(ctx); err != nil {
			return nil, err
		}
		proto, exchange, _ = b.protocolFor(m.NegRisk)
	}
	ov := order.OrderV2{
		Salt: order.SaltForAttempt(o.Source.TxHash, o.Source.LogIndex, o.Attempt), Maker: b.maker, Signer: b.signer,
		TokenID: new(big.Int).Set(o.TokenID), MakerAmount: makerAmt, TakerAmount: takerAmt,
		Side: side, SignatureType: b.sigType, Timestamp: big.NewInt(ts), Expiration: new(big.Int),
	}
	sig, hash, err := order.SignV2(b.key, &ov, order.ExchangeDomain(proto, b.chainID, exchange))
	if err != nil {
		return nil, err
	}
	signed := order.SignedOrderV2{Order: ov, Signature: sig}
	body, err := signed.PostOrderBody(b.apiKey, b.orderType, false)
	if err != nil {
		return nil, err
	}
	b.log.Debug("copy priced", zap.String("token", o.Market), zap.Stringer("side", o.Side),
		zap.String("leader_price", leaderPrice(o.Collateral, o.Shares).String()), zap.String("limit", price.String()),
		zap.String("size", size.String()), zap.String("tick", m.TickSize.String()), zap.Bool("neg_risk", m.NegRisk),
		zap.Int("fee_rate_bps", m.FeeRateBps), zap.Int("fee_exponent", m.FeeExponent), zap.String("fee_source", m.FeeSource),
		zap.Stringer("protocol", proto), zap.Stringer("order", hash))
	return &Prepared{Price: price, Size: size, Amount: amount, FeeRateBps: m.FeeRateBps, FeeExponent: m.FeeExponent, Hash: hash, Body: body, Order: signed,
		exchange: exchange, proto: proto, orderType: b.orderType}, nil
}

// isPosition reports whether the copy o trades a Protocol V2 position id, to be signed for
// ExchangeV3. The leader's fill says so: the chain log of a fill on ExchangeV3 carries the
// position id in its tokenId, and that id is what the CLOB trades and the order's "tokenId"
// carries (clob-client-v2 positionOrders tests), so the id needs no mapping. A source fill that
// does not name its exchange (an order rebuilt from a stored intent) takes what polybot learned
// of the id since the start (copies, restored journals), and is a CTF token id when it learned
// nothing.
func (b *CLOB) isPosition(o Order) bool {
	key := o.TokenID.String()
	if o.Source != nil && o.Source.Exchange != (common.Address{}) {
		position := o.Source.Exchange == b.v3
		if position {
			b.positions.Add(key, true)
		}
		return position
	}
	position, _ := b.positions.Get(key)
	return position
}

// IsPosition reports whether polybot learned that tokenID is a Protocol V2 position id (a
// copy of a leader fill on ExchangeV3, or a journaled ExchangeV3 order): its balance is asset
// type CONDITIONAL-V2 at the CLOB.
func (b *CLOB) IsPosition(tokenID *big.Int) bool {
	if tokenID == nil {
		return false
	}
	position, _ := b.positions.Get(tokenID.String())
	return position
}

// PlaceOrder prices, signs and sends the copy o and returns what filled. A FOK or FAK order that
// finds nothing to match is an execution of zero shares, not an error. After a timeout the order
// is looked up by its hash and, only when neither the CLOB nor its trades know it, the same
// signed body is sent once more: the CLOB refuses a duplicate hash, so a copy never trades twice.
//
// When o carries its Prepared order (the executor prepared it to journal its hash), exactly
// that order is posted: it is never priced or signed a second time.
func (b *CLOB) PlaceOrder(ctx context.Context, o Order) (_ Execution, err error) {
	defer func() { err = Classify(err) }()
	p := o.Prepared
	if p == nil {
		if p, err = b.Prepare(ctx, o); err != nil {
			return Execution{}, fmt.Errorf("live %s of token %s: %w", o.Side, o.Market, err)
		}
	}
	log := b.log.With(zap.Stringer("order", p.Hash))
	resp, err := b.client.PostOrder(ctx, p.Body)
	b.noteAnswer(err)
	for attempt := 0; err != nil; attempt++ {
		var exec Execution
		var done bool
		exec, done, err = b.resolve(ctx, o, p, err, attempt, log)
		if done {
			return exec, err
		}
		log.Warn("order not on the CLOB after an unknown outcome; sending the same signed order again")
		resp, err = b.client.PostOrder(ctx, p.Body)
		b.noteAnswer(err)
	}
	return b.answer(ctx, o, p, resp, log)
}

// resolve decides what a failed POST means. done is false only when the order should be sent
// again (once): its outcome was unknown and the CLOB does not know its hash.
func (b *CLOB) resolve(ctx context.Context, o Order, p *Prepared, postErr error, attempt int, log *zap.Logger) (Execution, bool, error) {
	fail := func(err error) (Execution, bool, error) {
		return Execution{}, true, fmt.Errorf("live %s of token %s at %s (order %s): %w", o.Side, o.Market, p.Price, p.Hash.Hex(), err)
	}
	switch kind := clob.KindOf(postErr); {
	case errors.Is(postErr, clob.ErrUnknownOutcome), kind == clob.KindDuplicate:
		oo, err := b.client.GetOrder(ctx, p.Hash.Hex())
		if isNotFound(err) {
			// The CLOB forgets an order that filled or was killed: its trades tell whether
			// it reached the CLOB after all.
			exec, found, terr := b.fromTrades(ctx, o, p)
			switch {
			case terr != nil:
				return fail(fmt.Errorf("%w; the order is not listed and its trades could not be read: %w", postErr, terr))
			case found:
				log.Info("order not listed after an unclear answer, but its trades are: it reached the CLOB",
					zap.String("matched_shares", sharesUnits(exec.Shares)))
				return exec, true, nil
			}
		}
		switch {
		case err == nil:
			log.Info("order found by hash after an unclear answer", zap.String("status", oo.Status), zap.String("matched", oo.SizeMatched.String()))
			exec, err := b.fromLookup(o, p, oo)
			return exec, true, err
		case errors.Is(err, clob.ErrOrderNotFound) && attempt == 0 && kind != clob.KindDuplicate:
			return Execution{}, false, nil
		default:
			return fail(fmt.Errorf("%w; looking the order up failed: %w", postErr, err))
		}
	case kind == clob.KindNotFilled:
		log.Info("nothing filled", zap.String("type", b.orderType.String()), zap.String("limit", p.Price.String()), zap.String("reason", apiMessage(postErr)))
		return execution(o, 0, 0), true, nil
	case kind == clob.KindTickSize:
		b.client.InvalidateMarket(o.Market)
		return fail(fmt.Errorf("the market's tick size changed; its metadata is refreshed for the next copy, this one is not retried: %w", postErr))
	default:
		return fail(postErr)
	}
}

// fromResponse reads what filled from an accepted order's making and taking amounts: BUY makes
// collateral and takes shares, SELL the reverse.
func (b *CLOB) fromResponse(o Order, p *Prepared, r *clob.PostOrderResponse, log *zap.Logger) (Execution, error) {
	making, err1 := toUnits(r.MakingAmount)
	taking, err2 := toUnits(r.TakingAmount)
	if err := errors.Join(err1, err2); err != nil {
		return Execution{}, fmt.Errorf("live order %s: %w", p.Hash.Hex(), err)
	}
	shares, coll := taking, making
	if o.Side == polymarket.Sell {
		shares, coll = making, taking
	}
	e := b.executed(o, p, shares, coll)
	if r.Status == clob.StatusDelayed || (r.Status == clob.StatusLive && shares < o.Shares) {
		e.Open = true
		log.Info("order not final at once; it is tracked until it is",
			zap.String("status", r.Status), zap.String("matched_shares", sharesUnits(shares)))
	}
	log.Debug("order placed", zap.String("status", r.Status), zap.String("shares", sharesUnits(shares)),
		zap.String("usdc", sharesUnits(coll)), zap.String("fee", sharesUnits(e.Fee)), zap.Bool("complete", e.Complete))
	return e, nil
}

// executed is the execution of p: shares traded for coll collateral, with the taker fee of the
// market's schedule (see order.ScheduleFee) on the average fill price. A market BUY is complete when it
// got at least the shares its amount buys at its worst price (it spent the amount); a FOK order
// that traded is complete.
func (b *CLOB) executed(o Order, p *Prepared, shares, coll uint64) Execution {
	e := execution(o, shares, coll)
	if shares == 0 {
		return e
	}
	e.Fee = order.ScheduleFee(shares, coll, p.FeeRateBps, p.FeeExponent)
	switch {
	case p.marketBuy() && p.Order.Order.TakerAmount != nil:
		e.Complete = p.Order.Order.TakerAmount.IsUint64() && shares >= p.Order.Order.TakerAmount.Uint64()
	case b.orderType == order.FOK:
		e.Complete = true
	}
	return e
}

// fromLookup reads what filled from the order as GET /data/order reports it: the matched size
// at the order's limit price (the most a BUY paid, the least a SELL received).
func (b *CLOB) fromLookup(o Order, p *Prepared, oo *clob.OpenOrder) (Execution, error) {
	shares, err := toUnits(oo.SizeMatched)
	if err != nil {
		return Execution{}, fmt.Errorf("live order %s: matched size: %w", p.Hash.Hex(), err)
	}
	price := p.Price
	if oo.Price.IsPositive() {
		price = oo.Price
	}
	c := decimal.NewFromUint64(shares).Mul(price)
	if o.Side == polymarket.Buy {
		c = c.Ceil()
	} else {
		c = c.Floor()
	}
	coll := c.BigInt().Uint64()
	if p.marketBuy() && p.Order.Order.MakerAmount != nil && p.Order.Order.MakerAmount.IsUint64() {
		// A market BUY never pays more than its amount, whatever its average price was.
		coll = min(coll, p.Order.Order.MakerAmount.Uint64())
	}
	return b.executed(o, p, shares, coll), nil
}

func apiMessage(err error) string {
	var ae *clob.APIError
	if errors.As(err, &ae) {
		return ae.Message
	}
	return err.Error()
}

func sharesUnits(v uint64) string { return decimal.NewFromUint64(v).Shift(-6).String() }

// Resolve finds out what became of a copy whose intent a crash left pending: the order is looked
// up by the hash recorded with the intent (and in its trades once the CLOB no longer lists it).
// An order neither knows is unfilled; it is not sent again (the moment has passed). An order still open is reported
// with what filled so far; the executor tracks it (Lookup) rather than resolving it here.
func (b *CLOB) Resolve(ctx context.Context, in OrderRef) (Fill, error) {
	st, err := b.Lookup(ctx, in)
	if errors.Is(err, clob.ErrOrderNotFound) {
		return Fill{Status: Unfilled, OrderID: in.Hash.Hex()}, nil
	}
	if err != nil {
		return Fill{}, err
	}
	if st.Open {
		b.log.Warn("a recovered order still rests on the book; what fills later is not recorded",
			zap.String("order", st.Result.OrderID), zap.String("status", st.State))
	}
	return st.Result, nil
}
