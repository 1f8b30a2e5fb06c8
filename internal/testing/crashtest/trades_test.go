package crashtest

import (
	"context"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/clob"
)

// tradeBook reads what orders matched from GET /data/trades: the CLOB forgets an order once it
// filled (py-clob-client issue 217), so the check of each intent against the CLOB reads the
// order's trades when GET /data/order no longer lists it. One read per token.
type tradeBook struct {
	c     *clob.Client
	token map[string][]clob.Trade
}

// order is the order h of token as its trades tell it: its matched size (FAILED trades not
// counted), or clob.ErrOrderNotFound when no trade of it is listed.
func (b *tradeBook) order(ctx context.Context, token string, h common.Hash) (*clob.OpenOrder, error) {
	if b.token == nil {
		b.token = make(map[string][]clob.Trade)
	}
	ts, ok := b.token[token]
	if !ok {
		var err error
		if ts, err = b.c.Trades(ctx, clob.TradeParams{AssetID: token}); err != nil {
			return nil, fmt.Errorf("trades of token %s: %w", token, err)
		}
		b.token[token] = ts
	}
	found := false
	matched := decimal.Zero
	for _, t := range ts {
		var n decimal.Decimal
		if strings.EqualFold(t.TakerOrderID, h.Hex()) {
			n = t.Size
		}
		for _, m := range t.MakerOrders {
			if strings.EqualFold(m.OrderID, h.Hex()) {
				n = n.Add(m.MatchedAmount)
			}
		}
		if n.IsZero() {
			continue
		}
		found = true
		if clob.TradeStatus(t.Status) != clob.TradeFailed {
			matched = matched.Add(n)
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: %s has no trade either", clob.ErrOrderNotFound, h.Hex())
	}
	return &clob.OpenOrder{ID: h.Hex(), Status: "MATCHED", SizeMatched: matched}, nil
}
