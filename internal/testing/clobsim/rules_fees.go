package clobsim

import (
	"encoding/json"
	"net/http"

	"github.com/shopspring/decimal"
)

// The CLOB's fee rules: which source announces a market's fee, and what a taker pays.
//
// The V2 CLOB charges the fee details "fd" {r: rate, e: exponent, to: taker only} it serves on
// GET /clob-markets/{condition_id}: the official V2 clients compute a market BUY's fee from them
// alone (clob-client-v2 1.1.0 src/client.ts getClobMarketInfo and src/fees/index.ts;
// py-clob-client-v2 1.0.1rc1 client.py get_clob_market_info, FeeDetails "fee_rate", "exponent",
// "taker_only"). GET /fee-rate still answers, for V1 orders ("Fee rate bps data for CLOB V1",
// clob-client-v2 client.ts), with the legacy base_fee: 1000 on every fee-charging market and 0
// on the others (py-clob-client issue 317: "the takerBaseFee of 1000 or 0"). clobsim answers the
// same way, so a client that prices from GET /fee-rate gets the wrong figure, as it would live.

// legacyBaseFee is what GET /fee-rate answers as base_fee for a market charging rateBps.
const legacyBaseFee = 1000

// feeExponent is the market's exponent; 0 means 1.
func (b *book) feeExponent() int { return max(b.FeeExponent, 1) }

// takerFee is the fee, in collateral base units, the CLOB charges a taker for one fill of shares
// (base units) at price p: fee = C × rate × (p × (1 − p))^exponent with C the shares
// (docs.polymarket.com/trading/fees, "Fee Structure", exponent 1; clob-client-v2 1.1.0
// src/fees/index.ts for the exponent; makers pay none), floored to 5 decimals, the precision the
// venue charges at (nautilus_trader's Polymarket adapter, compute_commission: "floored to 5
// decimal places, matching the venue charge"). It is clobsim's own arithmetic on exact decimals,
// not polybot's.
func (b *book) takerFee(shares int64, p decimal.Decimal) int64 {
	one := decimal.New(1, 0)
	if shares <= 0 || b.FeeRateBps <= 0 || !p.IsPositive() || !p.LessThan(one) {
		return 0
	}
	fee := decimal.New(shares, -6).Mul(decimal.New(int64(b.FeeRateBps), -4))
	for range b.feeExponent() {
		fee = fee.Mul(p).Mul(one.Sub(p))
	}
	return fee.Truncate(5).Shift(6).IntPart()
}

// handleFeeRate answers GET /fee-rate with the legacy base_fee, not the rate charged.
func (s *Server) handleFeeRate(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.market(w, r); b != nil {
		base := 0
		if b.FeeRateBps > 0 {
			base = legacyBaseFee
		}
		writeJSON(w, http.StatusOK, map[string]int{"base_fee": base})
	}
}

// handleClobMarket answers GET /clob-markets/{condition_id} in the CLOB's compact form
// (clob-client-v2 1.1.0 src/types/clob.ts MarketDetails): c condition id, t tokens {t, o}, mts
// tick, nr neg risk (omitted when false), mos min order size, fd fee details (omitted when the
// market charges none).
func (s *Server) handleClobMarket(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	books := s.conditionBooksLocked(r.PathValue("condition_id"))
	if len(books) == 0 {
		writeError(w, http.StatusNotFound, "market not found")
		return
	}
	tokens := make([]map[string]string, len(books))
	for i, b := range books {
		tokens[i] = map[string]string{"t": b.TokenID, "o": b.OutcomeName}
	}
	b := books[0]
	out := map[string]any{"c": b.ConditionID, "t": tokens, "mts": json.Number(b.TickSize.String()), "mos": json.Number(b.MinSize.String()), "r": nil}
	if b.NegRisk {
		out["nr"] = true
	}
	if b.FeeRateBps > 0 {
		out["fd"] = map[string]any{"r": json.Number(decimal.New(int64(b.FeeRateBps), -4).String()), "e": b.feeExponent(), "to": true}
	}
	writeJSON(w, http.StatusOK, out)
}
