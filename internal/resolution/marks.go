package resolution

import (
	"context"
	"math/big"
	"sync"

	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/polymarket"
)

// Marks are the current prices of outcome tokens, micro-USDC per share, that the daily-loss
// breaker values open positions at. Safe for concurrent use.
type Marks struct {
	mu sync.RWMutex
	m  map[string]uint64
}

// NewMarks returns an empty price table.
func NewMarks() *Marks { return &Marks{m: make(map[string]uint64)} }

// Mark is token's price; false when none is known. It has the signature executor.Options.Marks
// wants.
func (k *Marks) Mark(token string) (uint64, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	v, ok := k.m[token]
	return v, ok
}

// Set records token's price.
func (k *Marks) Set(token string, micros uint64) {
	k.mu.Lock()
	k.m[token] = micros
	k.mu.Unlock()
}

// Forget drops token's price (its position closed).
func (k *Marks) Forget(token string) {
	k.mu.Lock()
	delete(k.m, token)
	k.mu.Unlock()
}

// Retain drops the marks of every token not in keep.
func (k *Marks) Retain(keep map[string]bool) {
	k.mu.Lock()
	for t := range k.m {
		if !keep[t] {
			delete(k.m, t)
		}
	}
	k.mu.Unlock()
}

// Len is the number of tokens priced.
func (k *Marks) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.m)
}

// ObserveFill records a leader fill's price as its token's mark: the price the paper broker
// fills at when it has no order book, so the market's latest trade.
func (k *Marks) ObserveFill(f *polymarket.Fill) {
	if f.Removed || f.TokenID == nil || f.Shares == 0 {
		return
	}
	p := new(big.Int).SetUint64(f.Collateral)
	p.Mul(p, big.NewInt(1_000_000)).Quo(p, new(big.Int).SetUint64(f.Shares))
	if p.IsUint64() {
		k.Set(f.Market(), p.Uint64())
	}
}

// BookSource reads an outcome token's order book (*clob.Client is one).
type BookSource interface {
	Book(ctx context.Context, tokenID string) (*clob.Book, error)
}

// BookMark is the mark of a book in micro-USDC per share: the midpoint of the best bid and ask
// when both sides have orders, else the last trade price; false when neither is known. The
// midpoint is rounded down to a micro-USDC.
func BookMark(b *clob.Book) (uint64, bool) {
	micros := func(d decimal.Decimal) uint64 { return uint64(d.Shift(6).Floor().IntPart()) }
	// GET /book sends the best level last.
	if len(b.Bids) > 0 && len(b.Asks) > 0 {
		bid, ask := b.Bids[len(b.Bids)-1].Price, b.Asks[len(b.Asks)-1].Price
		return micros(bid.Add(ask).Div(decimal.NewFromInt(2))), true
	}
	if b.LastTradePrice.IsPositive() {
		return micros(b.LastTradePrice), true
	}
	return 0, false
}
