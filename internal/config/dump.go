package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"
	"go.yaml.in/yaml/v3"
)

// field is one key of an ordered dump; section is an ordered mapping.
type (
	field struct {
		key string
		val any // string, bool, int, uint64, number, section or []section
	}
	section []field
	// number is a decimal printed exactly and without quotes.
	number string
)

// dump is the config as an ordered tree, keys as in YAML. Decimals are
// exact strings, durations Go duration strings, addresses checksummed.
// With redact, URLs lose anything that may hold a credential.
func (c *Config) dump(redact bool) section {
	u := func(s string) string {
		if redact {
			return redactURL(s)
		}
		return s
	}
	addr := func(a common.Address) string {
		if a == (common.Address{}) {
			return ""
		}
		return a.Hex()
	}
	leaders := make([]section, 0, len(c.Leaders))
	for _, l := range c.Leaders {
		s := section{{"address", addr(l.Address)}}
		if l.Name != "" {
			s = append(s, field{"name", l.Name})
		}
		s = append(s, field{"enabled", l.Enabled})
		if !l.CopyRatio.IsZero() {
			s = append(s, field{"copy_ratio", number(l.CopyRatio.String())})
		}
		if l.Mode != "" {
			s = append(s, field{"mode", l.Mode})
		}
		for _, o := range []struct {
			key string
			val decimal.Decimal
		}{
			{"fixed_usdc", l.FixedUSDC}, {"percent_balance", l.PercentBalance},
			{"min_trade_usdc", l.MinTradeUSDC}, {"max_trade_usdc", l.MaxTradeUSDC},
		} {
			if !o.val.IsZero() {
				s = append(s, field{o.key, number(o.val.String())})
			}
		}
		leaders = append(leaders, s)
	}
	return section{
		{"mode", c.Mode},
		{"chain", section{
			{"chain_id", c.Chain.ChainID},
			{"rpc_url", u(c.Chain.RPCURL)},
			{"exchanges", addrList(c.Chain.Exchanges)},
			{"start_block", c.Chain.StartBlock},
			{"head_stale_after", c.Chain.HeadStaleAfter.String()},
			{"dial_timeout", c.Chain.DialTimeout.String()},
			{"fallback_rpc_url", u(c.Chain.FallbackRPCURL)},
			{"backfill_chunk", c.Chain.BackfillChunk},
			{"poll_interval", c.Chain.PollInterval.String()},
			{"silence_after", c.Chain.SilenceAfter.String()},
			{"confirmations", c.Chain.Confirmations},
			{"rpc_timeout", c.Chain.RPCTimeout.String()},
			{"max_backoff", c.Chain.MaxBackoff.String()},
		}},
		{"leaders", leaders},
		{"copy", section{
			{"mode", c.Copy.Mode},
			{"copy_ratio", number(c.Copy.CopyRatio.String())},
			{"fixed_usdc", number(c.Copy.FixedUSDC.String())},
			{"percent_balance", number(c.Copy.PercentBalance.String())},
			{"min_trade_usdc", number(c.Copy.MinTradeUSDC.String())},
			{"max_trade_usdc", number(c.Copy.MaxTradeUSDC.String())},
			{"min_order_shares", number(c.Copy.MinOrderShares.String())},
			{"min_price", number(c.Copy.MinPrice.String())},
			{"max_price", number(c.Copy.MaxPrice.String())},
			{"max_fill_age", c.Copy.MaxFillAge.String()},
			{"max_exit_age", c.Copy.MaxExitAge.String()},
			{"allow_tokens", stringList(c.Copy.AllowTokens)},
			{"deny_tokens", stringList(c.Copy.DenyTokens)},
		}},
		{"risk", section{
			{"max_market_exposure_usdc", number(c.Risk.MaxMarketExposureUSDC.String())},
			{"max_leader_exposure_usdc", number(c.Risk.MaxLeaderExposureUSDC.String())},
			{"max_total_exposure_usdc", number(c.Risk.MaxTotalExposureUSDC.String())},
			{"max_daily_spend_usdc", number(c.Risk.MaxDailySpendUSDC.String())},
			{"daily_loss_limit_usdc", number(c.Risk.DailyLossLimitUSDC.String())},
			{"max_open_positions", c.Risk.MaxOpenPositions},
			{"reset_hour_utc", c.Risk.ResetHourUTC},
		}},
		{"store", section{
			{"decisions_max", c.Store.DecisionsMax},
			{"decisions_max_age", c.Store.DecisionsMaxAge.String()},
			{"intents_max_age", c.Store.IntentsMaxAge.String()},
			{"closed_positions_max_age", c.Store.ClosedPositionsMaxAge.String()},
		}},
		{"dedup", section{
			{"size", c.Dedup.Size},
			{"ttl", c.Dedup.TTL.String()},
		}},
		{"executor", section{
			{"lock_ttl", c.Executor.LockTTL.String()},
			{"shutdown_grace", c.Executor.ShutdownGrace.String()},
			{"clob_breaker", section{
				{"failures", c.Executor.CLOBBreaker.Failures},
				{"cooldown", c.Executor.CLOBBreaker.Cooldown.String()},
				{"max_cooldown", c.Executor.CLOBBreaker.MaxCooldown.String()},
			}},
			{"store_pause_limit", c.Executor.StorePauseLimit.String()},
		}},
		{"maintenance", section{
			{"interval", c.Maintenance.Interval.String()},
		}},
		{"log", section{
			{"level", c.Log.Level},
			{"format", c.Log.Format},
		}},
		{"metrics", section{
			{"listen", c.Metrics.Listen},
			{"allow_non_loopback", c.Metrics.AllowNonLoopback},
		}},
		{"admin", section{
			{"enabled", c.Admin.Enabled},
			{"socket", c.Admin.Socket},
		}},
		{"live", section{
			{"clob_url", u(c.Live.ClobURL)},
			{"key_file", c.Live.KeyFile},
			{"credentials_file", c.Live.CredentialsFile},
			{"funder", addr(c.Live.Funder)},
			{"signature_type", c.Live.SignatureType},
			{"ctf_exchange", addr(c.Live.CTFExchange)},
			{"neg_risk_exchange", addr(c.Live.NegRiskExchange)},
			{"keystore_file", c.Live.KeystoreFile},
			{"passphrase_file", c.Live.PassphraseFile},
			{"slippage", number(c.Live.Slippage.String())},
			{"order_type", c.Live.OrderType},
			{"request_timeout", c.Live.RequestTimeout.String()},
			{"order_timeout", c.Live.OrderTimeout.String()},
			{"order_poll_interval", c.Live.OrderPollInterval.String()},
			{"paper_book", c.Live.PaperBook},
			{"paper_fee_rate_bps", c.Live.PaperFeeRateBps},
			{"heartbeat_interval", c.Live.HeartbeatInterval.String()},
			{"auto_redeem", c.Live.AutoRedeem},
			{"redeem_ctf", addr(c.Live.RedeemCTF)},
			{"redeem_neg_risk", addr(c.Live.RedeemNegRisk)},
			{"redeem_collateral", addr(c.Live.RedeemCollateral)},
		}},
		{"resolution", section{
			{"enabled", c.Resolution.Enabled},
			{"interval", c.Resolution.Interval.String()},
			{"ctf", addr(c.Resolution.CTF)},
			{"lookback_blocks", c.Resolution.LookbackBlocks},
			{"catch_up_blocks", c.Resolution.CatchUpBlocks},
			{"max_marks", c.Resolution.MaxMarks},
		}},
		{"paper", section{
			{"balance_usdc", number(c.Paper.BalanceUSDC.String())},
		}},
		{"state_dir", c.StateDir},
	}
}

// addrList is l as checksummed hex strings, never nil.
func addrList(l []common.Address) []string {
	out := make([]string, len(l))
	for i, a := range l {
		out[i] = a.Hex()
	}
	return out
}

// stringList is l, never nil, so that an empty list prints as [].
func stringList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// Redacted returns the effective config as YAML, safe to print: RPC and CLOB
// URLs lose their userinfo, path and query, where providers put API keys.
// File paths are shown; they are not secrets.
func (c *Config) Redacted() string {
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(toNode(c.dump(true))); err != nil {
		// The tree holds only strings, numbers and booleans.
		return fmt.Sprintf("# cannot render config: %v\n", err)
	}
	_ = enc.Close()
	return b.String()
}

// Hash is a short identifier of the config for logs: the first 12 hex
// digits of the SHA-256 of Redacted. Since it hashes the redacted form, a
// change to a URL's secret part alone does not change it; Diff still
// reports such a change.
func (c *Config) Hash() string {
	sum := sha256.Sum256([]byte(c.Redacted()))
	return hex.EncodeToString(sum[:])[:12]
}

// Diff returns the dotted keys whose values differ between old and new, in
// schema order. Leaders are compared as one list, reported as "leaders". A
// nil config differs in every key.
func Diff(old, new *Config) []string {
	a, b := map[string]string{}, map[string]string{}
	var order []string
	if old != nil {
		order = leaves("", old.dump(false), a, order)
	}
	if new != nil {
		order = leaves("", new.dump(false), b, order)
	}
	var changed []string
	seen := map[string]bool{}
	for _, k := range order {
		if seen[k] {
			continue
		}
		seen[k] = true
		va, oka := a[k]
		vb, okb := b[k]
		if oka != okb || va != vb {
			changed = append(changed, k)
		}
	}
	return changed
}

func leaves(prefix string, s section, out map[string]string, order []string) []string {
	for _, f := range s {
		key := f.key
		if prefix != "" {
			key = prefix + "." + f.key
		}
		if sub, ok := f.val.(section); ok {
			order = leaves(key, sub, out, order)
			continue
		}
		if list, ok := f.val.([]section); ok {
			b, _ := yaml.Marshal(toNode(list))
			out[key] = string(b)
		} else {
			out[key] = fmt.Sprint(f.val)
		}
		order = append(order, key)
	}
	return order
}

// toPlain converts a dump value for viper: sections become maps, numbers
// strings.
func toPlain(v any) any {
	switch t := v.(type) {
	case section:
		m := make(map[string]any, len(t))
		for _, f := range t {
			m[f.key] = toPlain(f.val)
		}
		return m
	case []section:
		l := make([]any, len(t))
		for i, s := range t {
			l[i] = toPlain(s)
		}
		return l
	case number:
		return string(t)
	default:
		return v
	}
}

func toNode(v any) *yaml.Node {
	switch t := v.(type) {
	case section:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, f := range t {
			n.Content = append(n.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.key},
				toNode(f.val))
		}
		return n
	case []section:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, s := range t {
			n.Content = append(n.Content, toNode(s))
		}
		return n
	case number:
		// Plain scalar: 0.1 prints as 0.1, and reads back exactly.
		return &yaml.Node{Kind: yaml.ScalarNode, Value: string(t)}
	default:
		var n yaml.Node
		if err := n.Encode(v); err != nil {
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(v)}
		}
		return &n
	}
}

// redactURL keeps a URL's scheme, host and port. Userinfo, path, query and
// fragment, where RPC providers put API keys, become "<redacted>".
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<redacted>"
	}
	out := u.Scheme + "://" + u.Host
	if u.User != nil || strings.Trim(u.Path, "/") != "" || u.RawPath != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		out += "/<redacted>"
	}
	return out
}
