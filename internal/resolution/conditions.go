package resolution

import (
	"strings"
	"sync"

	"github.com/polybot/polybot/internal/clob"
)

// Conditions keeps each token's condition id as the broker first reads it, from GET /book's
// "market" field, with the book's neg-risk flag. A short market (5 or 15 minutes) may close
// before the watcher's next round; the CLOB then answers /book with 404, and without the
// condition id kept here the position could never be resolved or its limits freed. GET
// /markets/{condition_id} still lists a closed market, so the outcome slot is learned from it.
// It is bounded: past maxConditions the oldest half is dropped (the watcher learns the markets
// of open positions within a round, and keeps them in the store).
type Conditions struct {
	mu    sync.Mutex
	known map[string]knownCondition
	order []string // tokens, oldest first
}

type knownCondition struct {
	condition string
	negRisk   bool
}

const maxConditions = 20_000

// NewConditions returns an empty Conditions.
func NewConditions() *Conditions { return &Conditions{known: make(map[string]knownCondition)} }

// Note keeps b's condition id for its token (clob.Options.OnBook); a book without a condition
// id or token is ignored.
func (c *Conditions) Note(b *clob.Book) {
	if b == nil || b.AssetID == "" || len(b.Market) != 66 || !strings.HasPrefix(b.Market, "0x") {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.known[b.AssetID]; !ok {
		if len(c.order) >= maxConditions {
			drop := c.order[:len(c.order)/2]
			for _, t := range drop {
				delete(c.known, t)
			}
			c.order = append([]string(nil), c.order[len(drop):]...)
		}
		c.order = append(c.order, b.AssetID)
	}
	c.known[b.AssetID] = knownCondition{condition: b.Market, negRisk: b.NegRisk}
}

// Of returns token's condition id and neg-risk flag as the broker read them.
func (c *Conditions) Of(token string) (condition string, negRisk, ok bool) {
	if c == nil {
		return "", false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.known[token]
	return k.condition, k.negRisk, ok
}
