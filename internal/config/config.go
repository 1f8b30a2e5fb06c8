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
)

// Modes polybot can run in.
const (
	ModePaper = "paper"
	ModeLive  = "live"
)

// Default values. Exported so that docs and tests can refer to them.
const (
	DefaultConfigFile  = "polybot.yaml"
	DefaultSystemFile  = "/etc/polybot/polybot.yaml"
	DefaultStateDir    = "/var/lib/polybot"
	DefaultChainID     = 137
	DefaultRPCURL      = "wss://polygon-bor-rpc.publicnode.com"
	DefaultCTFExchange = "0xE111180000d2663C0091e4f400237545B87B996B"
	DefaultNegRiskExch = "0xe2222d279d744050d28e00520010520000310F59"
	DefaultClobURL     = "https://clob.polymarket.com"
)

// Config is polybot's whole configuration.
type Config struct {
	Mode        string      `mapstructure:"mode"`
	Chain       Chain       `mapstructure:"chain"`
	Leaders     []Leader    `mapstructure:"leaders"`
	Copy        Copy        `mapstructure:"copy"`
	Dedup       Dedup       `mapstructure:"dedup"`
	Executor    Executor    `mapstructure:"executor"`
	Maintenance Maintenance `mapstructure:"maintenance"`
	Log         Log         `mapstructure:"log"`
	Live        Live        `mapstructure:"live"`
	StateDir    string      `mapstructure:"state_dir"`
}

// Chain says which chain to watch and how to reach it.
type Chain struct {
	ChainID uint64 `mapstructure:"chain_id"`
	// RPCURL is a ws://, wss://, http:// or https:// endpoint. It may carry an
	// API key in its userinfo, path or query; Redacted never prints those.
	RPCURL    string    `mapstructure:"rpc_url"`
	Exchanges Exchanges `mapstructure:"exchanges"`
	// StartBlock is the first block to scan; 0 means the current head.
	StartBlock uint64 `mapstructure:"start_block"`
	// HeadStaleAfter is how long the head may stand still before the
	// watchdog stops being fed.
	HeadStaleAfter time.Duration `mapstructure:"head_stale_after"`
	DialTimeout    time.Duration `mapstructure:"dial_timeout"`
}

// Exchanges are the exchange contracts whose OrderFilled logs are watched.
type Exchanges struct {
	CTF     common.Address `mapstructure:"ctf"`
	NegRisk common.Address `mapstructure:"neg_risk"`
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

// Copy sizes the copied orders.
type Copy struct {
	CopyRatio    decimal.Decimal `mapstructure:"copy_ratio"`
	MaxTradeUSDC decimal.Decimal `mapstructure:"max_trade_usdc"`
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

// Live configures trading against the real CLOB (mode live).
type Live struct {
	ClobURL string `mapstructure:"clob_url"`
	// KeyFile is the path of a 0600 file holding the private key. The path
	// is not a secret; the file's content is, and is never read here.
	KeyFile string `mapstructure:"key_file"`
	// CredentialsFile is the path of a 0600 file holding API credentials.
	CredentialsFile string         `mapstructure:"credentials_file"`
	Funder          common.Address `mapstructure:"funder"`
	SignatureType   int            `mapstructure:"signature_type"`
}

// Default returns the configuration polybot uses for every key a file leaves
// out. It has no leaders, so it does not validate on its own.
func Default() *Config {
	return &Config{
		Mode: ModePaper,
		Chain: Chain{
			ChainID: DefaultChainID,
			RPCURL:  DefaultRPCURL,
			Exchanges: Exchanges{
				CTF:     common.HexToAddress(DefaultCTFExchange),
				NegRisk: common.HexToAddress(DefaultNegRiskExch),
			},
			HeadStaleAfter: 60 * time.Second,
			DialTimeout:    10 * time.Second,
		},
		Copy: Copy{
			CopyRatio:    decimal.RequireFromString("0.1"),
			MaxTradeUSDC: decimal.NewFromInt(25),
		},
		Dedup:       Dedup{Size: 50_000, TTL: 30 * time.Minute},
		Executor:    Executor{LockTTL: 30 * time.Minute, ShutdownGrace: 10 * time.Second},
		Maintenance: Maintenance{Interval: 30 * time.Second},
		Log:         Log{Level: "info", Format: "console"},
		Live:        Live{ClobURL: DefaultClobURL},
		StateDir:    DefaultStateDir,
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
