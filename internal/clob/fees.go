package clob

import (
	"context"
	"fmt"
	"net/http"

	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/order"
)

// Where the CLOB takes a market's fee from.
//
// The V2 CLOB charges a taker the market's platform fee C·rate·(p·(1−p))^exponent, whose rate
// and exponent the CLOB itself serves as the fee details "fd" {r, e, to} of GET
// /clob-markets/{condition_id}. The official V2 clients compute fees from that answer alone:
// clob-client-v2 1.1.0 (src/client.ts getClobMarketInfo stores fd.r and fd.e per token;
// src/fees/index.ts adjustBuyAmountForFees) and py-clob-client-v2 1.0.1rc1 (client.py
// get_clob_market_info → FeeInfo(rate, exponent)). Both still call GET /fee-rate, but only to
// set feeRateBps on V1 orders ("Fee rate bps data for CLOB V1", client.ts; py-clob-client-v2
// resolves it only "if version == 1"): V2 orders sign no fee. Its base_fee is the legacy figure,
// 1000 on every fee-charging market whatever its category and 0 on the others (py-clob-client
// issue 317: "not just the takerBaseFee of 1000 or 0, which makes very little sense"), while the
// rates charged are 0.03 to 0.07 (docs.polymarket.com/trading/fees). Gamma's market object
// mirrors the schedule as feeSchedule {rate, exponent, takerOnly} next to the same legacy
// makerBaseFee/takerBaseFee (JKorf/Polymarket.Net PR 35; pmxt issue 2068), but Gamma is the
// catalogue, not the engine that charges.
//
// polybot therefore reads the fee details from GET /clob-markets/{condition_id} (a market
// without "fd" charges none); when that read fails, GET /fee-rate's base_fee with exponent 1
// (an over-estimate, never an under-estimate, of every published schedule); when both fail,
// the schedule last read; and for a market never priced, order.UnknownFeeRateBps.

// FeeSource names where a market's fee schedule came from (MarketInfo.FeeSource).
const (
	FeeFromClobMarket = "clob-markets"   // GET /clob-markets/{condition_id} "fd"
	FeeFromFeeRate    = "fee-rate"       // GET /fee-rate base_fee, exponent 1
	FeeFromLastRead   = "last-read"      // both failed: the schedule read before
	FeeFromAssumed    = "assumed-max"    // never read: order.UnknownFeeRateBps
	maxFeeExponent    = 8                // no published schedule comes near it
	feeRateDecimals   = 4                // a rate in bps has 4 decimals
	clobMarketsPath   = "/clob-markets/" // clob-client-v2 endpoints.ts GET_CLOB_MARKET
)

// FeeSchedule is a market's taker fee: fee = C·rate·(p·(1−p))^Exponent, rate = RateBps/10000.
type FeeSchedule struct {
	RateBps  int
	Exponent int
}

// ClobMarketFee returns the fee schedule of the market of conditionID from GET
// /clob-markets/{condition_id} ("fd": {"r": rate, "e": exponent}); a market without "fd"
// charges none (the clients read a missing fd as rate 0). A rate finer than a basis point is
// rounded up: the schedule bounds what a copy may pay.
func (c *Client) ClobMarketFee(ctx context.Context, conditionID string) (FeeSchedule, error) {
	if !conditionIDPattern.MatchString(conditionID) {
		return FeeSchedule{}, fmt.Errorf("clob: condition id %q is not a 0x-prefixed 32-byte hex string", conditionID)
	}
	cl := call{method: http.MethodGet, path: clobMarketsPath + conditionID}
	raw, err := c.do(ctx, cl)
	if err != nil {
		return FeeSchedule{}, err
	}
	var w struct {
		FD *struct {
			R *number  `json:"r"`
			E *integer `json:"e"`
		} `json:"fd"`
	}
	if err := decode(cl, raw, &w); err != nil {
		return FeeSchedule{}, err
	}
	if w.FD == nil {
		return FeeSchedule{}, nil
	}
	if w.FD.R == nil {
		return FeeSchedule{}, fmt.Errorf("%w: GET /clob-markets: fd has no rate r", ErrMalformedResponse)
	}
	if err := checkRange("fd.r", w.FD.R.Decimal, decimal.Zero, one); err != nil {
		return FeeSchedule{}, err
	}
	e := 1
	if w.FD.E != nil {
		e = int(*w.FD.E)
	}
	bps := int(w.FD.R.Shift(feeRateDecimals).Ceil().IntPart())
	if bps > 0 && (e < 1 || e > maxFeeExponent) {
		// An exponent of 0 would be a flat fee per share, which no published schedule has
		// and MaxFee does not bound: the answer is not trusted.
		return FeeSchedule{}, fmt.Errorf("%w: GET /clob-markets: fd exponent %d outside [1, %d]", ErrMalformedResponse, e, maxFeeExponent)
	}
	return FeeSchedule{RateBps: bps, Exponent: max(e, 1)}, nil
}

// feeSchedule reads the fee schedule of tokenID, whose condition is conditionID, from the
// source the CLOB charges by, falling back as the comment above says. had and last are the
// schedule read before, if any.
func (c *Client) feeSchedule(ctx context.Context, tokenID, conditionID string, had bool, last MarketInfo) (FeeSchedule, string, error) {
	fee, err := c.ClobMarketFee(ctx, conditionID)
	if err == nil {
		return fee, FeeFromClobMarket, nil
	}
	bps, ferr := c.FeeRate(ctx, tokenID)
	if ferr == nil {
		return FeeSchedule{RateBps: bps, Exponent: 1}, FeeFromFeeRate, err
	}
	err = fmt.Errorf("%w; GET /fee-rate: %w", err, ferr)
	if had {
		return FeeSchedule{RateBps: last.FeeRateBps, Exponent: last.FeeExponent}, FeeFromLastRead, err
	}
	return FeeSchedule{RateBps: order.UnknownFeeRateBps, Exponent: 1}, FeeFromAssumed, err
}
