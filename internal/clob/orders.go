package clob

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"
	"go.uber.org/zap"
)

// Order statuses of a POST /order answer.
const (
	StatusLive      = "live"      // resting on the book
	StatusMatched   = "matched"   // matched (in full, or in part for FAK)
	StatusDelayed   = "delayed"   // marketable, matching delayed by the CLOB
	StatusUnmatched = "unmatched" // marketable, not matched after the delay
)

// PostOrderResponse is the CLOB's answer to an accepted order. MakingAmount and TakingAmount are
// in tokens as the API reports them (collateral and shares with up to 6 decimals), not base units.
type PostOrderResponse struct {
	Success            bool
	ErrorMsg           string
	OrderID            string
	Status             string
	MakingAmount       decimal.Decimal
	TakingAmount       decimal.Decimal
	TransactionsHashes []string
}

type wirePostOrderResponse struct {
	Success            *flag    `json:"success"`
	ErrorMsg           text     `json:"errorMsg"`
	ErrorMsgSnake      text     `json:"error_msg"`
	OrderID            text     `json:"orderID"`
	OrderIDSnake       text     `json:"order_id"`
	Status             text     `json:"status"`
	MakingAmount       number   `json:"makingAmount"`
	TakingAmount       number   `json:"takingAmount"`
	TransactionsHashes []string `json:"transactionsHashes"`
	TransactionHashes  []string `json:"transactionHashes"`
}

// PostOrder sends a signed order: body is the exact JSON of SignedOrderV2.PostOrderBody, and
// the L2 signature covers it. An order the CLOB refuses (an error status, or success=false) is
// an *APIError. PostOrder retries only failures that cannot have placed the order (429, 503, a
// connection never made); after a timeout or a 5xx that may hide an accepted order it returns
// ErrUnknownOutcome: look the order up by hash (GetOrder) before sending it again. On
// order_version_mismatch it re-reads GET /version before returning.
func (c *Client) PostOrder(ctx context.Context, body []byte) (*PostOrderResponse, error) {
	if !json.Valid(body) {
		return nil, fmt.Errorf("clob POST /order: body is not valid JSON")
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		return nil, fmt.Errorf("clob POST /order: compact body: %w", err)
	}
	cl := call{method: http.MethodPost, path: "/order", body: compact.Bytes(), auth: authL2, once: true}
	raw, err := c.do(ctx, cl)
	if err != nil {
		c.afterOrderError(ctx, err)
		return nil, err
	}
	var w wirePostOrderResponse
	if err := decode(cl, raw, &w); err != nil {
		// The order may well be on the book: the caller must look it up.
		return nil, fmt.Errorf("%w: %w", ErrUnknownOutcome, err)
	}
	r := &PostOrderResponse{
		Success:            w.Success != nil && bool(*w.Success),
		ErrorMsg:           string(firstText(w.ErrorMsg, w.ErrorMsgSnake)),
		OrderID:            string(firstText(w.OrderID, w.OrderIDSnake)),
		Status:             strings.ToLower(string(w.Status)),
		MakingAmount:       w.MakingAmount.Decimal,
		TakingAmount:       w.TakingAmount.Decimal,
		TransactionsHashes: w.TransactionsHashes,
	}
	if r.TransactionsHashes == nil {
		r.TransactionsHashes = w.TransactionHashes
	}
	if !r.Success || r.ErrorMsg != "" {
		msg := r.ErrorMsg
		if msg == "" {
			msg = "order not accepted (success=false without errorMsg)"
		}
		err := &APIError{Status: http.StatusOK, Method: cl.method, Path: cl.path, Message: shorten(msg), Kind: classify(http.StatusOK, msg)}
		c.afterOrderError(ctx, err)
		return nil, err
	}
	if r.MakingAmount.IsNegative() || r.TakingAmount.IsNegative() {
		return nil, fmt.Errorf("%w: %w: POST /order: negative making or taking amount", ErrUnknownOutcome, ErrMalformedResponse)
	}
	switch r.Status {
	case StatusLive, StatusMatched, StatusDelayed, StatusUnmatched:
	default:
		c.log.Warn("CLOB answered an order with an unknown status", zap.String("status", r.Status), zap.String("order", r.OrderID))
	}
	return r, nil
}

// afterOrderError re-resolves the protocol version after order_version_mismatch.
func (c *Client) afterOrderError(ctx context.Context, err error) {
	if KindOf(err) != KindVersionMismatch {
		return
	}
	old := c.ProtocolVersion()
	v, verr := c.Version(ctx)
	if verr != nil {
		c.log.Warn("order refused for its version; reading GET /version failed", zap.Error(verr))
		return
	}
	c.log.Warn("order refused for its version; CLOB protocol version re-read", zap.Int("was", old), zap.Int("version", v))
}

func firstText(ts ...text) text {
	for _, t := range ts {
		if t != "" {
			return t
		}
	}
	return ""
}

// CancelResponse is the answer of DELETE /order.
type CancelResponse struct {
	Canceled    []string
	NotCanceled map[string]string // order id -> reason
}

// CancelOrder cancels one order (DELETE /order). It fails with ErrNotCanceled, carrying the
// CLOB's reason, when the order is listed as not canceled.
func (c *Client) CancelOrder(ctx context.Context, orderID string) (*CancelResponse, error) {
	if orderID == "" {
		return nil, fmt.Errorf("clob DELETE /order: empty order id")
	}
	body, err := json.Marshal(struct {
		OrderID string `json:"orderID"`
	}{orderID})
	if err != nil {
		return nil, fmt.Errorf("clob DELETE /order: %w", err)
	}
	cl := call{method: http.MethodDelete, path: "/order", body: body, auth: authL2}
	raw, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	var w struct {
		Canceled    []string          `json:"canceled"`
		NotCanceled map[string]string `json:"not_canceled"`
	}
	if err := decode(cl, raw, &w); err != nil {
		return nil, err
	}
	r := &CancelResponse{Canceled: w.Canceled, NotCanceled: w.NotCanceled}
	for _, id := range r.Canceled {
		if strings.EqualFold(id, orderID) {
			return r, nil
		}
	}
	reason := "not listed as canceled"
	for id, why := range r.NotCanceled {
		if strings.EqualFold(id, orderID) {
			reason = shorten(why)
		}
	}
	return r, fmt.Errorf("%w: %s: %s", ErrNotCanceled, orderID, reason)
}

// OpenOrder is an order as GET /data/order/{id} reports it. Sizes are in shares.
type OpenOrder struct {
	ID           string
	Status       string // e.g. LIVE, MATCHED, CANCELED
	Owner        string
	MakerAddress string
	Market       string
	AssetID      string
	Side         string
	OriginalSize decimal.Decimal
	SizeMatched  decimal.Decimal
	Price        decimal.Decimal
	Outcome      string
	OrderType    string
	Expiration   int64
	CreatedAt    time.Time
}

type wireOpenOrder struct {
	ID           text    `json:"id"`
	Status       text    `json:"status"`
	Owner        text    `json:"owner"`
	MakerAddress text    `json:"maker_address"`
	Market       text    `json:"market"`
	AssetID      text    `json:"asset_id"`
	Side         text    `json:"side"`
	OriginalSize number  `json:"original_size"`
	SizeMatched  number  `json:"size_matched"`
	Price        number  `json:"price"`
	Outcome      text    `json:"outcome"`
	OrderType    text    `json:"order_type"`
	Expiration   integer `json:"expiration"`
	CreatedAt    integer `json:"created_at"`
}

// GetOrder returns the order with id orderID (its hash) from GET /data/order/{id}. An unknown
// order is ErrOrderNotFound, whether the CLOB says so with 404 or with an empty answer.
func (c *Client) GetOrder(ctx context.Context, orderID string) (*OpenOrder, error) {
	if orderID == "" || strings.ContainsAny(orderID, "/?#% ") {
		return nil, fmt.Errorf("clob GET /data/order: order id %q is empty or not a plain id", orderID)
	}
	cl := call{method: http.MethodGet, path: "/data/order/" + orderID, auth: authL2}
	raw, err := c.do(ctx, cl)
	if err != nil {
		if KindOf(err) == KindNotFound {
			return nil, fmt.Errorf("%w: %s: %w", ErrOrderNotFound, orderID, err)
		}
		return nil, err
	}
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" || string(t) == "{}" || string(t) == `""` {
		return nil, fmt.Errorf("%w: %s", ErrOrderNotFound, orderID)
	}
	var w wireOpenOrder
	if err := decode(cl, raw, &w); err != nil {
		return nil, err
	}
	if w.ID == "" {
		return nil, fmt.Errorf("%w: %s", ErrOrderNotFound, orderID)
	}
	o := &OpenOrder{
		ID: string(w.ID), Status: string(w.Status), Owner: string(w.Owner), MakerAddress: string(w.MakerAddress),
		Market: string(w.Market), AssetID: string(w.AssetID), Side: string(w.Side),
		OriginalSize: w.OriginalSize.Decimal, SizeMatched: w.SizeMatched.Decimal, Price: w.Price.Decimal,
		Outcome: string(w.Outcome), OrderType: string(w.OrderType), Expiration: int64(w.Expiration),
	}
	if w.CreatedAt > 0 {
		o.CreatedAt = time.Unix(int64(w.CreatedAt), 0)
	}
	return o, nil
}

// Asset types of BalanceAllowance. AssetConditionalV2 is the outcome token of a Protocol V2
// market (Gamma version "v2", whose outcome ids Gamma lists as positionIds).
const (
	AssetCollateral    = "COLLATERAL"
	AssetConditional   = "CONDITIONAL"
	AssetConditionalV2 = "CONDITIONAL-V2"
)

// BalanceAllowance is a wallet's balance and allowance of collateral or of one outcome token,
// in base units (6 decimals). Allowance is the smallest of Allowances when the CLOB answers with
// one allowance per spender (exchange).
type BalanceAllowance struct {
	Balance    decimal.Decimal
	Allowance  decimal.Decimal
	Allowances map[common.Address]decimal.Decimal
}

// BalanceAllowance returns the balance and allowance the CLOB sees (GET /balance-allowance).
// assetType is AssetCollateral (tokenID ""), AssetConditional or AssetConditionalV2; sigType is the order signature
// type, which tells the CLOB whose balance (EOA or funder) to read.
func (c *Client) BalanceAllowance(ctx context.Context, assetType, tokenID string, sigType int) (*BalanceAllowance, error) {
	q := url.Values{"asset_type": {assetType}, "signature_type": {strconv.Itoa(sigType)}}
	switch assetType {
	case AssetCollateral:
		if tokenID != "" {
			return nil, fmt.Errorf("clob: collateral balance takes no token id")
		}
	case AssetConditional, AssetConditionalV2:
		if err := checkTokenID(tokenID); err != nil {
			return nil, err
		}
		q.Set("token_id", tokenID)
	default:
		return nil, fmt.Errorf("clob: asset type %q (valid: %s, %s, %s)", assetType, AssetCollateral, AssetConditional, AssetConditionalV2)
	}
	if sigType < 0 || sigType > 3 {
		return nil, fmt.Errorf("clob: signature type %d (valid: 0 to 3)", sigType)
	}
	cl := call{method: http.MethodGet, path: "/balance-allowance", query: q, auth: authL2}
	raw, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	var w struct {
		Balance    *number           `json:"balance"`
		Allowance  *number           `json:"allowance"`
		Allowances map[string]number `json:"allowances"`
	}
	if err := decode(cl, raw, &w); err != nil {
		return nil, err
	}
	if w.Balance == nil || w.Balance.IsNegative() || !w.Balance.IsInteger() {
		return nil, fmt.Errorf("%w: GET /balance-allowance: balance missing, negative or fractional", ErrMalformedResponse)
	}
	b := &BalanceAllowance{Balance: w.Balance.Decimal}
	switch {
	case w.Allowance != nil:
		b.Allowance = w.Allowance.Decimal
	case w.Allowances != nil:
		b.Allowances = make(map[common.Address]decimal.Decimal, len(w.Allowances))
		first := true
		for spender, a := range w.Allowances {
			if !common.IsHexAddress(spender) {
				return nil, fmt.Errorf("%w: GET /balance-allowance: spender is not an address", ErrMalformedResponse)
			}
			b.Allowances[common.HexToAddress(spender)] = a.Decimal
			if first || a.LessThan(b.Allowance) {
				b.Allowance, first = a.Decimal, false
			}
		}
	default:
		return nil, fmt.Errorf("%w: GET /balance-allowance: neither allowance nor allowances", ErrMalformedResponse)
	}
	if b.Allowance.IsNegative() {
		return nil, fmt.Errorf("%w: GET /balance-allowance: negative allowance", ErrMalformedResponse)
	}
	return b, nil
}

// PostHeartbeat sends POST /heartbeats {"heartbeat_id": id} and returns the id the next
// heartbeat must carry; "" starts a session. Once a session runs, the CLOB cancels the API
// key's open orders when no heartbeat follows within its timeout (about 10 s), so a daemon
// that dies leaves no order resting.
func (c *Client) PostHeartbeat(ctx context.Context, id string) (string, error) {
	body, err := json.Marshal(struct {
		ID string `json:"heartbeat_id"`
	}{id})
	if err != nil {
		return "", fmt.Errorf("clob POST /heartbeats: %w", err)
	}
	cl := call{method: http.MethodPost, path: "/heartbeats", body: body, auth: authL2}
	raw, err := c.do(ctx, cl)
	if err != nil {
		return "", err
	}
	var w struct {
		ID text `json:"heartbeat_id"`
	}
	if err := decode(cl, raw, &w); err != nil {
		return "", err
	}
	if w.ID == "" {
		return "", fmt.Errorf("%w: POST /heartbeats: no heartbeat_id", ErrMalformedResponse)
	}
	return string(w.ID), nil
}
