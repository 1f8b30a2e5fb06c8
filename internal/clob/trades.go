package clob

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/shopspring/decimal"
)

// GET /data/trades lists the trades of the API key's account, with their settlement status.
// It is where a filled order is found once GET /data/order no longer lists it ("if the order
// was filled, it will be in get_trades": py-clob-client issue 217). The official clients read
// it page by page (py-clob-client ClobClient.get_trades, clob-client getTrades): each answer is
// {"data": [...], "next_cursor": c}, the first page asked with next_cursor "MA==", the last
// marked by next_cursor "LTE=". Filters are id, maker_address, market, asset_id, before, after.

// Cursors of GET /data/trades: the first page and the end marker.
const (
	firstCursor = "MA=="
	endCursor   = "LTE="
)

// maxTradePages bounds how many pages one Trades call reads: a CLOB whose cursor never ends
// must not keep polybot reading forever.
const maxTradePages = 100

// Trade statuses (the CLOB may prefix them "TRADE_STATUS_"; TradeStatus strips it). A trade is
// MATCHED by the engine, MINED once its settling transaction is in a block, CONFIRMED at
// finality; a transaction that failed makes it RETRYING, and FAILED once the operator stops
// retrying (docs.polymarket.com, user channel "trade" messages; py-clob-client-v2 issue 34,
// py-clob-client issue 338 for FAILED trades after the V2 cutover).
const (
	TradeMatched   = "MATCHED"
	TradeMined     = "MINED"
	TradeConfirmed = "CONFIRMED"
	TradeRetrying  = "RETRYING"
	TradeFailed    = "FAILED"
)

// TradeStatus is s as one of the Trade* constants: upper case, without a "TRADE_STATUS_" prefix.
func TradeStatus(s string) string {
	return strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "TRADE_STATUS_")
}

// TradeParams filter GET /data/trades; empty fields are not sent.
type TradeParams struct {
	ID           string
	MakerAddress string
	Market       string
	AssetID      string
	Before       int64 // unix seconds; 0: no bound
	After        int64
}

// MakerOrder is one resting order a trade matched. Sizes are shares.
type MakerOrder struct {
	OrderID       string
	MakerAddress  string
	Owner         string
	MatchedAmount decimal.Decimal
	Price         decimal.Decimal
	FeeRateBps    decimal.Decimal
	AssetID       string
	Outcome       string
	Side          string
}

// Trade is one trade as GET /data/trades reports it: the taker order, the maker orders it
// matched, and the settling transaction. Size is shares; Price the trade's price.
type Trade struct {
	ID              string
	TakerOrderID    string
	Market          string
	AssetID         string
	Side            string
	Size            decimal.Decimal
	FeeRateBps      decimal.Decimal
	Price           decimal.Decimal
	Status          string // as sent; TradeStatus(Status) compares with the Trade* constants
	MatchTime       string
	LastUpdate      string
	Outcome         string
	Owner           string
	MakerAddress    string
	TransactionHash string
	TraderSide      string // TAKER or MAKER: the account's side in the trade
	MakerOrders     []MakerOrder
}

type wireMakerOrder struct {
	OrderID       text   `json:"order_id"`
	MakerAddress  text   `json:"maker_address"`
	Owner         text   `json:"owner"`
	MatchedAmount number `json:"matched_amount"`
	Price         number `json:"price"`
	FeeRateBps    number `json:"fee_rate_bps"`
	AssetID       text   `json:"asset_id"`
	Outcome       text   `json:"outcome"`
	Side          text   `json:"side"`
}

type wireTrade struct {
	ID              text             `json:"id"`
	TakerOrderID    text             `json:"taker_order_id"`
	Market          text             `json:"market"`
	AssetID         text             `json:"asset_id"`
	Side            text             `json:"side"`
	Size            number           `json:"size"`
	FeeRateBps      number           `json:"fee_rate_bps"`
	Price           number           `json:"price"`
	Status          text             `json:"status"`
	MatchTime       text             `json:"match_time"`
	LastUpdate      text             `json:"last_update"`
	Outcome         text             `json:"outcome"`
	Owner           text             `json:"owner"`
	MakerAddress    text             `json:"maker_address"`
	TransactionHash text             `json:"transaction_hash"`
	TraderSide      text             `json:"trader_side"`
	MakerOrders     []wireMakerOrder `json:"maker_orders"`
}

// Trades reads every page of GET /data/trades that matches p (L2). A page that cannot be read
// fails the whole call: a partial list would look like trades that never happened.
func (c *Client) Trades(ctx context.Context, p TradeParams) ([]Trade, error) {
	q := url.Values{}
	for k, v := range map[string]string{"id": p.ID, "maker_address": p.MakerAddress, "market": p.Market, "asset_id": p.AssetID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if p.Before > 0 {
		q.Set("before", fmt.Sprint(p.Before))
	}
	if p.After > 0 {
		q.Set("after", fmt.Sprint(p.After))
	}
	var out []Trade
	cursor := firstCursor
	for page := 0; cursor != endCursor; page++ {
		if page == maxTradePages {
			return nil, fmt.Errorf("%w: GET /data/trades: more than %d pages", ErrMalformedResponse, maxTradePages)
		}
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("next_cursor", cursor)
		cl := call{method: http.MethodGet, path: "/data/trades", query: qq, auth: authL2}
		raw, err := c.do(ctx, cl)
		if err != nil {
			return nil, err
		}
		var w struct {
			Data       []wireTrade `json:"data"`
			NextCursor text        `json:"next_cursor"`
		}
		if err := decode(cl, raw, &w); err != nil {
			return nil, err
		}
		for _, t := range w.Data {
			out = append(out, t.trade())
		}
		next := string(w.NextCursor)
		if next == "" || next == cursor {
			// No cursor, or the same one again: the list ends here (a cursor that does not
			// move would otherwise read the same page forever).
			break
		}
		cursor = next
	}
	return out, nil
}

func (w wireTrade) trade() Trade {
	t := Trade{
		ID: string(w.ID), TakerOrderID: string(w.TakerOrderID), Market: string(w.Market), AssetID: string(w.AssetID),
		Side: string(w.Side), Size: w.Size.Decimal, FeeRateBps: w.FeeRateBps.Decimal, Price: w.Price.Decimal,
		Status: string(w.Status), MatchTime: string(w.MatchTime), LastUpdate: string(w.LastUpdate),
		Outcome: string(w.Outcome), Owner: string(w.Owner), MakerAddress: string(w.MakerAddress),
		TransactionHash: string(w.TransactionHash), TraderSide: string(w.TraderSide),
	}
	for _, m := range w.MakerOrders {
		t.MakerOrders = append(t.MakerOrders, MakerOrder{
			OrderID: string(m.OrderID), MakerAddress: string(m.MakerAddress), Owner: string(m.Owner),
			MatchedAmount: m.MatchedAmount.Decimal, Price: m.Price.Decimal, FeeRateBps: m.FeeRateBps.Decimal,
			AssetID: string(m.AssetID), Outcome: string(m.Outcome), Side: string(m.Side),
		})
	}
	return t
}
