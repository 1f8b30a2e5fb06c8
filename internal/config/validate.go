package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/polymarket"
)

// Problem is one invalid setting: the dotted key (leaders[1].address), the
// value found and what would be valid.
type Problem struct {
	Key   string
	Value string
	Want  string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s: bad value %q: want %s", p.Key, p.Value, p.Want)
}

// ValidationError lists every problem found in a config, not just the first.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Has reports whether some problem names key.
func (e *ValidationError) Has(key string) bool {
	for _, p := range e.Problems {
		if p.Key == key {
			return true
		}
	}
	return false
}

// Validate checks the whole config and returns a *ValidationError listing
// every problem, or nil.
func (c *Config) Validate() error {
	if ps := c.problems(); len(ps) > 0 {
		return &ValidationError{Problems: ps}
	}
	return nil
}

// mergeProblems appends the validation problems whose key was not already
// reported while decoding: a value that failed to decode stays zero and
// would otherwise be reported twice.
func mergeProblems(decoded, validated []Problem) []Problem {
	seen := map[string]bool{}
	for _, p := range decoded {
		seen[p.Key] = true
	}
	out := decoded
	for _, p := range validated {
		if !seen[p.Key] {
			out = append(out, p)
		}
	}
	return out
}

var (
	maxCopyRatio = decimal.NewFromInt(10)
	logLevels    = []string{"debug", "info", "warn", "error"}
	logFormats   = []string{"console", "json"}
)

const maxDedupSize = 10_000_000

// maxBreakerFailures bounds executor.clob_breaker.failures: beyond it the
// breaker would never open in practice.
const maxBreakerFailures = 1000

// maxSlippage bounds live.slippage (exclusive): beyond half the price range a
// bound is no bound.
var maxSlippage = decimal.RequireFromString("0.5")

func (c *Config) problems() []Problem {
	var ps []Problem
	add := func(key, value, want string) {
		ps = append(ps, Problem{Key: key, Value: value, Want: want})
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			add(key, d.String(), "a positive duration, such as 30s")
		}
	}

	if c.Mode != ModePaper && c.Mode != ModeLive {
		add("mode", c.Mode, `"paper" or "live"`)
	}

	// chain
	if c.Chain.ChainID == 0 {
		add("chain.chain_id", "0", "a positive chain id (137 is Polygon)")
	}
	if want := checkURL(c.Chain.RPCURL, "ws", "wss", "http", "https"); want != "" {
		add("chain.rpc_url", redactURL(c.Chain.RPCURL), want)
	}
	zero := common.Address{}
	if len(c.Chain.Exchanges) == 0 {
		add("chain.exchanges", "[]", "a list of at least one exchange address to watch, such as the current exchanges "+
			strings.Join(addrList(polymarket.CurrentExchanges()), ", "))
	}
	firstExchange := map[common.Address]int{}
	for i, a := range c.Chain.Exchanges {
		key := fmt.Sprintf("chain.exchanges[%d]", i)
		if j, dup := firstExchange[a]; dup {
			add(key, a.Hex(), fmt.Sprintf("an address not already listed at chain.exchanges[%d]", j))
		} else if a == zero {
			add(key, zero.Hex(), wantAddress+" other than zero")
		}
		firstExchange[a] = i
	}
	positive("chain.head_stale_after", c.Chain.HeadStaleAfter)
	positive("chain.dial_timeout", c.Chain.DialTimeout)
	if c.Chain.FallbackRPCURL != "" {
		if want := checkURL(c.Chain.FallbackRPCURL, "ws", "wss", "http", "https"); want != "" {
			add("chain.fallback_rpc_url", redactURL(c.Chain.FallbackRPCURL), want+", or no value for none")
		} else if c.Chain.FallbackRPCURL == c.Chain.RPCURL {
			add("chain.fallback_rpc_url", redactURL(c.Chain.FallbackRPCURL), "a URL different from chain.rpc_url, or no value for none")
		}
	}
	if b := c.Chain.BackfillChunk; b < 1 || b > MaxBackfillChunk {
		add("chain.backfill_chunk", fmt.Sprint(b), fmt.Sprintf("a block count from 1 to %d (2000 suits most providers)", MaxBackfillChunk))
	}
	between := func(key string, d, lo, hi time.Duration) {
		if d < lo || d > hi {
			add(key, d.String(), fmt.Sprintf("a duration from %s to %s", lo, hi))
		}
	}
	between("chain.poll_interval", c.Chain.PollInterval, 100*time.Millisecond, 10*time.Minute)
	between("chain.silence_after", c.Chain.SilenceAfter, 10*time.Second, 24*time.Hour)
	between("chain.rpc_timeout", c.Chain.RPCTimeout, 100*time.Millisecond, 10*time.Minute)
	between("chain.max_backoff", c.Chain.MaxBackoff, time.Second, time.Hour)
	if c.Chain.Confirmations > MaxConfirmations {
		add("chain.confirmations", fmt.Sprint(c.Chain.Confirmations), fmt.Sprintf("a block count from 0 to %d", MaxConfirmations))
	}

	// leaders
	first := map[common.Address]int{}
	enabled := 0
	for i, l := range c.Leaders {
		key := fmt.Sprintf("leaders[%d]", i)
		switch j, dup := first[l.Address]; {
		case l.Address == zero:
			add(key+".address", "", wantAddress+" (the leader's funder/proxy wallet)")
		case dup:
			add(key+".address", l.Address.Hex(), fmt.Sprintf("an address not already listed at leaders[%d]", j))
		default:
			first[l.Address] = i
			if l.Enabled {
				enabled++
			}
		}
		if !l.CopyRatio.IsZero() && !validRatio(l.CopyRatio) {
			add(key+".copy_ratio", l.CopyRatio.String(), "a ratio > 0 and <= 10, or no value to use copy.copy_ratio")
		}
		ps = append(ps, leaderSizingProblems(key, l, c.Copy)...)
	}
	switch {
	case len(c.Leaders) == 0:
		add("leaders", "[]", "at least one leader with an address")
	case enabled == 0 && len(first) == len(c.Leaders):
		add("leaders", fmt.Sprintf("%d listed, none enabled", len(c.Leaders)), "at least one enabled leader")
	}

	// copy, risk, store (validate_copy.go)
	ps = append(ps, c.copyProblems()...)

	// dedup
	if c.Dedup.Size < 1 || c.Dedup.Size > maxDedupSize {
		add("dedup.size", fmt.Sprint(c.Dedup.Size), fmt.Sprintf("an entry count from 1 to %d", maxDedupSize))
	}
	positive("dedup.ttl", c.Dedup.TTL)

	// executor, maintenance
	positive("executor.lock_ttl", c.Executor.LockTTL)
	positive("executor.shutdown_grace", c.Executor.ShutdownGrace)
	if b := c.Executor.CLOBBreaker; b.Failures < 1 || b.Failures > maxBreakerFailures {
		add("executor.clob_breaker.failures", fmt.Sprint(b.Failures), fmt.Sprintf("a count of consecutive CLOB failures from 1 to %d, such as 5", maxBreakerFailures))
	}
	between("executor.clob_breaker.cooldown", c.Executor.CLOBBreaker.Cooldown, time.Second, time.Hour)
	if b := c.Executor.CLOBBreaker; b.MaxCooldown < b.Cooldown || b.MaxCooldown > 24*time.Hour {
		add("executor.clob_breaker.max_cooldown", b.MaxCooldown.String(),
			fmt.Sprintf("a duration from executor.clob_breaker.cooldown (%s) to 24h, such as 10m", b.Cooldown))
	}
	if d := c.Executor.StorePauseLimit; d != 0 && (d < time.Minute || d > 7*24*time.Hour) {
		add("executor.store_pause_limit", d.String(), "0s (never restart for a full or read-only disk) or a duration from 1m to 168h")
	}
	if c.Resolution.Enabled {
		if c.Resolution.Interval < time.Second || c.Resolution.Interval > 24*time.Hour {
			add("resolution.interval", c.Resolution.Interval.String(), "a duration from 1s to 24h, such as 1m")
		}
		if c.Resolution.CTF == (common.Address{}) {
			add("resolution.ctf", "", "the Conditional Tokens contract address")
		}
		if c.Resolution.LookbackBlocks == 0 {
			add("resolution.lookback_blocks", "0", "a positive number of blocks, such as 50000")
		}
		if c.Resolution.CatchUpBlocks == 0 {
			add("resolution.catch_up_blocks", "0", "a positive number of blocks, such as 2000")
		}
		if c.Resolution.MaxMarks < 1 || c.Resolution.MaxMarks > 10_000 {
			add("resolution.max_marks", fmt.Sprint(c.Resolution.MaxMarks), "a number of books from 1 to 10000")
		}
	}
	if c.Mode == ModeLive && c.Live.AutoRedeem {
		for _, k := range []struct {
			key string
			a   common.Address
		}{{"live.redeem_ctf", c.Live.RedeemCTF}, {"live.redeem_neg_risk", c.Live.RedeemNegRisk}, {"live.redeem_collateral", c.Live.RedeemCollateral}} {
			if k.a == (common.Address{}) {
				add(k.key, "", "a contract address (live.auto_redeem is on)")
			}
		}
	}
	if c.Maintenance.Interval < time.Second {
		add("maintenance.interval", c.Maintenance.Interval.String(), "a duration of at least 1s")
	}

	// log
	if !oneOf(c.Log.Level, logLevels) {
		add("log.level", c.Log.Level, "one of "+strings.Join(logLevels, ", "))
	}
	if !oneOf(c.Log.Format, logFormats) {
		add("log.format", c.Log.Format, "one of "+strings.Join(logFormats, ", "))
	}

	// metrics, admin
	if want := checkListen(c.Metrics.Listen, c.Metrics.AllowNonLoopback); want != "" {
		add("metrics.listen", c.Metrics.Listen, want)
	}
	if c.Admin.Socket != "" {
		if !filepath.IsAbs(c.Admin.Socket) || len(c.Admin.Socket) > maxSocketPath {
			add("admin.socket", c.Admin.Socket, fmt.Sprintf("an absolute path of at most %d bytes, or \"\" for the default", maxSocketPath))
		}
	}

	// live
	if want := checkURL(c.Live.ClobURL, "http", "https"); want != "" {
		add("live.clob_url", redactURL(c.Live.ClobURL), want)
	}
	switch {
	case c.Live.KeyFile != "" && c.Live.KeystoreFile != "":
		add("live.keystore_file", c.Live.KeystoreFile, `"" when live.key_file is set: one key source only`)
	case c.Live.PassphraseFile != "" && c.Live.KeystoreFile == "":
		add("live.passphrase_file", c.Live.PassphraseFile, `"" unless live.keystore_file is set`)
	case c.Live.KeystoreFile != "" && c.Live.PassphraseFile == "":
		add("live.passphrase_file", "", "the path of a 0600 file holding the passphrase of live.keystore_file")
	}
	if c.Live.Slippage.IsNegative() || !c.Live.Slippage.LessThan(maxSlippage) || !c.Live.Slippage.Equal(c.Live.Slippage.Truncate(4)) {
		add("live.slippage", c.Live.Slippage.String(), "a price from 0 to 0.5 with at most 4 decimals, such as 0.02")
	}
	if !oneOf(c.Live.OrderType, LiveOrderTypes) {
		add("live.order_type", c.Live.OrderType, "one of "+strings.Join(LiveOrderTypes, ", "))
	}
	if c.Live.RequestTimeout < 100*time.Millisecond || c.Live.RequestTimeout > 2*time.Minute {
		add("live.request_timeout", c.Live.RequestTimeout.String(), "a duration from 100ms to 2m, such as 10s")
	}
	if c.Live.PaperFeeRateBps < 0 || c.Live.PaperFeeRateBps > 10000 {
		add("live.paper_fee_rate_bps", fmt.Sprint(c.Live.PaperFeeRateBps), "basis points from 0 to 10000, such as 0 or 200")
	}
	if c.Live.HeartbeatInterval < time.Second || c.Live.HeartbeatInterval > 8*time.Second {
		add("live.heartbeat_interval", c.Live.HeartbeatInterval.String(), "a duration from 1s to 8s (the CLOB cancels open orders about 10s after the last heartbeat), such as 5s")
	}
	if c.Live.CTFExchange == zero {
		add("live.ctf_exchange", zero.Hex(), wantAddress+" other than zero (the V2 exchange "+polymarket.CTFExchangeV2.Hex()+")")
	}
	if c.Live.NegRiskExchange == zero {
		add("live.neg_risk_exchange", zero.Hex(), wantAddress+" other than zero (the V2 neg-risk exchange "+polymarket.NegRiskCTFExchangeV2.Hex()+")")
	} else if c.Live.NegRiskExchange == c.Live.CTFExchange {
		add("live.neg_risk_exchange", c.Live.NegRiskExchange.Hex(), "an address different from live.ctf_exchange")
	}
	if c.Live.OrderTimeout < time.Second || c.Live.OrderTimeout > 24*time.Hour {
		add("live.order_timeout", c.Live.OrderTimeout.String(), "a duration from 1s to 24h, such as 1m")
	}
	if d := c.Live.OrderPollInterval; d < 100*time.Millisecond || d > time.Minute || d > c.Live.OrderTimeout {
		add("live.order_poll_interval", d.String(), fmt.Sprintf("a duration from 100ms to 1m and at most live.order_timeout (%s), such as 2s", c.Live.OrderTimeout))
	}
	if c.Live.SignatureType < 0 || c.Live.SignatureType > 3 {
		add("live.signature_type", fmt.Sprint(c.Live.SignatureType), "0 (EOA), 1 (POLY_PROXY), 2 (POLY_GNOSIS_SAFE) or 3 (POLY_1271)")
	}

	if b := c.Paper.BalanceUSDC; b.IsNegative() || !b.Equal(b.Truncate(usdcPlaces)) {
		add("paper.balance_usdc", b.String(), "0 (none) or a positive USDC amount with at most 6 decimals, such as 500")
	}

	if strings.TrimSpace(c.StateDir) == "" {
		add("state_dir", "", "a directory path")
	}
	return ps
}

// maxSocketPath is the longest unix socket path Linux accepts (sun_path
// holds 108 bytes with the terminating NUL).
const maxSocketPath = 107

// checkListen returns "" when listen is "" (off) or a host:port that may be
// served: a loopback address unless allowNonLoopback; what would be valid
// otherwise.
func checkListen(listen string, allowNonLoopback bool) string {
	if listen == "" {
		return ""
	}
	const want = "host:port such as 127.0.0.1:9464, or \"\" to serve no metrics"
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return want
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return want
	}
	if !allowNonLoopback && !IsLoopback(host) {
		return "a loopback address such as 127.0.0.1:9464 or [::1]:9464 (metrics.allow_non_loopback: true serves beyond this host)"
	}
	return ""
}

// IsLoopback reports whether host (an IP literal or "localhost") is a
// loopback address. An empty host means every interface and is not.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validRatio(r decimal.Decimal) bool {
	return r.IsPositive() && r.LessThanOrEqual(maxCopyRatio)
}

func oneOf(s string, set []string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

// checkURL returns "" when raw is an absolute URL with a host and one of
// schemes, and what would be valid otherwise.
func checkURL(raw string, schemes ...string) string {
	ws := make([]string, len(schemes))
	for i, s := range schemes {
		ws[i] = s + "://"
	}
	want := "a URL with a host, starting with " + strings.Join(ws[:len(ws)-1], ", ") + " or " + ws[len(ws)-1]
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !oneOf(strings.ToLower(u.Scheme), schemes) {
		return want
	}
	return ""
}
