package clob

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/order"
)

// Version returns the protocol version the CLOB announces on GET /version, and remembers it.
func (c *Client) Version(ctx context.Context) (int, error) {
	cl := call{method: http.MethodGet, path: "/version"}
	raw, err := c.do(ctx, cl)
	if err != nil {
		return 0, err
	}
	var v struct {
		Version *integer `json:"version"`
	}
	if err := decode(cl, raw, &v); err != nil {
		return 0, err
	}
	if v.Version == nil || *v.Version <= 0 || *v.Version > 1000 {
		return 0, fmt.Errorf("%w: GET /version: no valid version field", ErrMalformedResponse)
	}
	c.version.Store(int64(*v.Version))
	return int(*v.Version), nil
}

// ProtocolVersion returns the version last read from GET /version (0 before any).
func (c *Client) ProtocolVersion() int { return int(c.version.Load()) }

// RequireV2 reads GET /version and fails unless the CLOB speaks version 2: polybot signs V2
// orders only and must not trade against another protocol.
func (c *Client) RequireV2(ctx context.Context) error {
	v, err := c.Version(ctx)
	if err != nil {
		return fmt.Errorf("check CLOB protocol version: %w", err)
	}
	if v != 2 {
		return fmt.Errorf("%w: %s announces version %d and polybot signs version 2 orders only; refusing to trade", ErrNotV2, c.base, v)
	}
	return nil
}

// ServerTime returns the CLOB's clock (GET /time, unix seconds).
func (c *Client) ServerTime(ctx context.Context) (time.Time, error) {
	cl := call{method: http.MethodGet, path: "/time"}
	raw, err := c.do(ctx, cl)
	if err != nil {
		return time.Time{}, err
	}
	var secs integer
	if err := decode(cl, raw, &secs); err != nil {
		return time.Time{}, err
	}
	if secs <= 0 {
		return time.Time{}, fmt.Errorf("%w: GET /time: %d is not a unix time", ErrMalformedResponse, secs)
	}
	return time.Unix(int64(secs), 0), nil
}

// ClockSkew returns the CLOB's clock minus the local clock, measured at the middle of the
// round trip (the CLOB's clock has one-second resolution). It logs a warning above
// ClockSkewWarning: L1 and L2 headers carry local timestamps the CLOB may refuse.
func (c *Client) ClockSkew(ctx context.Context) (time.Duration, error) {
	start := c.now()
	server, err := c.ServerTime(ctx)
	if err != nil {
		return 0, err
	}
	end := c.now()
	local := start.Add(end.Sub(start) / 2)
	skew := server.Sub(local.Truncate(time.Second))
	if skew > ClockSkewWarning || skew < -ClockSkewWarning {
		c.log.Warn("local clock differs from the CLOB's; signed requests may be refused",
			zap.Duration("skew", skew), zap.Duration("threshold", ClockSkewWarning))
	}
	return skew, nil
}

// Book is the order book of one outcome token. Bids and asks are in the order GET /book sends
// them: best last (bids ascending, asks descending), as order.MarketPrice expects.
type Book struct {
	Market         string
	AssetID        string
	Timestamp      time.Time
	Hash           string
	Bids           []order.Level
	Asks           []order.Level
	MinOrderSize   decimal.Decimal
	TickSize       decimal.Decimal
	NegRisk        bool
	LastTradePrice decimal.Decimal
}

type wireLevel struct {
	Price *number `json:"price"`
	Size  *number `json:"size"`
}

type wireBook struct {
	Market         text        `json:"market"`
	AssetID        text        `json:"asset_id"`
	Timestamp      integer     `json:"timestamp"`
	Hash           text        `json:"hash"`
	Bids           []wireLevel `json:"bids"`
	Asks           []wireLevel `json:"asks"`
	MinOrderSize   number      `json:"min_order_size"`
	TickSize       *number     `json:"tick_size"`
	NegRisk        flag        `json:"neg_risk"`
	LastTradePrice number      `json:"last_trade_price"`
}

var (
	one      = decimal.New(1, 0)
	maxShare = decimal.New(1, 15) // no level or minimum holds a quadrillion shares
)

func checkTokenID(tokenID string) error {
	if tokenID == "" || len(tokenID) > 80 || strings.Trim(tokenID, "0123456789") != "" {
		return fmt.Errorf("clob: token id %q is not a decimal integer", tokenID)
	}
	return nil
}

// Book returns the order book of tokenID (GET /book).
func (c *Client) Book(ctx context.Context, tokenID string) (*Book, error) {
	if err := checkTokenID(tokenID); err != nil {
		return nil, err
	}
	cl := call{method: http.MethodGet, path: "/book", query: url.Values{"token_id": {tokenID}}}
	raw, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	var w wireBook
	if err := decode(cl, raw, &w); err != nil {
		return nil, err
	}
	if w.TickSize == nil || !w.TickSize.IsPositive() || !w.TickSize.LessThan(one) {
		return nil, fmt.Errorf("%w: GET /book: tick_size missing or outside (0, 1)", ErrMalformedResponse)
	}
	if err := checkRange("min_order_size", w.MinOrderSize.Decimal, decimal.Zero, maxShare); err != nil {
		return nil, err
	}
	if err := checkRange("last_trade_price", w.LastTradePrice.Decimal, decimal.Zero, one); err != nil {
		return nil, err
	}
	b := &Book{
		Market: string(w.Market), AssetID: string(w.AssetID), Hash: string(w.Hash),
		MinOrderSize: w.MinOrderSize.Decimal, TickSize: w.TickSize.Decimal, NegRisk: bool(w.NegRisk),
		LastTradePrice: w.LastTradePrice.Decimal,
	}
	if w.Timestamp > 0 {
		b.Timestamp = time.UnixMilli(int64(w.Timestamp))
	}
	if b.Bids, err = levels("bids", w.Bids); err != nil {
		return nil, err
	}
	if b.Asks, err = levels("asks", w.Asks); err != nil {
		return nil, err
	}
	if c.onBook != nil {
		c.onBook(b)
	}
	return b, nil
}

func levels(side string, in []wireLevel) ([]order.Level, error) {
	out := make([]order.Level, 0, len(in))
	for i, l := range in {
		if l.Price == nil || l.Size == nil {
			return nil, fmt.Errorf("%w: GET /book: %s[%d] lacks price or size", ErrMalformedResponse, side, i)
		}
		if !l.Price.IsPositive() || !l.Price.LessThan(one) {
			return nil, fmt.Errorf("%w: GET /book: %s[%d] price %s outside (0, 1)", ErrMalformedResponse, side, i, l.Price.Decimal)
		}
		if err := checkRange(side+" size", l.Size.Decimal, decimal.Zero, maxShare); err != nil {
			return nil, err
		}
		out = append(out, order.Level{Price: l.Price.Decimal, Size: l.Size.Decimal})
	}
	return out, nil
}

// TickSize returns the minimum tick size of tokenID (GET /tick-size).
func (c *Client) TickSize(ctx context.Context, tokenID string) (decimal.Decimal, error) {
	var v struct {
		Tick *number `json:"minimum_tick_size"`
	}
	if err := c.getToken(ctx, "/tick-size", tokenID, &v); err != nil {
		return decimal.Decimal{}, err
	}
	if v.Tick == nil || !v.Tick.IsPositive() || !v.Tick.LessThan(one) {
		return decimal.Decimal{}, fmt.Errorf("%w: GET /tick-size: minimum_tick_size missing or outside (0, 1)", ErrMalformedResponse)
	}
	return v.Tick.Decimal, nil
}

// NegRisk reports whether tokenID trades on the neg-risk exchange (GET /neg-risk).
func (c *Client) NegRisk(ctx context.Context, tokenID string) (bool, error) {
	var v struct {
		NegRisk *flag `json:"neg_risk"`
	}
	if err := c.getToken(ctx, "/neg-risk", tokenID, &v); err != nil {
		return false, err
	}
	if v.NegRisk == nil {
		return false, fmt.Errorf("%w: GET /neg-risk: no neg_risk field", ErrMalformedResponse)
	}
	return bool(*v.NegRisk), nil
}

// FeeRate returns the base fee of tokenID in basis points (GET /fee-rate).
func (c *Client) FeeRate(ctx context.Context, tokenID string) (int, error) {
	var v struct {
		Fee *integer `json:"base_fee"`
	}
	if err := c.getToken(ctx, "/fee-rate", tokenID, &v); err != nil {
		return 0, err
	}
	if v.Fee == nil || *v.Fee < 0 || *v.Fee > 10000 {
		return 0, fmt.Errorf("%w: GET /fee-rate: base_fee missing or outside [0, 10000]", ErrMalformedResponse)
	}
	return int(*v.Fee), nil
}

func (c *Client) getToken(ctx context.Context, path, tokenID string, v any) error {
	if err := checkTokenID(tokenID); err != nil {
		return err
	}
	cl := call{method: http.MethodGet, path: path, query: url.Values{"token_id": {tokenID}}}
	raw, err := c.do(ctx, cl)
	if err != nil {
		return err
	}
	return decode(cl, raw, v)
}

// MarketInfo is what polybot needs to price and sign an order on one token.
type MarketInfo struct {
	TickSize decimal.Decimal
	MinSize  decimal.Decimal // min_order_size, in shares
	NegRisk  bool
	// ConditionID is the book's "market" field.
	ConditionID string
	// FeeRateBps and FeeExponent are the market's taker fee schedule (FeeSchedule), read from
	// FeeSource (fees.go: where the CLOB takes it from, and the fallbacks).
	FeeRateBps  int
	FeeExponent int
	FeeSource   string
	FetchedAt   time.Time
}

type marketEntry struct {
	info    MarketInfo
	expires time.Time
}

// Market returns tokenID's metadata from the cache, fetching it (GET /book, and the fee
// schedule from GET /clob-markets/{condition_id} or its fallbacks, fees.go)
// when it is missing or older than MetadataTTL. Concurrent misses share one fetch.
func (c *Client) Market(ctx context.Context, tokenID string) (MarketInfo, error) {
	e, ok := c.markets.Get(tokenID)
	if ok && c.now().Before(e.expires) {
		return e.info, nil
	}
	ch := c.group.DoChan(tokenID, func() (any, error) {
		// Detach from the first caller's cancellation so one impatient caller does not fail
		// the others; the per-attempt timeout still bounds the fetch.
		fctx := context.WithoutCancel(ctx)
		book, err := c.Book(fctx, tokenID)
		if err != nil {
			return MarketInfo{}, err
		}
		fee, source, err := c.feeSchedule(fctx, tokenID, book.Market, ok, e.info)
		if err != nil {
			// A failing fee lookup does not stop copying: the fallbacks in fees.go give a
			// schedule that is the CLOB's legacy upper bound, the one last read, or the
			// conservative order.UnknownFeeRateBps, so every cap still counts a fee.
			c.log.Warn("fee schedule not read from GET /clob-markets; using a fallback", zap.String("token", tokenID),
				zap.String("fee_source", source), zap.Int("fee_rate_bps", fee.RateBps), zap.Int("fee_exponent", fee.Exponent), zap.Error(err))
		}
		now := c.now()
		info := MarketInfo{TickSize: book.TickSize, MinSize: book.MinOrderSize, NegRisk: book.NegRisk, ConditionID: book.Market,
			FeeRateBps: fee.RateBps, FeeExponent: fee.Exponent, FeeSource: source, FetchedAt: now}
		c.markets.Add(tokenID, marketEntry{info: info, expires: now.Add(c.ttl)})
		return info, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return MarketInfo{}, fmt.Errorf("market %s: %w", tokenID, r.Err)
		}
		return r.Val.(MarketInfo), nil
	case <-ctx.Done():
		return MarketInfo{}, ctx.Err()
	}
}

// InvalidateMarket drops tokenID's cached metadata, so the next Market fetches it again. Call it
// after an order is refused for its tick size.
func (c *Client) InvalidateMarket(tokenID string) {
	c.markets.Remove(tokenID)
}
