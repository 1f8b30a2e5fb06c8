// Package config defines polybot's configuration: one typed Config struct,
// loaded from YAML with POLYBOT_* environment overrides, validated as a whole.
//
// Only this package talks to viper. Every other component receives the typed
// Config (or the part of it it needs).
package config

import (
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/polymarket"
)

// Modes polybot can run in.
const (
	ModePaper = "paper"
	ModeLive  = "live"
)

// Default values. Exported so that docs and tests can refer to them.
const (
	DefaultConfigFile = "polybot.yaml"
	DefaultSystemFile = "/etc/polybot/polybot.yaml"
	DefaultStateDir   = "/var/lib/polybot"
	DefaultChainID    = 137
	DefaultRPCURL     = "wss://polygon-bor-rpc.publicnode.com"
	DefaultClobURL    = "https://clob.polymarket.com"
)

// Bounds of the chain section.
const (
	// DefaultBackfillChunk and MaxBackfillChunk bound chain.backfill_chunk.
	DefaultBackfillChunk = 2000
	MaxBackfillChunk     = 100_000
	// MaxConfirmations bounds chain.confirmations (Polygon reorgs are far shallower).
	MaxConfirmations = 256
)

// Config is polybot's whole configuration.
type Config struct {
	Mode        string      `mapstructure:"mode"`
	Chain       Chain       `mapstructure:"chain"`
	Leaders     []Leader    `mapstructure:"leaders"`
	Copy        Copy        `mapstructure:"copy"`
	Risk        Risk        `mapstructure:"risk"`
	Store       Store       `mapstructure:"store"`
	Dedup       Dedup       `mapstructure:"dedup"`
	Executor    Executor    `mapstructure:"executor"`
	Maintenance Maintenance `mapstructure:"maintenance"`
	Log         Log         `mapstructure:"log"`
	Metrics     Metrics     `mapstructure:"metrics"`
	Admin       Admin       `mapstructure:"admin"`
	Live        Live        `mapstructure:"live"`
	Resolution  Resolution  `mapstructure:"resolution"`
	Paper       Paper       `mapstructure:"paper"`
	Alerts      Alerts      `mapstructure:"alerts"`
	StateDir    string      `mapstructure:"state_dir"`
}

// Alerts configures the notices polybot sends an operator (internal/alerts): a tripped
// breaker, failed or unfilled copies (grouped), a silent feed, a redemption, a daily digest.
// With neither a webhook nor a Telegram chat set, nothing is sent.
type Alerts struct {
	// WebhookURL receives each notice as a JSON POST. It may hold a token: it is redacted
	// wherever the config is shown; put it in the unit's environment file.
	WebhookURL string `mapstructure:"webhook_url"`
	// TelegramChatID is the chat a Telegram bot posts to; the bot token is read from
	// TelegramTokenFile (mode 0600), or from the systemd credential polybot-telegram.
	TelegramChatID    string `mapstructure:"telegram_chat_id"`
	TelegramTokenFile string `mapstructure:"telegram_token_file"`
	TelegramAPIURL    string `mapstructure:"telegram_api_url"`
	// GroupFor gathers failed and unfilled copies into one notice per this long.
	GroupFor time.Duration `mapstructure:"group_for"`
	// SilenceAfter is how long the feed may be unhealthy (no head, not subscribed) before a
	// notice is sent.
	SilenceAfter time.Duration `mapstructure:"silence_after"`
	// DailyDigest sends the trading day's figures when it ends (risk.reset_hour_utc).
	DailyDigest bool `mapstructure:"daily_digest"`
}

// DefaultTelegramAPIURL is the Bot API's address.
const DefaultTelegramAPIURL = "https://api.telegram.org"

// Resolution configures the watcher that closes positions in resolved markets and keeps the
// marks (current prices) the daily-loss breaker values open positions at.
type Resolution struct {
	// Enabled runs the watcher.
	Enabled bool `mapstructure:"enabled"`
	// Interval is the time between rounds (learn markets, read resolutions, redeem, marks).
	Interval time.Duration `mapstructure:"interval"`
	// CTF is the contract whose ConditionResolution logs resolve markets.
	CTF common.Address `mapstructure:"ctf"`
	// LookbackBlocks are read back on the very first round; CatchUpBlocks are read back for
	// a market whose condition polybot learned after its position opened.
	LookbackBlocks uint64 `mapstructure:"lookback_blocks"`
	CatchUpBlocks  uint64 `mapstructure:"catch_up_blocks"`
	// MaxMarks bounds the books read per round to mark open positions.
	MaxMarks int `mapstructure:"max_marks"`
}

// Chain says which chain to watch and how to reach it.
type Chain struct {
	ChainID uint64 `mapstructure:"chain_id"`
	// RPCURL is a ws://, wss://, http:// or https:// endpoint. It may carry an
	// API key in its userinfo, path or query; Redacted never prints those.
	RPCURL string `mapstructure:"rpc_url"`
	// Exchanges are the exchange contracts whose OrderFilled logs are
	// watched (V2 and V1 layouts are both decoded). Default: the current
	// exchanges, polymarket.CurrentExchanges.
	Exchanges []common.Address `mapstructure:"exchanges"`
	// StartBlock is the first block to scan; 0 means the current head.
	StartBlock uint64 `mapstructure:"start_block"`
	// HeadStaleAfter is how long the head may stand still before the
	// watchdog stops being fed.
	HeadStaleAfter time.Duration `mapstructure:"head_stale_after"`
	DialTimeout    time.Duration `mapstructure:"dial_timeout"`
	// FallbackRPCURL, when set, is used after rpc_url failed FailoverAfter
	// times in a row (and the other way round). Redacted like RPCURL.
	FallbackRPCURL string `mapstructure:"fallback_rpc_url"`
	// BackfillChunk bounds the blocks of one eth_getLogs call; halved
	// automatically while the node says a range is too large.
	BackfillChunk uint64 `mapstructure:"backfill_chunk"`
	// PollInterval is the eth_getLogs period with an http(s) rpc_url.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// SilenceAfter is how long the log subscription may stay silent while
	// the head advances and leaders are active before an eth_getLogs
	// cross-check.
	SilenceAfter time.Duration `mapstructure:"silence_after"`
	// Confirmations is how many blocks deep a fill must be before it is
	// copied; 0 copies at once.
	Confirmations uint64 `mapstructure:"confirmations"`
	// RPCTimeout bounds every RPC call.
	RPCTimeout time.Duration `mapstructure:"rpc_timeout"`
	// MaxBackoff caps the wait between reconnects.
	MaxBackoff time.Duration `mapstructure:"max_backoff"`
}

// Leader is a wallet whose trades polybot copies.
type Leader struct {
	// Address is the funder (proxy) wallet that appears as maker in
	// OrderFilled logs, not the EOA that signs.
	Address common.Address `mapstructure:"address"`
	Name    string         `mapstructure:"name"`
	// Enabled defaults to true: a leader entry without the key is copied.
	Enabled bool `mapstructure:"enabled"`
	// CopyRatio overrides Copy.CopyRatio when positive.
	CopyRatio decimal.Decimal `mapstructure:"copy_ratio"`
	// Mode, FixedUSDC, PercentBalance, MinTradeUSDC and MaxTradeUSDC
	// override the copy section's value of the same name when set (a
	// non-empty mode, a positive amount).
	Mode           string          `mapstructure:"mode"`
	FixedUSDC      decimal.Decimal `mapstructure:"fixed_usdc"`
	PercentBalance decimal.Decimal `mapstructure:"percent_balance"`
	MinTradeUSDC   decimal.Decimal `mapstructure:"min_trade_usdc"`
	MaxTradeUSDC   decimal.Decimal `mapstructure:"max_trade_usdc"`
}

// Sizing is how one leader's fills are sized: the copy section's values with
// the leader's overrides applied.
type Sizing struct {
	Mode           string
	CopyRatio      decimal.Decimal
	FixedUSDC      decimal.Decimal
	PercentBalance decimal.Decimal
	MinTradeUSDC   decimal.Decimal
	MaxTradeUSDC   decimal.Decimal
}

// Sizing returns the leader's effective sizing under the copy section c.
func (l Leader) Sizing(c Copy) Sizing {
	pick := func(own, global decimal.Decimal) decimal.Decimal {
		if own.IsPositive() {
			return own
		}
		return global
	}
	s := Sizing{
		Mode:           c.Mode,
		CopyRatio:      l.Ratio(c.CopyRatio),
		FixedUSDC:      pick(l.FixedUSDC, c.FixedUSDC),
		PercentBalance: pick(l.PercentBalance, c.PercentBalance),
		MinTradeUSDC:   pick(l.MinTradeUSDC, c.MinTradeUSDC),
		MaxTradeUSDC:   pick(l.MaxTradeUSDC, c.MaxTradeUSDC),
	}
	if l.Mode != "" {
		s.Mode = l.Mode
	}
	return s
}

// Ratio returns the leader's copy ratio: its own when set, global otherwise.
func (l Leader) Ratio(global decimal.Decimal) decimal.Decimal {
	if l.CopyRatio.IsPositive() {
		return l.CopyRatio
	}
	return global
}

// Label names the leader for logs: its name, or its address when unnamed.
func (l Leader) Label() string {
	if l.Name != "" {
		return l.Name
	}
	return l.Address.Hex()
}

// Sizing modes of copy.mode and leaders[].mode.
const (
	SizeProportional   = "proportional"    // copy_ratio x the leader's shares
	SizeFixedUSDC      = "fixed_usdc"      // the same USDC on every copied BUY
	SizePercentBalance = "percent_balance" // a percentage of our available collateral
)

// Copy sizes the copied orders and filters which leader fills are copied.
// Amounts are USDC, prices USDC per share.
type Copy struct {
	Mode           string          `mapstructure:"mode"`
	CopyRatio      decimal.Decimal `mapstructure:"copy_ratio"`
	FixedUSDC      decimal.Decimal `mapstructure:"fixed_usdc"`
	PercentBalance decimal.Decimal `mapstructure:"percent_balance"`
	MinTradeUSDC   decimal.Decimal `mapstructure:"min_trade_usdc"`
	MaxTradeUSDC   decimal.Decimal `mapstructure:"max_trade_usdc"`
	// MinOrderShares is the smallest order polybot places; a smaller copy
	// is skipped, never rounded up.
	MinOrderShares decimal.Decimal `mapstructure:"min_order_shares"`
	MinPrice       decimal.Decimal `mapstructure:"min_price"`
	MaxPrice       decimal.Decimal `mapstructure:"max_price"`
	// MaxFillAge skips leader BUYs whose block is older than this.
	MaxFillAge time.Duration `mapstructure:"max_fill_age"`
	// MaxExitAge skips leader SELLs whose block is older than this; 0 (the
	// default) mirrors a leader's exit of any age while polybot holds the
	// token, so an exit made during an outage is still followed.
	MaxExitAge time.Duration `mapstructure:"max_exit_age"`
	// AllowTokens, when not empty, limits buys to these outcome token ids
	// (decimal); DenyTokens never buys them. Fills carry token ids only.
	AllowTokens []string `mapstructure:"allow_tokens"`
	DenyTokens  []string `mapstructure:"deny_tokens"`
	// RaiseToMinimum raises a BUY copy below the CLOB's minimum (the market's
	// min_order_size, $1 for a marketable BUY) to it, within every cap, the
	// slippage bound and the balance; false (the default) skips it, naming
	// this key. Off by default: a raise spends more than the leader's sizing
	// asked (a 0.10 USDC copy raised to 1 USDC is ten times its size).
	RaiseToMinimum bool `mapstructure:"raise_to_minimum"`
}

// Risk limits what copied BUYs may add. Amounts are USDC: exposure is the
// cost basis of open positions.
type Risk struct {
	MaxMarketExposureUSDC decimal.Decimal `mapstructure:"max_market_exposure_usdc"`
	MaxLeaderExposureUSDC decimal.Decimal `mapstructure:"max_leader_exposure_usdc"`
	MaxTotalExposureUSDC  decimal.Decimal `mapstructure:"max_total_exposure_usdc"`
	MaxDailySpendUSDC     decimal.Decimal `mapstructure:"max_daily_spend_usdc"`
	// DailyLossLimitUSDC trips the circuit breaker when realised plus
	// marked P&L of the day falls below its negative.
	DailyLossLimitUSDC decimal.Decimal `mapstructure:"daily_loss_limit_usdc"`
	MaxOpenPositions   int             `mapstructure:"max_open_positions"`
	// ResetHourUTC is the hour (0..23, UTC) the trading day, its counters
	// and the circuit breaker reset.
	ResetHourUTC int `mapstructure:"reset_hour_utc"`
}

// Store bounds the state file <state_dir>/polybot.db.
type Store struct {
	DecisionsMax    int           `mapstructure:"decisions_max"`
	DecisionsMaxAge time.Duration `mapstructure:"decisions_max_age"`
	// IntentsMaxAge keeps completed intents this long, so that a fill
	// seen again after a restart is recognised as copied.
	IntentsMaxAge         time.Duration `mapstructure:"intents_max_age"`
	ClosedPositionsMaxAge time.Duration `mapstructure:"closed_positions_max_age"`
}

// Dedup sizes the cache of already seen fills.
type Dedup struct {
	Size int           `mapstructure:"size"`
	TTL  time.Duration `mapstructure:"ttl"`
}

// Executor tunes the trade executor.
type Executor struct {
	LockTTL       time.Duration `mapstructure:"lock_ttl"`
	ShutdownGrace time.Duration `mapstructure:"shutdown_grace"`
	// CLOBBreaker stops sending orders while the CLOB fails.
	CLOBBreaker CLOBBreaker `mapstructure:"clob_breaker"`
	// StorePauseLimit is how long copying may stay paused because the
	// state store cannot be written (disk full, read-only) before polybot
	// stops feeding the systemd watchdog so that systemd restarts it; 0s
	// never does (the pause lasts until the disk takes writes again).
	StorePauseLimit time.Duration `mapstructure:"store_pause_limit"`
}

// CLOBBreaker is the CLOB circuit breaker: after Failures consecutive copies
// whose order met a CLOB outage (5xx, 429, timeout, broken connection; not a
// rejection) no order is sent for Cooldown, each copy being recorded as
// skipped; then one probe order is sent. An answered probe closes it; a
// failed one reopens it for twice the cooldown, at most MaxCooldown.
type CLOBBreaker struct {
	Failures    int           `mapstructure:"failures"`
	Cooldown    time.Duration `mapstructure:"cooldown"`
	MaxCooldown time.Duration `mapstructure:"max_cooldown"`
}

// Maintenance tunes the periodic maintenance loop.
type Maintenance struct {
	Interval time.Duration `mapstructure:"interval"`
}

// Log configures the root logger.
type Log struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}

// Metrics configures the Prometheus endpoint (/metrics, /healthz, /readyz).
type Metrics struct {
	// Listen is the host:port to serve on; "" (the default) serves nothing.
	Listen string `mapstructure:"listen"`
	// AllowNonLoopback permits a Listen address beyond loopback. Metrics
	// carry no secret but tell a lot about the account's trading.
	AllowNonLoopback bool `mapstructure:"allow_non_loopback"`
}

// Admin configures the local admin socket that `polybot status` reads.
type Admin struct {
	Enabled bool `mapstructure:"enabled"`
	// Socket is the unix socket's path; "" means AdminSocketName in
	// $RUNTIME_DIRECTORY when systemd sets it, else in StateDir.
	Socket string `mapstructure:"socket"`
}

// AdminSocketName is the admin socket's file name when admin.socket is "".
const AdminSocketName = "admin.sock"

// Live configures trading against the real CLOB (mode live).
type Live struct {
	ClobURL string `mapstructure:"clob_url"`
	// GeoblockURL is the geoblock endpoint checked at start and by preflight (geoblock.go):
	// "" for Polymarket's when clob_url is Polymarket's CLOB (no check otherwise), "none"
	// for no check, else the URL.
	GeoblockURL string `mapstructure:"geoblock_url"`
	// KeyFile is the path of a 0600 file holding the private key. The path
	// is not a secret; the file's content is, and is never read here.
	KeyFile string `mapstructure:"key_file"`
	// CredentialsFile is the path of a 0600 file holding API credentials.
	CredentialsFile string         `mapstructure:"credentials_file"`
	Funder          common.Address `mapstructure:"funder"`
	SignatureType   int            `mapstructure:"signature_type"`
	// CTFExchange and NegRiskExchange are the verifying contracts (EIP-712
	// domain version "2") that copies are signed for, on normal and on
	// neg-risk markets.
	CTFExchange     common.Address `mapstructure:"ctf_exchange"`
	NegRiskExchange common.Address `mapstructure:"neg_risk_exchange"`
	// ExchangeV3 is the verifying contract (domain version "3") of copies of
	// Protocol V2 markets: of leader fills on it (docs/live-trading.md).
	ExchangeV3 common.Address `mapstructure:"exchange_v3"`
	// KeystoreFile is an encrypted keystore (V3 JSON), an alternative to
	// KeyFile; PassphraseFile (0600) holds its passphrase. With neither key
	// file set, the key is read from $CREDENTIALS_DIRECTORY/polybot-key.
	KeystoreFile   string `mapstructure:"keystore_file"`
	PassphraseFile string `mapstructure:"passphrase_file"`
	// Slippage is how far, in price (USDC per share), a copy may trade
	// beyond the leader's price: a BUY pays at most leader+slippage, a SELL
	// takes at least leader-slippage, both rounded inward to the tick.
	Slippage decimal.Decimal `mapstructure:"slippage"`
	// OrderType is the time in force of copies: FAK (fill what crosses,
	// cancel the rest), FOK (all or nothing) or GTC (rest the remainder).
	OrderType string `mapstructure:"order_type"`
	// RequestTimeout bounds each CLOB request.
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	// OrderTimeout is how long a copy order may stay open (resting on the
	// book, or its matching delayed by the CLOB) before polybot cancels it,
	// keeping what filled. OrderPollInterval is how often an open order, or
	// one whose outcome is unclear, is looked up by its hash until it is final.
	OrderTimeout      time.Duration `mapstructure:"order_timeout"`
	OrderPollInterval time.Duration `mapstructure:"order_poll_interval"`
	// PaperBook makes mode paper fill copies against the CLOB's real order
	// book (GET /book at clob_url) at the live limit price, instead of in
	// full at the leader's price.
	PaperBook bool `mapstructure:"paper_book"`
	// AutoRedeem redeems the winnings of resolved markets on chain, through the funder's
	// wallet of signature_type (the owner key sends and pays the gas), and counts a redemption
	// only when its receipt shows the payout.
	AutoRedeem bool `mapstructure:"auto_redeem"`
	// RedeemCTF is called with redeemPositions(collateral, 0, condition, [1<<slot]) for a
	// standard market (default the CtfCollateralAdapter, which pays pUSD), RedeemNegRisk with
	// the same call for a neg-risk one (default the NegRiskCtfCollateralAdapter);
	// RedeemCollateral is the token the winnings must arrive in (default pUSD), also passed as
	// the call's collateral argument.
	RedeemCTF        common.Address `mapstructure:"redeem_ctf"`
	RedeemNegRisk    common.Address `mapstructure:"redeem_neg_risk"`
	RedeemCollateral common.Address `mapstructure:"redeem_collateral"`
	// PaperFeeRateBps is the taker fee rate, in basis points, mode paper
	// charges on each copy with the CLOB's fee model (rate·shares·p·(1−p),
	// on top of a BUY, out of a SELL's proceeds); 0 charges none.
	PaperFeeRateBps int `mapstructure:"paper_fee_rate_bps"`
	// HeartbeatInterval is how often mode live sends the CLOB a heartbeat
	// while copies may rest on the book (order_type GTC): should polybot
	// stop, the CLOB cancels its open orders about 10s after the last one.
	HeartbeatInterval time.Duration `mapstructure:"heartbeat_interval"`
}

// Paper configures paper trading (mode paper).
type Paper struct {
	// BalanceUSDC is the collateral paper trading starts with: leaders in
	// mode percent_balance are sized from it, less the cost of the open
	// positions. 0 (the default) leaves percent_balance leaders uncopied in
	// mode paper. Mode live reads the wallet's pUSD balance from the CLOB.
	BalanceUSDC decimal.Decimal `mapstructure:"balance_usdc"`
}

// Order types of live.order_type.
var LiveOrderTypes = []string{"FAK", "FOK", "GTC"}

// Default returns the configuration polybot uses for every key a file leaves
// out. It has no leaders, so it does not validate on its own.
func Default() *Config {
	return &Config{
		Mode: ModePaper,
		Chain: Chain{
			ChainID:        DefaultChainID,
			RPCURL:         DefaultRPCURL,
			Exchanges:      polymarket.CurrentExchanges(),
			HeadStaleAfter: 60 * time.Second,
			DialTimeout:    10 * time.Second,
			BackfillChunk:  DefaultBackfillChunk,
			PollInterval:   2 * time.Second,
			SilenceAfter:   2 * time.Minute,
			RPCTimeout:     30 * time.Second,
			MaxBackoff:     30 * time.Second,
		},
		Copy: Copy{
			Mode:           SizeProportional,
			CopyRatio:      decimal.RequireFromString("0.1"),
			FixedUSDC:      decimal.NewFromInt(10),
			PercentBalance: decimal.NewFromInt(1),
			MinTradeUSDC:   decimal.NewFromInt(1),
			MaxTradeUSDC:   decimal.NewFromInt(25),
			MinOrderShares: decimal.NewFromInt(5),
			MinPrice:       decimal.RequireFromString("0.03"),
			MaxPrice:       decimal.RequireFromString("0.97"),
			MaxFillAge:     2 * time.Minute,
		},
		Risk: Risk{
			MaxMarketExposureUSDC: decimal.NewFromInt(100),
			MaxLeaderExposureUSDC: decimal.NewFromInt(500),
			MaxTotalExposureUSDC:  decimal.NewFromInt(1000),
			MaxDailySpendUSDC:     decimal.NewFromInt(1000),
			DailyLossLimitUSDC:    decimal.NewFromInt(200),
			MaxOpenPositions:      50,
		},
		Store: Store{
			DecisionsMax:          50_000,
			DecisionsMaxAge:       7 * 24 * time.Hour,
			IntentsMaxAge:         24 * time.Hour,
			ClosedPositionsMaxAge: 30 * 24 * time.Hour,
		},
		Dedup: Dedup{Size: 50_000, TTL: 30 * time.Minute},
		Executor: Executor{LockTTL: 30 * time.Minute, ShutdownGrace: 10 * time.Second,
			CLOBBreaker: CLOBBreaker{Failures: 5, Cooldown: 30 * time.Second, MaxCooldown: 10 * time.Minute}},
		Maintenance: Maintenance{Interval: 30 * time.Second},
		Log:         Log{Level: "info", Format: "console"},
		Admin:       Admin{Enabled: true},
		Live: Live{
			ClobURL:           DefaultClobURL,
			CTFExchange:       polymarket.CTFExchangeV2,
			NegRiskExchange:   polymarket.NegRiskCTFExchangeV2,
			ExchangeV3:        polymarket.ExchangeV3,
			Slippage:          decimal.RequireFromString("0.02"),
			OrderType:         "FAK",
			RequestTimeout:    10 * time.Second,
			HeartbeatInterval: 5 * time.Second,
			OrderTimeout:      time.Minute,
			OrderPollInterval: 2 * time.Second,
			AutoRedeem:        true,
			RedeemCTF:         polymarket.CtfRedeemAdapter,
			RedeemNegRisk:     polymarket.NegRiskRedeemAdapter,
			RedeemCollateral:  polymarket.CollateralPUSD,
		},
		Resolution: Resolution{
			Enabled:        true,
			Interval:       time.Minute,
			CTF:            polymarket.ConditionalTokens,
			LookbackBlocks: 50_000,
			CatchUpBlocks:  2_000,
			MaxMarks:       50,
		},
		Alerts: Alerts{
			TelegramAPIURL: DefaultTelegramAPIURL,
			GroupFor:       time.Minute,
			SilenceAfter:   2 * time.Minute,
			DailyDigest:    true,
		},
		StateDir: DefaultStateDir,
	}
}

// EnabledLeaders returns the leaders whose trades are copied.
func (c *Config) EnabledLeaders() []Leader {
	var out []Leader
	for _, l := range c.Leaders {
		if l.Enabled {
			out = append(out, l)
		}
	}
	return out
}
