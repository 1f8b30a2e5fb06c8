// Package positions holds polybot's book of copied positions: what it holds in each market,
// what that cost, and what closing it realised. Amounts are 6-decimal base units.
package positions

import (
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/polybot/polybot/internal/polymarket"
)

// Position is what polybot holds in one market (outcome token).
type Position struct {
	Market   string // decimal outcome token id
	Shares   uint64 // held now
	Cost     uint64 // collateral paid for the shares held now
	Realised int64  // collateral realised by sells, less their cost
	Fills    int    // copies applied to this position
}

// Execution is one copy that filled: the broker's answer, attributed to the leader fill it copies.
type Execution struct {
	Leader     common.Address
	Market     string
	Side       polymarket.Side
	Shares     uint64
	Collateral uint64
	SourceTx   common.Hash
	SourceLog  uint
}

// Book is safe for concurrent use.
type Book struct {
	mu       sync.Mutex
	open     map[string]*Position
	realised int64
	copies   uint64
	today    uint64
	day      int // days since the epoch, UTC, of the today counter
	now      func() time.Time
}

// NewBook returns an empty book; now defaults to time.Now.
func NewBook(now func() time.Time) *Book {
	if now == nil {
		now = time.Now
	}
	return &Book{open: make(map[string]*Position), now: now}
}

// Apply records an execution and returns the position after it; closed is true when the
// position went to zero shares and was removed from the book.
func (b *Book) Apply(e Execution) (pos Position, closed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.countCopy()
	p := b.open[e.Market]
	if p == nil {
		p = &Position{Market: e.Market}
		b.open[e.Market] = p
	}
	p.Fills++
	switch e.Side {
	case polymarket.Buy:
		p.Shares += e.Shares
		p.Cost += e.Collateral
	case polymarket.Sell:
		sold := min(e.Shares, p.Shares)
		var cost uint64
		if p.Shares > 0 {
			cost = MulDiv(p.Cost, sold, p.Shares)
		}
		pnl := int64(e.Collateral) - int64(cost)
		p.Realised += pnl
		b.realised += pnl
		p.Shares -= sold
		p.Cost -= cost
	}
	pos = *p
	if p.Shares == 0 {
		delete(b.open, e.Market)
		return pos, true
	}
	return pos, false
}

func (b *Book) countCopy() {
	day := int(b.now().UTC().Unix() / 86400)
	if day != b.day {
		b.day, b.today = day, 0
	}
	b.copies++
	b.today++
}

// Get returns the open position in market.
func (b *Book) Get(market string) (Position, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.open[market]
	if !ok {
		return Position{}, false
	}
	return *p, true
}

// Held is the number of shares held in market (0 when none).
func (b *Book) Held(market string) uint64 {
	p, _ := b.Get(market)
	return p.Shares
}

// Open returns the open positions ordered by market.
func (b *Book) Open() []Position {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Position, 0, len(b.open))
	for _, p := range b.open {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Market < out[j].Market })
	return out
}

// Stats is a summary of the book.
type Stats struct {
	OpenPositions int
	Copies        uint64 // executions applied since start
	CopiesToday   uint64 // since 00:00 UTC
	Realised      int64
}

func (b *Book) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	today := b.today
	if int(b.now().UTC().Unix()/86400) != b.day {
		today = 0
	}
	return Stats{OpenPositions: len(b.open), Copies: b.copies, CopiesToday: today, Realised: b.realised}
}
