// Package admin serves polybot's admin endpoint: HTTP on a unix socket, mode 0600, that
// `polybot status`, `polybot positions` and `polybot decisions` read. It answers GET and HEAD
// only, with JSON:
//
//	GET /status                               Status
//	GET /positions                            PositionBook: the open positions, by token
//	GET /decisions?since=1h&limit=1000        DecisionLog: the decision log, oldest first
//	GET /pnl                                  PnL: realised, unrealised and per-leader P&L
//
// since is a duration back from now or an RFC 3339 time, and includes a decision logged at
// exactly that time; without it the whole log is read. limit (default DefaultDecisionsLimit, at
// most MaxDecisionsLimit) keeps the latest decisions; truncated says older ones were left out.
// Amounts are exact decimal strings, never floating point.
package admin

import (
	"time"

	"github.com/polybot/polybot/internal/latency"
)

// Status is what GET /status answers: what the daemon is doing, read at the request. It holds no
// secret: no RPC URL, key or credential, and errors are scrubbed of the RPC URL by the daemon.
type Status struct {
	Version       string    `json:"version"`
	StartedAt     time.Time `json:"started_at"`
	UptimeSeconds float64   `json:"uptime_seconds"`
	Mode          string    `json:"mode"`
	ConfigHash    string    `json:"config_hash"`
	// ReloadError says why the last reload was refused; "" when it was applied.
	ReloadError string    `json:"reload_error,omitempty"`
	Leaders     []Leader  `json:"leaders"`
	Chain       Chain     `json:"chain"`
	Executor    Executor  `json:"executor"`
	Positions   Positions `json:"positions"`
	DailyLoss   DailyLoss `json:"daily_loss"`
	// Latency is each filled copy's path from the leader's block, and its price against the
	// leader's, over the last hour (p50 and p99).
	Latency latency.Summary `json:"latency"`
	Dedup   Dedup           `json:"dedup"`
	Memory  Memory          `json:"memory"`
	// Redemptions is set once a resolved position has winnings to redeem.
	Redemptions *Redemptions `json:"redemptions,omitempty"`
}

// DailyLoss is the daily-loss breaker (risk.daily_loss_limit_usdc): once the trading day's
// realised plus marked P&L falls below minus the limit, BUYs stop until the day ends.
type DailyLoss struct {
	Tripped bool `json:"tripped"`
	// LimitUSDC is the limit in force; the others are set while Tripped. Exact decimal strings.
	LimitUSDC string `json:"limit_usdc"`
	// PnLUSDC is the day's P&L that tripped it, OverUSDC how far past the limit it went.
	PnLUSDC   string     `json:"pnl_usdc,omitempty"`
	OverUSDC  string     `json:"over_usdc,omitempty"`
	TrippedAt *time.Time `json:"tripped_at,omitempty"`
	// Until is when the trading day ends and BUYs resume.
	Until *time.Time `json:"until,omitempty"`
}

// Memory is polybot's footprint: its resident memory as top shows it, in its two parts, and the
// state store's file, which is mapped into it. Zero where /proc cannot be read.
type Memory struct {
	RSSBytes     int64 `json:"rss_bytes"`
	RSSAnonBytes int64 `json:"rss_anon_bytes"`
	RSSFileBytes int64 `json:"rss_file_bytes"`
	// StoreFileBytes is the store file's size; StoreLiveBytes the part holding data.
	StoreFileBytes int64 `json:"store_file_bytes"`
	StoreLiveBytes int64 `json:"store_live_bytes"`
	// DedupBytes is the dedup cache's estimated heap (as Dedup.Bytes).
	DedupBytes int64 `json:"dedup_bytes"`
}

// Leader is one configured leader wallet.
type Leader struct {
	Address string `json:"address"`
	Name    string `json:"name,omitempty"`
	Enabled bool   `json:"enabled"`
}

// Chain is the wallet monitor's view of the chain.
type Chain struct {
	HeadBlock uint64 `json:"head_block"`
	// HeadAgeSeconds is how long ago the head last advanced; null before the first head.
	HeadAgeSeconds *float64 `json:"head_age_seconds"`
	Subscribed     bool     `json:"subscribed"`
	// Healthy is true while subscribed and the head advances; HealthError says why not.
	Healthy     bool   `json:"healthy"`
	HealthError string `json:"health_error,omitempty"`
	Reconnects  uint64 `json:"reconnects"`
	// LastError is the last connection error, kept after a successful reconnect.
	LastError  string `json:"last_error,omitempty"`
	Logs       uint64 `json:"logs"`
	Fills      uint64 `json:"fills"`
	Duplicates uint64 `json:"duplicates"`
	Malformed  uint64 `json:"malformed"`
	// ClockSkewSeconds is the system clock's lead over the chain head's time (negative:
	// behind); null before the first measurement.
	ClockSkewSeconds *float64 `json:"clock_skew_seconds,omitempty"`
	// CatchUp is the catch-up under way, or the last one; null before the first.
	CatchUp *CatchUp `json:"catch_up,omitempty"`
	// Orphaned counts the decided leader fills a reorg removed for good, ever (the store's
	// count; each is an "orphaned" decision).
	Orphaned uint64 `json:"orphaned_fills"`
}

// CatchUp is the progress of a catch-up: eth_getLogs over blocks From..Target, read up to Done.
type CatchUp struct {
	From           uint64  `json:"from"`
	Done           uint64  `json:"done"`
	Target         uint64  `json:"target"`
	Percent        float64 `json:"percent"`
	ETASeconds     float64 `json:"eta_seconds"` // 0 = not known yet
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	CaughtUp       bool    `json:"caught_up"`
	Line           string  `json:"line"` // as the STATUS= line says it
}

// Executor counts copy outcomes since start.
type Executor struct {
	Copied  uint64 `json:"copied"`
	Skipped uint64 `json:"skipped"`
	Failed  uint64 `json:"failed"`
	Locks   int    `json:"locks"`
	// Paused says why copying is paused (the state store cannot be written); "" when it is not.
	Paused string `json:"paused,omitempty"`
	// CLOBBreaker is the CLOB circuit breaker: "CLOB breaker closed", or open/half-open and why.
	CLOBBreaker string `json:"clob_breaker"`
	// Trading says what the CLOB restricts now (BUYs stopped for an order version polybot
	// cannot sign or closed-only mode, orders refused for the region); "" when nothing is.
	Trading string `json:"trading,omitempty"`
	// ExitRetries says which copy SELLs that did not sell are being tried again; "" when none.
	ExitRetries string `json:"exit_retries,omitempty"`
}

// Positions summarises the position book.
type Positions struct {
	Open        int    `json:"open"`
	Copies      uint64 `json:"copies"`
	CopiesToday uint64 `json:"copies_today"`
	// RealisedTodayUSDC and RealisedAllTimeUSDC are the realised P&L figures named in pnl.go,
	// exact decimal strings.
	RealisedTodayUSDC   string `json:"realised_today_usdc"`
	RealisedAllTimeUSDC string `json:"realised_all_time_usdc"`
	// UnrealisedUSDC is the open positions at their marks less their cost; Marked of them at
	// the watcher's mark, AtLastFill at polybot's last fill price.
	UnrealisedUSDC string `json:"unrealised_usdc"`
	Marked         int    `json:"marked"`
	AtLastFill     int    `json:"at_last_fill"`
}

// Dedup is the dedup cache's size and counters.
type Dedup struct {
	Size        int    `json:"size"`
	Capacity    int    `json:"capacity"`
	Bytes       int64  `json:"bytes"`
	Hits        uint64 `json:"hits"`
	Misses      uint64 `json:"misses"`
	Evictions   uint64 `json:"evictions"`
	Expirations uint64 `json:"expirations"`
}
