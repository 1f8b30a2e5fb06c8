package app

import (
	"fmt"
	"time"

	"github.com/polybot/polybot/internal/store"
)

// This file feeds the admin socket's /positions and /decisions from the state store, which only
// the daemon holds open read-write: `polybot positions` and `polybot decisions` ask here while
// the daemon runs, and open the store read-only when it does not.

// adminPositions answers GET /positions: the open positions, ordered by token.
func (a *App) adminPositions() ([]store.Position, error) {
	ps, err := a.store.Positions()
	if err != nil {
		return nil, fmt.Errorf("read positions from the store: %w", err)
	}
	return ps, nil
}

// adminDecisions answers GET /decisions: the latest limit decisions logged at or after since,
// oldest first.
func (a *App) adminDecisions(since time.Time, limit int) ([]store.Decision, error) {
	ds, err := a.store.Decisions(since, limit)
	if err != nil {
		return nil, fmt.Errorf("read the decision log from the store: %w", err)
	}
	return ds, nil
}
