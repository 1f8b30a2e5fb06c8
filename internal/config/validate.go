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

// problemList collects the problems of one part of the config.
type problemList []Problem

func (ps *problemList) add(key, value, want string) {
	*ps = append(*ps, Problem{Key: key, Value: value, Want: want})
}

// positive reports key unless d > 0.
func (ps *problemList) positive(key string, d time.Duration) {
	if d <= 0 {
		ps.add(key, d.String(), "a positive duration, such as 30s")
	}
}

// between reports key unless lo <= d <= hi.
func (ps *problemList) between(key string, d, lo, hi time.Duration) {
	if d < lo || d > hi {
		ps.add(key, d.String(), fmt.Sprintf("a duration from %s to %s", lo, hi))
	}
}

// problems checks every section, in the order the sections are documented.
func (c *Config) problems() []Problem {
	var ps problemList
	if c.Mode != ModePaper && c.Mode != ModeLive {
		ps.add("mode", c.Mode, `"paper" or "live"`)
	}
	ps = append(ps, c.chainProblems()...)
	ps = append(ps, c.leaderProblems()...)
	ps = append(ps, c.copyProblems()...) // copy, risk, store (validate_copy.go)
	ps = append(ps, c.executorProblems()...)
	ps = append(ps, c.resolutionProblems()...)
	ps = append(ps, c.opsProblems()...)
	ps = append(ps, c.liveProblems()...)
	if b := c.Paper.BalanceUSDC; b.IsNegative() || !b.Equal(b.Truncate(usdcPlaces)) {
		ps.add("paper.balance_usdc", b.String(), "0 (none) or a positive USDC amount with at most 6 decimals, such as 500")
	}
	if strings.TrimSpace(c.StateDir) == "" {
		ps.add("state_dir", "", "a directory path")
	}
	return ps
}

// chainProblems checks the chain section.
func (c *Config) chainProblems() []Problem {
	var ps problemList
	ch := c.Chain
	if ch.ChainID == 0 {
		ps.add("chain.chain_id", "0", "a positive chain id (137 is Polygon)")
	}
	if want := checkURL(ch.RPCURL, "ws", "wss", "http", "https"); want != "" {
		ps.add("chain.rpc_url", redactURL(ch.RPCURL), want)
	}
	ps = append(ps, exchangeProblems(ch.Exchanges)...)
	ps.positive("chain.head_stale_after", ch.HeadStaleAfter)
	ps.positive("chain.dial_timeout", ch.DialTimeout)
	if ch.FallbackRPCURL != "" {
		if want := checkURL(ch.FallbackRPCURL, "ws", "wss", "http", "https"); want != "" {
			ps.add("chain.fallback_rpc_url", redactURL(ch.FallbackRPCURL), want+", or no value for none")
		} else if ch.FallbackRPCURL == ch.RPCURL {
			ps.add("chain.fallback_rpc_url", redactURL(ch.FallbackRPCURL), "a URL different from chain.rpc_url, or no value for none")
		}
	}
	if b := ch.BackfillChunk; b < 1 || b > MaxBackfillChunk {
		ps.add("chain.backfill_chunk", fmt.Sprint(b), fmt.Sprintf("a block count from 1 to %d (2000 suits most providers)", MaxBackfillChunk))
	}
	ps.between("chain.poll_interval", ch.PollInterval, 100*time.Millisecond, 10*time.Minute)
	ps.between("chain.silence_after", ch.SilenceAfter, 10*time.Second, 24*time.Hour)
	ps.between("chain.rpc_timeout", ch.RPCTimeout, 100*time.Millisecond, 10*time.Minute)
	ps.between("chain.max_backoff", ch.MaxBackoff, time.Second, time.Hour)
	if ch.Confirmations > MaxConfirmations {
		ps.add("chain.confirmations", fmt.Sprint(ch.Confirmations), fmt.Sprintf("a block count from 0 to %d", MaxConfirmations))
	}
	return ps
}

// exchangeProblems checks chain.exchanges: at least one, none zero, none twice.
func exchangeProblems(exchanges []common.Address) []Problem {
	var ps problemList
	zero := common.Address{}
	if len(exchanges) == 0 {
		ps.add("chain.exchanges", "[]", "a list of at least one exchange address to watch, such as the current exchanges "+
			strings.Join(addrList(polymarket.CurrentExchanges()), ", "))
	}
	firstExchange := map[common.Address]int{}
	for i, a := range exchanges {
		key := fmt.Sprintf("chain.exchanges[%d]", i)
		if j, dup := firstExchange[a]; dup {
			ps.add(key, a.Hex(), fmt.Sprintf("an address not already listed at chain.exchanges[%d]", j))
		} else if a == zero {
			ps.add(key, zero.Hex(), wantAddress+" other than zero")
		}
		firstExchange[a] = i
	}
	return ps
}

// leaderProblems checks the leaders list: addresses, overrides, and that
// at least one leader is enabled.
func (c *Config) leaderProblems() []Problem {
	var ps problemList
	first := map[common.Address]int{}
	enabled := 0
	for i, l := range c.Leaders {
		key := fmt.Sprintf("leaders[%d]", i)
		switch j, dup := first[l.Address]; {
		case l.Address == (common.Address{}):
			ps.add(key+".address", "", wantAddress+" (the leader's funder/proxy wallet)")
		case dup:
			ps.add(key+".address", l.Address.Hex(), fmt.Sprintf("an address not already listed at leaders[%d]", j))
		default:
			first[l.Address] = i
			if l.Enabled {
				enabled++
			}
		}
		if !l.CopyRatio.IsZero() && !validRatio(l.CopyRatio) {
			ps.add(key+".copy_ratio", l.CopyRatio.String(), "a ratio > 0 and <= 10, or no value to use copy.copy_ratio")
		}
		ps = append(ps, leaderSizingProblems(key, l, c.Copy)...)
	}
	switch {
	case len(c.Leaders) == 0:
		ps.add("leaders", "[]", "at least one leader with an address")
	case enabled == 0 && len(first) == len(c.Leaders):
		ps.add("leaders", fmt.Sprintf("%d listed, none enabled", len(c.Leaders)), "at least one enabled leader")
	}
	return ps
}

// executorProblems checks the dedup and executor sections.
func (c *Config) executorProblems() []Problem {
	var ps problemList
	if c.Dedup.Size < 1 || c.Dedup.Size > maxDedupSize {
		ps.add("dedup.size", fmt.Sprint(c.Dedup.Size), fmt.Sprintf("an entry count from 1 to %d", maxDedupSize))
	}
	ps.positive("dedup.ttl", c.Dedup.TTL)

	ps.positive("executor.lock_ttl", c.Executor.LockTTL)
	ps.positive("executor.shutdown_grace", c.Executor.ShutdownGrace)
	b := c.Executor.CLOBBreaker
	if b.Failures < 1 || b.Failures > maxBreakerFailures {
		ps.add("executor.clob_breaker.failures", fmt.Sprint(b.Failures), fmt.Sprintf("a count of consecutive CLOB failures from 1 to %d, such as 5", maxBreakerFailures))
	}
	ps.between("executor.clob_breaker.cooldown", b.Cooldown, time.Second, time.Hour)
	if b.MaxCooldown < b.Cooldown || b.MaxCooldown > 24*time.Hour {
		ps.add("executor.clob_breaker.max_cooldown", b.MaxCooldown.String(),
			fmt.Sprintf("a duration from executor.clob_breaker.cooldown (%s) to 24h, such as 10m", b.Cooldown))
	}
	if d := c.Executor.StorePauseLimit; d != 0 && (d < time.Minute || d > 7*24*time.Hour) {
		ps.add("executor.store_pause_limit", d.String(), "0s (never restart for a full or read-only disk) or a duration from 1m to 168h")
	}
	return ps
}

// resolutionProblems checks the resolution section when it is on, and the
// redeem contracts live.auto_redeem needs in live mode.
func (c *Config) resolutionProblems() []Problem {
	var ps problemList
	if r := c.Resolution; r.Enabled {
		if r.Interval < time.Second || r.Interval > 24*time.Hour {
			ps.add("resolution.interval", r.Interval.String(), "a duration from 1s to 24h, such as 1m")
		}
		if r.CTF == (common.Address{}) {
			ps.add("resolution.ctf", "", "the Conditional Tokens contract address")
		}
		if r.LookbackBlocks == 0 {
			ps.add("resolution.lookback_blocks", "0", "a positive number of blocks, such as 50000")
		}
		if r.CatchUpBlocks == 0 {
			ps.add("resolution.catch_up_blocks", "0", "a positive number of blocks, such as 2000")
		}
		if r.MaxMarks < 1 || r.MaxMarks > 10_000 {
			ps.add("resolution.max_marks", fmt.Sprint(r.MaxMarks), "a number of books from 1 to 10000")
		}
	}
	if c.Mode == ModeLive && c.Live.AutoRedeem {
		for _, k := range []struct {
			key string
			a   common.Address
		}{{"live.redeem_ctf", c.Live.RedeemCTF}, {"live.redeem_neg_risk", c.Live.RedeemNegRisk}, {"live.redeem_collateral", c.Live.RedeemCollateral}} {
			if k.a == (common.Address{}) {
				ps.add(k.key, "", "a contract address (live.auto_redeem is on)")
			}
		}
	}
	return ps
}

// opsProblems checks the maintenance, log, metrics and admin sections.
func (c *Config) opsProblems() []Problem {
	var ps problemList
	if c.Maintenance.Interval < time.Second {
		ps.add("maintenance.interval", c.Maintenance.Interval.String(), "a duration of at least 1s")
	}
	if !oneOf(c.Log.Level, logLevels) {
		ps.add("log.level", c.Log.Level, "one of "+strings.Join(logLevels, ", "))
	}
	if !oneOf(c.Log.Format, logFormats) {
		ps.add("log.format", c.Log.Format, "one of "+strings.Join(logFormats, ", "))
	}
	if want := checkListen(c.Metrics.Listen, c.Metrics.AllowNonLoopback); want != "" {
		ps.add("metrics.listen", c.Metrics.Listen, want)
	}
	if c.Admin.Socket != "" {
		if !filepath.IsAbs(c.Admin.Socket) || len(c.Admin.Socket) > maxSocketPath {
			ps.add("admin.socket", c.Admin.Socket, fmt.Sprintf("an absolute path of at most %d bytes, or \"\" for the default", maxSocketPath))
		}
	}
	return append(ps, c.alertsProblems()...)
}

// alertsProblems checks the alerts section.
func (c *Config) alertsProblems() []Problem {
	var ps problemList
	a := c.Alerts
	if a.WebhookURL != "" {
		if want := checkURL(a.WebhookURL, "http", "https"); want != "" {
			ps.add("alerts.webhook_url", redactURL(a.WebhookURL), want+`, or "" for none`)
		}
	}
	if want := checkURL(a.TelegramAPIURL, "http", "https"); want != "" {
		ps.add("alerts.telegram_api_url", redactURL(a.TelegramAPIURL), want)
	}
	if a.TelegramChatID == "" && a.TelegramTokenFile != "" {
		ps.add("alerts.telegram_chat_id", "", "the chat id the bot posts to (a number such as -1001234567890, or @channel), since alerts.telegram_token_file is set")
	}
	if a.GroupFor < time.Second {
		ps.add("alerts.group_for", a.GroupFor.String(), "a duration of at least 1s, such as 1m")
	}
	if a.SilenceAfter < time.Second {
		ps.add("alerts.silence_after", a.SilenceAfter.String(), "a duration of at least 1s, such as 2m")
	}
	return ps
}

// liveProblems checks the live section: CLOB endpoint, key source, order
// shape and timing, exchanges and signature type.
func (c *Config) liveProblems() []Problem {
	var ps problemList
	lv := c.Live
	if want := checkURL(lv.ClobURL, "http", "https"); want != "" {
		ps.add("live.clob_url", redactURL(lv.ClobURL), want)
	}
	if lv.GeoblockURL != "" && lv.GeoblockURL != GeoblockNone {
		if want := checkURL(lv.GeoblockURL, "http", "https"); want != "" {
			ps.add("live.geoblock_url", redactURL(lv.GeoblockURL), want+`, or "" (Polymarket's with its CLOB), or "none"`)
		}
	}
	switch {
	case lv.KeyFile != "" && lv.KeystoreFile != "":
		ps.add("live.keystore_file", lv.KeystoreFile, `"" when live.key_file is set: one key source only`)
	case lv.PassphraseFile != "" && lv.KeystoreFile == "":
		ps.add("live.passphrase_file", lv.PassphraseFile, `"" unless live.keystore_file is set`)
	case lv.KeystoreFile != "" && lv.PassphraseFile == "":
		ps.add("live.passphrase_file", "", "the path of a 0600 file holding the passphrase of live.keystore_file")
	}
	if lv.Slippage.IsNegative() || !lv.Slippage.LessThan(maxSlippage) || !lv.Slippage.Equal(lv.Slippage.Truncate(4)) {
		ps.add("live.slippage", lv.Slippage.String(), "a price from 0 to 0.5 with at most 4 decimals, such as 0.02")
	}
	if !oneOf(lv.OrderType, LiveOrderTypes) {
		ps.add("live.order_type", lv.OrderType, "one of "+strings.Join(LiveOrderTypes, ", "))
	}
	if lv.RequestTimeout < 100*time.Millisecond || lv.RequestTimeout > 2*time.Minute {
		ps.add("live.request_timeout", lv.RequestTimeout.String(), "a duration from 100ms to 2m, such as 10s")
	}
	if lv.PaperFeeRateBps < 0 || lv.PaperFeeRateBps > 10000 {
		ps.add("live.paper_fee_rate_bps", fmt.Sprint(lv.PaperFeeRateBps), "basis points from 0 to 10000, such as 0 or 200")
	}
	if lv.HeartbeatInterval < time.Second || lv.HeartbeatInterval > 8*time.Second {
		ps.add("live.heartbeat_interval", lv.HeartbeatInterval.String(), "a duration from 1s to 8s (the CLOB cancels open orders about 10s after the last heartbeat), such as 5s")
	}
	zero := common.Address{}
	if lv.CTFExchange == zero {
		ps.add("live.ctf_exchange", zero.Hex(), wantAddress+" other than zero (the V2 exchange "+polymarket.CTFExchangeV2.Hex()+")")
	}
	if lv.NegRiskExchange == zero {
		ps.add("live.neg_risk_exchange", zero.Hex(), wantAddress+" other than zero (the V2 neg-risk exchange "+polymarket.NegRiskCTFExchangeV2.Hex()+")")
	} else if lv.NegRiskExchange == lv.CTFExchange {
		ps.add("live.neg_risk_exchange", lv.NegRiskExchange.Hex(), "an address different from live.ctf_exchange")
	}
	if lv.ExchangeV3 == zero {
		ps.add("live.exchange_v3", zero.Hex(), wantAddress+" other than zero (ExchangeV3 "+polymarket.ExchangeV3.Hex()+")")
	} else if lv.ExchangeV3 == lv.CTFExchange || lv.ExchangeV3 == lv.NegRiskExchange {
		ps.add("live.exchange_v3", lv.ExchangeV3.Hex(), "an address different from live.ctf_exchange and live.neg_risk_exchange")
	}
	if lv.OrderTimeout < time.Second || lv.OrderTimeout > 24*time.Hour {
		ps.add("live.order_timeout", lv.OrderTimeout.String(), "a duration from 1s to 24h, such as 1m")
	}
	if d := lv.OrderPollInterval; d < 100*time.Millisecond || d > time.Minute || d > lv.OrderTimeout {
		ps.add("live.order_poll_interval", d.String(), fmt.Sprintf("a duration from 100ms to 1m and at most live.order_timeout (%s), such as 2s", lv.OrderTimeout))
	}
	if lv.SignatureType < 0 || lv.SignatureType > 3 {
		ps.add("live.signature_type", fmt.Sprint(lv.SignatureType), "0 (EOA), 1 (POLY_PROXY), 2 (POLY_GNOSIS_SAFE) or 3 (POLY_1271)")
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
