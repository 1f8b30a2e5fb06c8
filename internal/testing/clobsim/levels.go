package clobsim

import (
	"fmt"
	"sort"

	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/order"
)

// AddBid rests a bid of size shares at price in tokenID's book, as another trader's resting
// BUY: a market whose bids were gone gets one back (a FAK SELL that found no bid can then
// match). The price must sit on the market's tick grid and the size have at most 6 decimals,
// as the CLOB's own orders must (docs.polymarket.com, "Orders": tick size and size precision).
func (s *Server) AddBid(tokenID string, price, size decimal.Decimal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.books[tokenID]
	if b == nil {
		return fmt.Errorf("clobsim: no market %s", tokenID)
	}
	if err := order.ValidatePrice(price, b.TickSize); err != nil {
		return fmt.Errorf("clobsim: market %s: %w", tokenID, err)
	}
	units := size.Shift(6)
	if !units.IsInteger() || !units.IsPositive() {
		return fmt.Errorf("clobsim: market %s: bid size %s must be positive with at most 6 decimals", tokenID, size)
	}
	b.bids = append(b.bids, &entry{price: price, size: units.IntPart()})
	sort.SliceStable(b.bids, func(i, j int) bool { return b.bids[i].price.GreaterThan(b.bids[j].price) })
	return nil
}
