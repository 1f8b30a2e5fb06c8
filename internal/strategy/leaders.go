package strategy

import (
	"sync"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/polymarket"
)

// LeaderBook tracks each leader's position per token in memory, from the leader's fills, so
// that a leader SELL can be copied as the same fraction of polybot's position. The daemon
// keeps this book in its state store instead (store.LeaderPosition), where it survives
// restarts; both move positions with polymarket.ApplyLeaderFill. A leader's position from before polybot
// watched is unknown, and Decide then sells Ratio x the leader's shares. Safe for concurrent
// use. A position that goes to zero is forgotten, so the book holds only open leader
// positions.
type LeaderBook struct {
	mu  sync.Mutex
	pos map[leaderToken]uint64
}

type leaderToken struct {
	leader common.Address
	token  string
}

// NewLeaderBook returns an empty book.
func NewLeaderBook() *LeaderBook { return &LeaderBook{pos: make(map[leaderToken]uint64)} }

// Apply records the leader fill f (f.Maker is the leader) and returns the leader's position
// in f's token before it. known is false when the book cannot account for the fill: a SELL
// of more than the leader was seen to hold (the position is then forgotten), or a fill that
// is removed or malformed (which leaves the book unchanged). Each fill must be applied once;
// the dedup cache upstream sees to that.
func (b *LeaderBook) Apply(f polymarket.Fill) (before uint64, known bool) {
	if f.Removed || f.TokenID == nil || f.Shares == 0 {
		return 0, false
	}
	k := leaderToken{f.Maker, f.TokenID.String()}
	b.mu.Lock()
	defer b.mu.Unlock()
	before, held := b.pos[k]
	after, keep, known := polymarket.ApplyLeaderFill(f.Side, before, held, f.Shares)
	if keep {
		b.pos[k] = after
	} else {
		delete(b.pos, k)
	}
	return before, known
}

// Position is the leader's position in token as seen so far.
func (b *LeaderBook) Position(leader common.Address, token string) (uint64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.pos[leaderToken{leader, token}]
	return v, ok
}

// Len is the number of open leader positions tracked.
func (b *LeaderBook) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pos)
}
