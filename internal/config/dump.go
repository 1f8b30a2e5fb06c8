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
	return section{
		{"mode", c.Mode},
		{"chain", dumpChain(c.Chain, redact)},
		{"leaders", dumpLeaders(c.Leaders)},
		{"copy", dumpCopy(c.Copy)},
		{"risk", dumpRisk(c.Risk)},
		{"store", dumpStore(c.Store)},
		{"dedup", section{
			{"size", c.Dedup.Size},
			{"ttl", c.Dedup.TTL.String()},
		}},
		{"executor", dumpExecutor(c.Executor)},
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
		{"live", dumpLive(c.Live, redact)},
		{"resolution", dumpResolution(c.Resolution)},
		{"paper", section{
			{"balance_usdc", number(c.Paper.BalanceUSDC.String())},
		}},
		{"alerts", section{
			{"webhook_url", dumpURL(c.Alerts.WebhookURL, redact)},
			{"telegram_chat_id", c.Alerts.TelegramChatID},
			{"telegram_token_file", c.Alerts.TelegramTokenFile},
			{"telegram_api_url", dumpURL(c.Alerts.TelegramAPIURL, redact)},
			{"group_for", c.Alerts.GroupFor.String()},
			{"silence_after", c.Alerts.SilenceAfter.String()},
			{"daily_digest", c.Alerts.DailyDigest},
		}},
		{"state_dir", c.StateDir},
	}
}

// dumpURL is s, or with redact s without anything that may hold a credential.
func dumpURL(s string, redact bool) string {
	if redact {
		return redactURL(s)
	}
	return s
}

// dumpAddr is a as checksummed hex, or "" for the zero address (not set).
func dumpAddr(a common.Address) string {
	if a == (common.Address{}) {
		return ""
	}
	return a.Hex()
}

func dumpChain(ch Chain, redact bool) section {
	return section{
		{"chain_id", ch.ChainID},
		{"rpc_url", dumpURL(ch.RPCURL, redact)},
		{"exchanges", addrList(ch.Exchanges)},
		{"start_block", ch.StartBlock},
		{"head_stale_after", ch.HeadStaleAfter.String()},
		{"dial_timeout", ch.DialTimeout.String()},
		{"fallback_rpc_url", dumpURL(ch.FallbackRPCURL, redact)},
		{"backfill_chunk", ch.BackfillChunk},
		{"poll_interval", ch.PollInterval.String()},
		{"silence_after", ch.SilenceAfter.String()},
		{"confirmations", ch.Confirmations},
		{"rpc_timeout", ch.RPCTimeout.String()},
		{"max_backoff", ch.MaxBackoff.String()},
	}
}

func dumpLeaders(ls []Leader) []section {
	leaders := make([]section, 0, len(ls))
	for _, l := range ls {
		leaders = append(leaders, dumpLeader(l))
	}
	return leaders
}

// dumpLeader lists a leader's overrides only when set.
func dumpLeader(l Leader) section {
	s := section{{"address", dumpAddr(l.Address)}}
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
	return s
}

func dumpCopy(cp Copy) section {
	return section{
		{"mode", cp.Mode},
		{"copy_ratio", number(cp.CopyRatio.String())},
		{"fixed_usdc", number(cp.FixedUSDC.String())},
		{"percent_balance", number(cp.PercentBalance.String())},
		{"min_trade_usdc", number(cp.MinTradeUSDC.String())},
		{"max_trade_usdc", number(cp.MaxTradeUSDC.String())},
		{"min_order_shares", number(cp.MinOrderShares.String())},
		{"min_price", number(cp.MinPrice.String())},
		{"max_price", number(cp.MaxPrice.String())},
		{"max_fill_age", cp.MaxFillAge.String()},
		{"max_exit_age", cp.MaxExitAge.String()},
		{"allow_tokens", stringList(cp.AllowTokens)},
		{"deny_tokens", stringList(cp.DenyTokens)},
		{"raise_to_minimum", cp.RaiseToMinimum},
	}
}

func dumpRisk(r Risk) section {
	return section{
		{"max_market_exposure_usdc", number(r.MaxMarketExposureUSDC.String())},
		{"max_leader_exposure_usdc", number(r.MaxLeaderExposureUSDC.String())},
		{"max_total_exposure_usdc", number(r.MaxTotalExposureUSDC.String())},
		{"max_daily_spend_usdc", number(r.MaxDailySpendUSDC.String())},
		{"daily_loss_limit_usdc", number(r.DailyLossLimitUSDC.String())},
		{"max_open_positions", r.MaxOpenPositions},
		{"reset_hour_utc", r.ResetHourUTC},
	}
}

func dumpStore(s Store) section {
	return section{
		{"decisions_max", s.DecisionsMax},
		{"decisions_max_age", s.DecisionsMaxAge.String()},
		{"intents_max_age", s.IntentsMaxAge.String()},
		{"closed_positions_max_age", s.ClosedPositionsMaxAge.String()},
	}
}

func dumpExecutor(e Executor) section {
	return section{
		{"lock_ttl", e.LockTTL.String()},
		{"shutdown_grace", e.ShutdownGrace.String()},
		{"clob_breaker", section{
			{"failures", e.CLOBBreaker.Failures},
			{"cooldown", e.CLOBBreaker.Cooldown.String()},
			{"max_cooldown", e.CLOBBreaker.MaxCooldown.String()},
		}},
		{"store_pause_limit", e.StorePauseLimit.String()},
	}
}

func dumpLive(lv Live, redact bool) section {
	return section{
		{"clob_url", dumpURL(lv.ClobURL, redact)},
		{"geoblock_url", lv.GeoblockURL},
		{"key_file", lv.KeyFile},
		{"credentials_file", lv.CredentialsFile},
		{"funder", dumpAddr(lv.Funder)},
		{"signature_type", lv.SignatureType},
		{"ctf_exchange", dumpAddr(lv.CTFExchange)},
		{"neg_risk_exchange", dumpAddr(lv.NegRiskExchange)},
		{"exchange_v3", dumpAddr(lv.ExchangeV3)},
		{"keystore_file", lv.KeystoreFile},
		{"passphrase_file", lv.PassphraseFile},
		{"slippage", number(lv.Slippage.String())},
		{"order_type", lv.OrderType},
		{"request_timeout", lv.RequestTimeout.String()},
		{"order_timeout", lv.OrderTimeout.String()},
		{"order_poll_interval", lv.OrderPollInterval.String()},
		{"paper_book", lv.PaperBook},
		{"paper_fee_rate_bps", lv.PaperFeeRateBps},
		{"heartbeat_interval", lv.HeartbeatInterval.String()},
		{"auto_redeem", lv.AutoRedeem},
		{"redeem_ctf", dumpAddr(lv.RedeemCTF)},
		{"redeem_neg_risk", dumpAddr(lv.RedeemNegRisk)},
		{"redeem_collateral", dumpAddr(lv.RedeemCollateral)},
	}
}

func dumpResolution(r Resolution) section {
	return section{
		{"enabled", r.Enabled},
		{"interval", r.Interval.String()},
		{"ctf", dumpAddr(r.CTF)},
		{"lookback_blocks", r.LookbackBlocks},
		{"catch_up_blocks", r.CatchUpBlocks},
		{"max_marks", r.MaxMarks},
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

// Change is one key a reload changed, with its old and new values as check-config shows them
// (secrets redacted; a list on one line).
type Change struct {
	Key, Old, New string
}

// Changes is Diff with the values: what a reload log shows an operator for each changed key.
// A change to a secret part alone (an RPC URL's API key) is reported with equal, redacted values.
func Changes(old, new *Config) []Change {
	a, b := map[string]string{}, map[string]string{}
	if old != nil {
		leaves("", old.dump(true), a, nil)
	}
	if new != nil {
		leaves("", new.dump(true), b, nil)
	}
	oneLine := func(s string) string {
		return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n- ", "; ")), " ")
	}
	var out []Change
	for _, k := range Diff(old, new) {
		out = append(out, Change{Key: k, Old: oneLine(a[k]), New: oneLine(b[k])})
	}
	return out
}
