package config

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/polymarket"
)

// wantKey reads the "# want-key: <key>" first line of an invalid case.
func wantKey(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := bufio.NewReader(bytes.NewReader(b)).ReadLine()
	key, ok := strings.CutPrefix(string(line), "# want-key: ")
	if !ok || key == "" {
		t.Fatalf("%s: first line must be \"# want-key: <key>\", got %q", path, line)
	}
	return key
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "polybot.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, path string) *Config {
	t.Helper()
	cfg, _, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return cfg
}

const oneLeader = "leaders:\n  - address: 0x1000000000000000000000000000000000000001\n"

func TestInvalidConfigsNameTheBadKey(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid cases: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			key := wantKey(t, f)
			cfg, used, err := Load(f)
			if err == nil {
				t.Fatalf("Load accepted an invalid config:\n%s", cfg.Redacted())
			}
			if used != f {
				t.Errorf("Load returned path %q, want %q", used, f)
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("error is %T (%v), want *ValidationError", err, err)
			}
			if !verr.Has(key) {
				t.Fatalf("problems do not name %q:\n%v", key, verr)
			}
			if !strings.Contains(err.Error(), key+": bad value ") {
				t.Errorf("message does not name %q: %v", key, err)
			}
			for _, p := range verr.Problems {
				if p.Key == "" || p.Want == "" {
					t.Errorf("problem without key or want: %+v", p)
				}
			}
		})
	}
}

func TestValidConfigsLoadAndSurviveARoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid cases: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			cfg := mustLoad(t, f)
			// What check-config prints reads back as the same config (these
			// files hold no secret for redaction to remove).
			again, err := Parse([]byte(cfg.Redacted()))
			if err != nil {
				t.Fatalf("Parse(Redacted()): %v\n%s", err, cfg.Redacted())
			}
			if d := Diff(cfg, again); len(d) != 0 {
				t.Fatalf("round trip changed %v", d)
			}
		})
	}
}

func TestMinimalConfigGetsEveryDefault(t *testing.T) {
	cfg := mustLoad(t, "testdata/valid/minimal.yaml")
	want := Default()
	want.Leaders = []Leader{{Address: common.HexToAddress("0x1000000000000000000000000000000000000001"), Enabled: true}}
	if d := Diff(want, cfg); len(d) != 0 {
		t.Fatalf("differs from Default() in %v", d)
	}
	if !cfg.Leaders[0].Enabled {
		t.Fatal("a leader without an enabled key must be enabled")
	}
}

func TestFullConfigSetsEveryKey(t *testing.T) {
	cfg := mustLoad(t, "testdata/valid/full.yaml")
	// Every key of full.yaml differs from its default.
	got := Diff(Default(), cfg)
	want := []string{
		"mode", "chain.chain_id", "chain.rpc_url", "chain.exchanges",
		"chain.start_block", "chain.head_stale_after", "chain.dial_timeout", "leaders",
		"copy.mode", "copy.copy_ratio", "copy.fixed_usdc", "copy.percent_balance", "copy.min_trade_usdc",
		"copy.max_trade_usdc", "copy.min_order_shares", "copy.min_price", "copy.max_price", "copy.max_fill_age", "copy.max_exit_age",
		"copy.allow_tokens", "copy.deny_tokens",
		"risk.max_market_exposure_usdc", "risk.max_leader_exposure_usdc", "risk.max_total_exposure_usdc",
		"risk.max_daily_spend_usdc", "risk.daily_loss_limit_usdc", "risk.max_open_positions", "risk.reset_hour_utc",
		"store.decisions_max", "store.decisions_max_age", "store.intents_max_age", "store.closed_positions_max_age",
		"dedup.size", "dedup.ttl",
		"executor.lock_ttl", "executor.shutdown_grace", "executor.clob_breaker.failures",
		"executor.clob_breaker.cooldown", "executor.clob_breaker.max_cooldown", "executor.store_pause_limit",
		"maintenance.interval",
		"log.level", "log.format", "metrics.listen", "metrics.allow_non_loopback", "admin.enabled", "admin.socket",
		"live.clob_url", "live.key_file", "live.credentials_file",
		"live.funder", "live.signature_type", "live.ctf_exchange", "live.neg_risk_exchange", "live.exchange_v3", "live.slippage",
		"live.order_type", "live.request_timeout", "live.paper_book", "live.paper_fee_rate_bps", "live.heartbeat_interval",
		"paper.balance_usdc", "state_dir",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Diff(Default, full) =\n%v\nwant\n%v", got, want)
	}
	if cfg.Chain.HeadStaleAfter != 2*time.Minute || cfg.Leaders[1].Enabled || cfg.Live.SignatureType != 1 {
		t.Fatalf("unexpected values: %+v", cfg)
	}
	if got := cfg.Copy.MaxTradeUSDC.String(); got != "12.345678" {
		t.Fatalf("max_trade_usdc = %s, want 12.345678", got)
	}
}

func TestAnchorsMergeKeysAndNulls(t *testing.T) {
	cfg := mustLoad(t, "testdata/valid/anchors_and_nulls.yaml")
	if cfg.Dedup.Size != Default().Dedup.Size || cfg.Log != Default().Log {
		t.Fatalf("null did not keep the default: dedup %+v log %+v", cfg.Dedup, cfg.Log)
	}
	if len(cfg.Leaders) != 2 || cfg.Leaders[1].CopyRatio.String() != "0.5" ||
		cfg.Leaders[1].Address != common.HexToAddress("0x1000000000000000000000000000000000000002") {
		t.Fatalf("merge key not applied: %+v", cfg.Leaders)
	}
}

func TestAddressThatLooksLikeAnIntegerStaysAnAddress(t *testing.T) {
	cfg := mustLoad(t, "testdata/valid/zero_low_address.yaml")
	if got := cfg.Leaders[0].Address; got != common.BigToAddress(common.Big1) {
		t.Fatalf("address = %s", got.Hex())
	}
}

func TestShippedConfigsAreValid(t *testing.T) {
	for _, f := range []string{"polybot.example.yaml", "demo.yaml", "demo-live.yaml"} {
		t.Run(f, func(t *testing.T) {
			mustLoad(t, filepath.Join("..", "..", "configs", f))
		})
	}
}

func TestExampleConfigSetsEveryKey(t *testing.T) {
	b, err := os.ReadFile("../../configs/polybot.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := readYAML(b)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	flatten("", raw, got)
	for key := range defaultSettings() {
		if _, ok := got[key]; !ok {
			t.Errorf("example does not set %s", key)
		}
	}
	leader := raw["leaders"].([]any)[0].(map[string]any)
	for _, key := range []string{"address", "name", "enabled"} {
		if _, ok := leader[key]; !ok {
			t.Errorf("example leader does not set %s", key)
		}
	}
	// The per-leader override is shown commented out, so the example copies
	// with the global ratio.
	if !strings.Contains(string(b), "# copy_ratio:") {
		t.Error("example does not document leaders[].copy_ratio")
	}
	// Its values are the defaults.
	cfg := mustLoad(t, "../../configs/polybot.example.yaml")
	want := Default()
	want.Leaders = cfg.Leaders
	if d := Diff(want, cfg); len(d) != 0 {
		t.Errorf("example differs from the defaults in %v", d)
	}
}

func TestDemoConfig(t *testing.T) {
	cfg := mustLoad(t, "../../configs/demo.yaml")
	if cfg.Mode != ModePaper || cfg.Chain.ChainID != 1337 || cfg.Chain.RPCURL != "ws://127.0.0.1:8546" {
		t.Fatalf("chain: %+v mode %s", cfg.Chain, cfg.Mode)
	}
	if !slices.Equal(cfg.Chain.Exchanges, polymarket.CurrentExchanges()) {
		t.Fatalf("exchanges: %v", cfg.Chain.Exchanges)
	}
	if n := len(cfg.EnabledLeaders()); n != 3 {
		t.Fatalf("%d enabled leaders, want 3", n)
	}
	for i, l := range cfg.Leaders {
		want := common.BigToAddress(common.Big1).Big()
		want.Lsh(common.Big1, 156).Add(want, decimal.NewFromInt(int64(i+1)).BigInt())
		if l.Address != common.BigToAddress(want) {
			t.Errorf("leader %d = %s", i, l.Address.Hex())
		}
	}
	if cfg.Copy.CopyRatio.String() != "0.05" || cfg.Copy.MaxTradeUSDC.String() != "10" || cfg.Risk.MaxDailySpendUSDC.String() != "100000" ||
		cfg.Maintenance.Interval != 10*time.Second || cfg.StateDir != "./.polybot-state" {
		t.Fatalf("demo values: copy %+v maintenance %v state %s", cfg.Copy, cfg.Maintenance.Interval, cfg.StateDir)
	}
}

func TestEnvironmentOverridesFile(t *testing.T) {
	path := writeFile(t, oneLeader+"copy:\n  copy_ratio: 0.3\n")
	t.Setenv("POLYBOT_CHAIN_RPC_URL", "wss://polygon.example.com/key")
	t.Setenv("POLYBOT_COPY_COPY_RATIO", "0.2")
	t.Setenv("POLYBOT_MODE", "live")
	t.Setenv("POLYBOT_LIVE_KEY_FILE", "/run/secrets/key")
	t.Setenv("POLYBOT_DEDUP_TTL", "45m")
	t.Setenv("POLYBOT_CHAIN_CHAIN_ID", "80002")
	t.Setenv("POLYBOT_LIVE_FUNDER", "0x1000000000000000000000000000000000000009")

	cfg := mustLoad(t, path)
	if cfg.Chain.RPCURL != "wss://polygon.example.com/key" || cfg.Copy.CopyRatio.String() != "0.2" ||
		cfg.Mode != ModeLive || cfg.Live.KeyFile != "/run/secrets/key" || cfg.Dedup.TTL != 45*time.Minute ||
		cfg.Chain.ChainID != 80002 || cfg.Live.Funder != common.HexToAddress("0x1000000000000000000000000000000000000009") {
		t.Fatalf("environment not applied: %+v", cfg)
	}

	// Parse ignores the environment: its result depends on its input alone.
	parsed, err := Parse([]byte(oneLeader))
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Mode != ModePaper || parsed.Copy.CopyRatio.String() != "0.1" {
		t.Fatalf("Parse used the environment: %+v", parsed)
	}
}

func TestBadEnvironmentValueIsAProblem(t *testing.T) {
	path := writeFile(t, oneLeader)
	t.Setenv("POLYBOT_MAINTENANCE_INTERVAL", "soon")
	_, _, err := Load(path)
	var verr *ValidationError
	if !errors.As(err, &verr) || !verr.Has("maintenance.interval") {
		t.Fatalf("err = %v, want a problem with maintenance.interval", err)
	}
}

func TestLoadSearchesDefaultPaths(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "polybot.yaml"), []byte(oneLeader), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	_, used, err := Load("")
	if err != nil || used != "./polybot.yaml" {
		t.Fatalf("Load(\"\") = %q, %v; want ./polybot.yaml", used, err)
	}
}

func TestSearchListsWhereItLooked(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	_, err := search([]string{a, b})
	if err == nil || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) {
		t.Fatalf("err = %v, want both paths listed", err)
	}
	if err := os.WriteFile(b, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := search([]string{a, b}); err != nil || got != b {
		t.Fatalf("search = %q, %v; want %q", got, err, b)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, _, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want not exist", err)
	}
}

func TestMalformedYAMLIsAnError(t *testing.T) {
	for name, in := range map[string]string{
		"tab indentation": "copy:\n\tcopy_ratio: 1\n",
		"top-level list":  "- a\n- b\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(in)); err == nil {
				t.Fatal("Parse accepted malformed YAML")
			}
		})
	}
}

func TestDecimalsStayExact(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"float literal", "0.1", "0.1"},
		{"quoted", `"0.1"`, "0.1"},
		{"more digits than float64 holds", "0.30000000000000000001", "0.30000000000000000001"},
		{"integer", "3", "3"},
		{"exponent", "5e-1", "0.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(oneLeader + "copy:\n  copy_ratio: " + tt.yaml + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Copy.CopyRatio.String(); got != tt.want {
				t.Fatalf("copy_ratio = %s, want %s", got, tt.want)
			}
			if !cfg.Copy.CopyRatio.Equal(decimal.RequireFromString(tt.want)) {
				t.Fatalf("copy_ratio %s is not exactly %s", cfg.Copy.CopyRatio, tt.want)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"wss://polygon-mainnet.example.com/v2/abcd1234", "wss://polygon-mainnet.example.com/<redacted>"},
		{"wss://polygon-bor-rpc.publicnode.com", "wss://polygon-bor-rpc.publicnode.com"},
		{"wss://polygon-bor-rpc.publicnode.com/", "wss://polygon-bor-rpc.publicnode.com"},
		{"https://user:secret@rpc.example.com:8545", "https://rpc.example.com:8545/<redacted>"},
		{"https://rpc.example.com/?apikey=secret", "https://rpc.example.com/<redacted>"},
		{"ws://127.0.0.1:8546", "ws://127.0.0.1:8546"},
		{"not a url %zz secret", "<redacted>"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactedHidesSecretsAndShowsExactValues(t *testing.T) {
	cfg, err := Parse([]byte(`
mode: live
chain:
  rpc_url: wss://polygon-mainnet.example.com/v2/abcd1234
leaders:
  - address: 0xe111180000d2663c0091e4f400237545b87b996c
live:
  clob_url: https://bot:hunter2@clob.example.com
  key_file: /etc/polybot/key
  credentials_file: /etc/polybot/creds.json
`))
	if err != nil {
		t.Fatal(err)
	}
	out := cfg.Redacted()
	for _, secret := range []string{"abcd1234", "v2", "hunter2", "bot:"} {
		if strings.Contains(out, secret) {
			t.Errorf("Redacted shows %q:\n%s", secret, out)
		}
	}
	for _, shown := range []string{
		"rpc_url: wss://polygon-mainnet.example.com/<redacted>\n",
		"key_file: /etc/polybot/key\n",
		"credentials_file: /etc/polybot/creds.json\n",
		"copy_ratio: 0.1\n",
		"ttl: 30m0s\n",
		"address: " + common.HexToAddress("0xe111180000d2663c0091e4f400237545b87b996c").Hex() + "\n",
	} {
		if !strings.Contains(out, shown) {
			t.Errorf("Redacted lacks %q:\n%s", shown, out)
		}
	}
	// Problems do not leak the URL's secret either.
	_, err = Parse([]byte(oneLeader + "chain:\n  rpc_url: ftp://host.example.com/secretkey\n"))
	if err == nil || strings.Contains(err.Error(), "secretkey") {
		t.Fatalf("err = %v", err)
	}
}

func TestDiffAndHash(t *testing.T) {
	base := func(t *testing.T) *Config {
		t.Helper()
		cfg, err := Parse([]byte(oneLeader + "chain:\n  rpc_url: wss://rpc.example.com/key-one\n"))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	tests := []struct {
		name     string
		change   func(c *Config)
		wantKeys []string
		sameHash bool
	}{
		{"nothing changed", func(*Config) {}, nil, true},
		{"copy ratio", func(c *Config) { c.Copy.CopyRatio = decimal.RequireFromString("0.2") }, []string{"copy.copy_ratio"}, false},
		{"equal decimal written differently", func(c *Config) { c.Copy.CopyRatio = decimal.RequireFromString("0.10") }, nil, true},
		{"leader added", func(c *Config) { c.Leaders = append(c.Leaders, Leader{Address: common.Address{2}, Enabled: true}) }, []string{"leaders"}, false},
		{"leader disabled", func(c *Config) { c.Leaders[0].Enabled = false }, []string{"leaders"}, false},
		{"two sections", func(c *Config) { c.Log.Level = "debug"; c.Dedup.TTL = time.Hour }, []string{"dedup.ttl", "log.level"}, false},
		{"rpc secret only", func(c *Config) { c.Chain.RPCURL = "wss://rpc.example.com/key-two" }, []string{"chain.rpc_url"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, new := base(t), base(t)
			tt.change(new)
			if got := Diff(old, new); !slices.Equal(got, tt.wantKeys) {
				t.Errorf("Diff = %v, want %v", got, tt.wantKeys)
			}
			if same := old.Hash() == new.Hash(); same != tt.sameHash {
				t.Errorf("hashes %s and %s: same = %v, want %v", old.Hash(), new.Hash(), same, tt.sameHash)
			}
			if !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(new.Hash()) {
				t.Errorf("Hash() = %q, want 12 hex digits", new.Hash())
			}
		})
	}
	if got := Diff(nil, base(t)); len(got) < 20 {
		t.Errorf("Diff(nil, cfg) = %v, want every key", got)
	}
}

func TestLeaderRatio(t *testing.T) {
	global := decimal.RequireFromString("0.1")
	tests := []struct {
		name, own, want string
	}{
		{"no override uses global", "0", "0.1"},
		{"override wins", "0.25", "0.25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := Leader{CopyRatio: decimal.RequireFromString(tt.own)}
			if got := l.Ratio(global); !got.Equal(decimal.RequireFromString(tt.want)) {
				t.Fatalf("Ratio = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestValidationErrorListsEveryProblemOnItsOwnLine(t *testing.T) {
	_, err := Parse([]byte("mode: real\nlog:\n  level: loud\n"))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v", err)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(verr.Problems) || len(lines) != 3 {
		t.Fatalf("got %d lines for %d problems, want 3:\n%v", len(lines), len(verr.Problems), err)
	}
	if want := `mode: bad value "real": want "paper" or "live"`; lines[0] != want {
		t.Fatalf("first line = %q, want %q", lines[0], want)
	}
	for _, key := range []string{"mode", "leaders", "log.level"} {
		if !verr.Has(key) {
			t.Errorf("no problem for %s", key)
		}
	}
}

func TestDefaultAloneNeedsALeader(t *testing.T) {
	var verr *ValidationError
	if err := Default().Validate(); !errors.As(err, &verr) || len(verr.Problems) != 1 || !verr.Has("leaders") {
		t.Fatalf("Default().Validate() = %v, want only the leaders problem", err)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Parse(b)
		if err != nil {
			return
		}
		// A config that validates renders and hashes without trouble, and
		// validates again.
		_ = cfg.Hash()
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that does not validate: %v", err)
		}
	})
}

// A misspelt variable would be ignored in silence while the operator believes it applied: one
// that looks meant for polybot's config is a problem that names the right variable. Variables
// of polybot's tools (POLYBOT_GETH) are left alone, and no value is shown (it may be a secret).
func TestUnknownEnvironmentVariablesAreProblems(t *testing.T) {
	path := writeFile(t, oneLeader)
	t.Setenv("POLYBOT_COPY_COPYRATIO", "0.5")
	t.Setenv("POLYBOT_CHAIN_RPC_URLL", "wss://node.example/s3cr3t")
	t.Setenv("POLYBOT_STATEDIR", "/tmp/x")
	t.Setenv("POLYBOT_GETH", "/usr/bin/geth")
	_, _, err := Load(path)
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want a ValidationError", err)
	}
	want := map[string]string{
		"POLYBOT_COPY_COPYRATIO": "did you mean POLYBOT_COPY_COPY_RATIO?",
		"POLYBOT_CHAIN_RPC_URLL": "did you mean POLYBOT_CHAIN_RPC_URL?",
		"POLYBOT_STATEDIR":       "did you mean POLYBOT_STATE_DIR?",
	}
	for _, p := range verr.Problems {
		if p.Key == "POLYBOT_GETH" {
			t.Errorf("a tool's variable is a problem: %+v", p)
		}
		if w, ok := want[p.Key]; ok {
			if !strings.Contains(p.Want, w) {
				t.Errorf("%s: %q, want %q", p.Key, p.Want, w)
			}
			delete(want, p.Key)
		}
	}
	for k := range want {
		t.Errorf("%s is not reported", k)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("the error shows a variable's value: %v", err)
	}
}

// A misspelt key in the file gets the key it was likely meant to be.
func TestAMisspeltKeyGetsASuggestion(t *testing.T) {
	_, err := Parse([]byte(oneLeader + "copy:\n  copy_ratoi: 0.2\n"))
	var verr *ValidationError
	if !errors.As(err, &verr) || !verr.Has("copy.copy_ratoi") {
		t.Fatalf("err = %v, want a problem with copy.copy_ratoi", err)
	}
	if !strings.Contains(err.Error(), `did you mean "copy_ratio"?`) {
		t.Fatalf("no suggestion: %v", err)
	}
}

// A reload's log shows each changed key with its old and new value, secrets redacted as
// check-config shows them.
func TestChangesGiveOldAndNewValuesRedacted(t *testing.T) {
	old, err := Parse([]byte(oneLeader + "chain:\n  rpc_url: wss://node.example/v2/0ldk3y\n"))
	if err != nil {
		t.Fatal(err)
	}
	next, err := Parse([]byte(oneLeader + "chain:\n  rpc_url: wss://node.example/v2/n3wk3y\ncopy:\n  copy_ratio: 0.25\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Change{}
	for _, c := range Changes(old, next) {
		got[c.Key] = c
	}
	if c := got["copy.copy_ratio"]; c.Old != old.Copy.CopyRatio.String() || c.New != "0.25" {
		t.Errorf("copy.copy_ratio change = %+v", c)
	}
	c, ok := got["chain.rpc_url"]
	if !ok {
		t.Fatalf("a change of the RPC URL's secret part is not reported: %+v", got)
	}
	if strings.Contains(c.Old+c.New, "k3y") {
		t.Errorf("the change shows the URL's secret: %+v", c)
	}
	if len(got) != 2 {
		t.Errorf("changes = %+v, want copy.copy_ratio and chain.rpc_url", got)
	}
}
