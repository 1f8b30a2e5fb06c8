package clobsim

import (
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/order"
)

// book is one market's order book. Each side is best first, in time priority within a price.
type book struct {
	Market
	bids, asks []*entry
	lastTrade  decimal.Decimal
}

// entry is a resting quantity: seeded liquidity (order nil) or an accepted GTC/GTD order.
type entry struct {
	price decimal.Decimal
	size  int64 // share base units
	order *simOrder
}

type simOrder struct {
	OrderState
	createdAt  time.Time
	expiration int64
}

// fill is one trade of an incoming order against an entry.
type fill struct {
	entry      *entry
	shares     int64
	collateral int64
}

// crosses reports whether a resting price p is acceptable to an incoming order whose limit
// price is num/den: at most it for a BUY, at least it for a SELL. Exact.
func crosses(side order.Side, p decimal.Decimal, num, den *big.Int) bool {
	lhs := p.Mul(decimal.NewFromBigInt(den, 0))
	rhs := decimal.NewFromBigInt(num, 0)
	if side == order.Buy {
		return lhs.LessThanOrEqual(rhs)
	}
	return lhs.GreaterThanOrEqual(rhs)
}

// opposite returns the side an incoming order takes from.
func (b *book) opposite(side order.Side) []*entry {
	if side == order.Buy {
		return b.asks
	}
	return b.bids
}

// available sums the shares that cross the limit num/den.
func (b *book) available(side order.Side, num, den *big.Int) int64 {
	var sum int64
	for _, e := range b.opposite(side) {
		if !crosses(side, e.price, num, den) {
			break
		}
		sum += e.size
	}
	return sum
}

// availableValue sums the collateral of the asks that cross the BUY limit num/den.
func (b *book) availableValue(num, den *big.Int) decimal.Decimal {
	sum := decimal.Zero
	for _, e := range b.asks {
		if !crosses(order.Buy, e.price, num, den) {
			break
		}
		sum = sum.Add(e.price.Mul(decimal.NewFromInt(e.size)))
	}
	return sum
}

// takeBudget matches a market BUY of budget collateral (base units) against the crossing asks,
// best first, each at its own price: it buys as many share base units as the budget pays for,
// so a price better than the limit gives more shares. Collateral is shares·price rounded down.
func (b *book) takeBudget(num, den *big.Int, budget int64) []fill {
	var fills []fill
	i := 0
	for ; i < len(b.asks) && budget > 0; i++ {
		e := b.asks[i]
		if !crosses(order.Buy, e.price, num, den) {
			break
		}
		q := min(e.size, decimal.NewFromInt(budget).Div(e.price).Floor().IntPart())
		if q <= 0 {
			break
		}
		c := e.price.Mul(decimal.NewFromInt(q)).Floor().IntPart()
		fills = append(fills, fill{entry: e, shares: q, collateral: c})
		e.size -= q
		budget -= c
		b.lastTrade = e.price
		if e.size > 0 {
			break
		}
	}
	b.asks = dropEmpty(b.asks)
	return fills
}

// dropEmpty removes the entries used up.
func dropEmpty(levels []*entry) []*entry {
	rest := levels[:0]
	for _, e := range levels {
		if e.size > 0 {
			rest = append(rest, e)
		}
	}
	clear(levels[len(rest):])
	return rest
}

// take matches up to size shares against the crossing entries, best first, at each entry's
// price, and removes what it used up. Collateral is shares·price rounded down to base units.
func (b *book) take(side order.Side, num, den *big.Int, size int64) []fill {
	var fills []fill
	levels := b.opposite(side)
	i := 0
	for ; i < len(levels) && size > 0; i++ {
		e := levels[i]
		if !crosses(side, e.price, num, den) {
			break
		}
		q := min(size, e.size)
		c := e.price.Mul(decimal.NewFromInt(q)).Floor().IntPart()
		fills = append(fills, fill{entry: e, shares: q, collateral: c})
		e.size -= q
		size -= q
		b.lastTrade = e.price
		if e.size > 0 {
			break
		}
	}
	// Drop the entries used up.
	rest := levels[:0]
	for _, e := range levels {
		if e.size > 0 {
			rest = append(rest, e)
		}
	}
	clear(levels[len(rest):])
	if side == order.Buy {
		b.asks = rest
	} else {
		b.bids = rest
	}
	return fills
}

// rest places e on its own side, after every entry at the same or a better price.
func (b *book) rest(side order.Side, e *entry) {
	levels := &b.bids
	better := func(p decimal.Decimal) bool { return p.GreaterThanOrEqual(e.price) }
	if side == order.Sell {
		levels = &b.asks
		better = func(p decimal.Decimal) bool { return p.LessThanOrEqual(e.price) }
	}
	i := 0
	for i < len(*levels) && better((*levels)[i].price) {
		i++
	}
	*levels = append(*levels, nil)
	copy((*levels)[i+1:], (*levels)[i:])
	(*levels)[i] = e
}

// remove takes an order's entry off the book.
func (b *book) remove(o *simOrder) {
	for _, levels := range []*[]*entry{&b.bids, &b.asks} {
		for i, e := range *levels {
			if e.order == o {
				*levels = append((*levels)[:i], (*levels)[i+1:]...)
				return
			}
		}
	}
}

// aggregate sums entries per price and returns them best last, as GET /book does.
func aggregate(entries []*entry) []order.Level {
	var out []order.Level
	for _, e := range entries {
		size := decimal.New(e.size, -6)
		if n := len(out); n > 0 && out[n-1].Price.Equal(e.price) {
			out[n-1].Size = out[n-1].Size.Add(size)
			continue
		}
		out = append(out, order.Level{Price: e.price, Size: size})
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// settle moves the holdings of one fill between the incoming order's maker and the resting
// side (seeded liquidity has no owner to settle).
func (s *Server) settle(side order.Side, maker common.Address, tokenID string, f fill) {
	s.move(maker, tokenID, side, f.shares, f.collateral)
	if o := f.entry.order; o != nil {
		o.SizeMatched += f.shares
		if o.SizeMatched >= o.OriginalSize {
			o.Status = statusMatched
		}
		s.move(o.Maker, tokenID, 1-side, f.shares, f.collateral)
	}
}

// move applies a trade to addr's balance: a BUY pays collateral for shares, a SELL the reverse.
func (s *Server) move(addr common.Address, tokenID string, side order.Side, shares, collateral int64) {
	// The cache sees what is spent at once; what is received waits for a refresh.
	if side == order.Buy {
		s.spendCached(cacheKey{addr, ""}, collateral)
	} else {
		s.spendCached(cacheKey{addr, tokenID}, shares)
	}
	b := s.balances[addr]
	if b.Tokens == nil {
		b.Tokens = make(map[string]int64)
	}
	if side == order.Buy {
		b.Collateral -= collateral
		b.Tokens[tokenID] += shares
	} else {
		b.Collateral += collateral
		b.Tokens[tokenID] -= shares
	}
	s.balances[addr] = b
}
