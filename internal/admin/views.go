package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/store"
)

// Limits of GET /decisions: without limit= it answers the latest DefaultDecisionsLimit
// decisions; more than MaxDecisionsLimit is refused (the log may hold 100,000 entries, some
// 40 MB of JSON).
const (
	DefaultDecisionsLimit = 1000
	MaxDecisionsLimit     = 10_000
)

// ErrBadQuery is wrapped by ParseDecisionsQuery's errors.
var ErrBadQuery = errors.New("bad query")

// PositionBook is what GET /positions answers: the open positions, ordered by token.
type PositionBook struct {
	Positions []Position `json:"positions"`
	// RealisedTodayUSDC and RealisedAllTimeUSDC are the realised P&L figures (pnl.go) that
	// status and pnl show; empty when read from a store without the daemon's view.
	RealisedTodayUSDC   string `json:"realised_today_usdc,omitempty"`
	RealisedAllTimeUSDC string `json:"realised_all_time_usdc,omitempty"`
}

// Position is one open position. Amounts are exact decimal strings: shares and USDC, prices
// in USDC per share.
type Position struct {
	Token        string    `json:"token"`
	Shares       string    `json:"shares"`
	CostUSDC     string    `json:"cost_usdc"`
	LastPrice    string    `json:"last_price"`
	RealisedUSDC string    `json:"realised_usdc"`
	Fills        int       `json:"fills"`
	OpenedAt     time.Time `json:"opened_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// DecisionLog is what GET /decisions answers: the decisions logged at or after Since, oldest
// first; when more than Limit match, the latest Limit, and Truncated is true.
type DecisionLog struct {
	Since     time.Time  `json:"since"`
	Limit     int        `json:"limit"`
	Truncated bool       `json:"truncated"`
	Decisions []Decision `json:"decisions"`
}

// Decision is one entry of the decision log: what polybot did with a leader fill and why.
// Action is copy, reduce or skip; Limit names the setting that reduced or skipped it.
type Decision struct {
	Time     time.Time `json:"time"`
	Leader   string    `json:"leader"`
	Token    string    `json:"token"`
	Side     string    `json:"side"`
	Action   string    `json:"action"`
	Reason   string    `json:"reason"`
	Limit    string    `json:"limit,omitempty"`
	Shares   string    `json:"shares"`
	USDC     string    `json:"usdc"`
	Tx       string    `json:"tx"`
	LogIndex uint      `json:"log_index"`
	// Chain is the chain's record of the order the decision placed, once read.
	Chain *store.OnChain `json:"chain,omitempty"`
}

// Encode is the JSON the admin endpoint answers with: indented, newline-terminated.
func Encode(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// units formats 6-decimal base units as an exact decimal.
func units(v uint64) string { return decimal.NewFromUint64(v).Shift(-6).String() }

func signedUnits(v int64) string { return decimal.NewFromInt(v).Shift(-6).String() }

// baseUnits parses an exact decimal back into base units; it refuses more than 6 decimals
// and values outside [min, max].
func baseUnits(field, s string, signed bool) (int64, uint64, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return 0, 0, fmt.Errorf("%s %q: %w", field, s, err)
	}
	d = d.Shift(6)
	if !d.IsInteger() {
		return 0, 0, fmt.Errorf("%s %q has more than 6 decimals", field, s)
	}
	b := d.BigInt()
	switch {
	case signed && b.IsInt64():
		return b.Int64(), 0, nil
	case !signed && b.IsUint64():
		return 0, b.Uint64(), nil
	}
	return 0, 0, fmt.Errorf("%s %q is out of range", field, s)
}

// PositionOf is the admin view of p.
func PositionOf(p store.Position) Position {
	return Position{
		Token: p.Token, Shares: units(p.Shares), CostUSDC: units(p.Cost), LastPrice: units(p.LastPrice),
		RealisedUSDC: signedUnits(p.Realised), Fills: p.Fills,
		OpenedAt: p.OpenedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
	}
}

// PositionBookOf is the admin view of the open positions ps.
func PositionBookOf(ps []store.Position) PositionBook {
	book := PositionBook{Positions: make([]Position, 0, len(ps))}
	for _, p := range ps {
		book.Positions = append(book.Positions, PositionOf(p))
	}
	return book
}

// Record is the store record p was made from.
func (p Position) Record() (store.Position, error) {
	out := store.Position{Token: p.Token, Fills: p.Fills, OpenedAt: p.OpenedAt, UpdatedAt: p.UpdatedAt}
	var err error
	for _, f := range []struct {
		name, s string
		u       *uint64
		i       *int64
	}{
		{"shares", p.Shares, &out.Shares, nil},
		{"cost_usdc", p.CostUSDC, &out.Cost, nil},
		{"last_price", p.LastPrice, &out.LastPrice, nil},
		{"realised_usdc", p.RealisedUSDC, nil, &out.Realised},
	} {
		var i int64
		var u uint64
		if i, u, err = baseUnits(f.name, f.s, f.i != nil); err != nil {
			return store.Position{}, fmt.Errorf("position %s: %w", p.Token, err)
		}
		if f.u != nil {
			*f.u = u
		} else {
			*f.i = i
		}
	}
	return out, nil
}

// DecisionOf is the admin view of d.
func DecisionOf(d store.Decision) Decision {
	return Decision{
		Time: d.Time.UTC(), Leader: d.Leader.Hex(), Token: d.Token, Side: d.Side, Action: d.Action,
		Reason: d.Reason, Limit: d.Limit, Shares: units(d.Shares), USDC: units(d.Collateral),
		Tx: d.Tx.Hex(), LogIndex: d.LogIndex, Chain: d.Chain,
	}
}

// Record is the store record d was made from.
func (d Decision) Record() (store.Decision, error) {
	if !common.IsHexAddress(d.Leader) {
		return store.Decision{}, fmt.Errorf("decision: leader %q is not an address", d.Leader)
	}
	tx, err := hexHash(d.Tx)
	if err != nil {
		return store.Decision{}, err
	}
	_, shares, err := baseUnits("shares", d.Shares, false)
	if err != nil {
		return store.Decision{}, fmt.Errorf("decision: %w", err)
	}
	_, coll, err := baseUnits("usdc", d.USDC, false)
	if err != nil {
		return store.Decision{}, fmt.Errorf("decision: %w", err)
	}
	return store.Decision{
		Time: d.Time, Leader: common.HexToAddress(d.Leader), Token: d.Token, Side: d.Side, Action: d.Action,
		Reason: d.Reason, Limit: d.Limit, Shares: shares, Collateral: coll, Tx: tx, LogIndex: d.LogIndex,
		Chain: d.Chain,
	}, nil
}

func hexHash(s string) (common.Hash, error) {
	h := strings.TrimPrefix(s, "0x")
	if len(h) != 2*common.HashLength {
		return common.Hash{}, fmt.Errorf("decision: tx %q is not a transaction hash", s)
	}
	for _, c := range h {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return common.Hash{}, fmt.Errorf("decision: tx %q is not a transaction hash", s)
		}
	}
	return common.HexToHash(s), nil
}

// DecisionLogOf builds the answer to a query for limit decisions at or after since from ds,
// the latest limit+1 of them oldest first (as store.Store.Decisions returns them): when ds
// holds more than limit, the oldest are dropped and the log is marked truncated.
func DecisionLogOf(since time.Time, limit int, ds []store.Decision) DecisionLog {
	log := DecisionLog{Since: since.UTC(), Limit: limit}
	if len(ds) > limit {
		ds, log.Truncated = ds[len(ds)-limit:], true
	}
	log.Decisions = make([]Decision, 0, len(ds))
	for _, d := range ds {
		log.Decisions = append(log.Decisions, DecisionOf(d))
	}
	return log
}

// Records are the store records of the log's decisions.
func (l DecisionLog) Records() ([]store.Decision, error) {
	out := make([]store.Decision, 0, len(l.Decisions))
	for _, d := range l.Decisions {
		r, err := d.Record()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Records are the store records of the book's positions.
func (b PositionBook) Records() ([]store.Position, error) {
	out := make([]store.Position, 0, len(b.Positions))
	for _, p := range b.Positions {
		r, err := p.Record()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ParseSince reads a point in time as an RFC 3339 timestamp ("2026-12-01T10:00:00Z") or as a
// non-negative duration back from now ("1h", "90m").
func ParseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("since %q is neither a duration such as 1h or 30m nor an RFC 3339 time such as 2026-12-01T10:00:00Z", s)
	}
	return now.Add(-d), nil
}

// ParseLimit reads a decision count: 1 to MaxDecisionsLimit; "" is DefaultDecisionsLimit.
func ParseLimit(s string) (int, error) {
	if s == "" {
		return DefaultDecisionsLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxDecisionsLimit {
		return 0, fmt.Errorf("limit %q is not a number from 1 to %d", s, MaxDecisionsLimit)
	}
	return n, nil
}

// ParseDecisionsQuery reads GET /decisions' query: since (see ParseSince; absent means the
// whole log) and limit (see ParseLimit). Any other parameter, or one given twice, is refused.
func ParseDecisionsQuery(q url.Values, now time.Time) (since time.Time, limit int, err error) {
	for k, v := range q {
		if k != "since" && k != "limit" {
			return since, 0, fmt.Errorf("%w: unknown parameter %q (want since and limit)", ErrBadQuery, k)
		}
		if len(v) != 1 {
			return since, 0, fmt.Errorf("%w: %s given %d times", ErrBadQuery, k, len(v))
		}
	}
	if s := q.Get("since"); s != "" {
		if since, err = ParseSince(s, now); err != nil {
			return since, 0, fmt.Errorf("%w: %w", ErrBadQuery, err)
		}
	}
	if limit, err = ParseLimit(q.Get("limit")); err != nil {
		return since, 0, fmt.Errorf("%w: %w", ErrBadQuery, err)
	}
	return since, limit, nil
}

// DecisionsQuery is the query string of GET /decisions for since and limit.
func DecisionsQuery(since time.Time, limit int) string {
	q := url.Values{}
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339Nano))
	}
	q.Set("limit", strconv.Itoa(limit))
	return q.Encode()
}
