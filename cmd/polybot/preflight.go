package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/secrets"
)

// check is one preflight line: its result, what was found, and the fix when it failed.
type check struct {
	name   string
	result string // PASS, FAIL or SKIP
	detail string
	fix    string
	// config marks a failure of the config itself (a funder that is not the key's wallet of
	// the configured kind): preflight then exits 78, as the daemon's start does.
	config bool
}

func newPreflightCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	var token string
	cmd := &cobra.Command{
		Use:   "preflight",
		Short: "Check everything live trading needs and print a table with a fix for each failure",
		Long: `Check the chain RPC (chain id, fresh head), the region (Polymarket's geoblock endpoint,
live.geoblock_url), the wallet live.funder is to the signing key (EOA, Polymarket proxy, Gnosis
Safe or deposit wallet, derived from the key and cross-checked with the code on chain), its pUSD
balance and its pUSD and outcome token approvals on chain, and the CLOB (protocol version, clock
skew, API credentials, closed-only mode, the balance and allowances it sees). Exits 78
(EX_CONFIG) when live.funder is not the key's wallet of live.signature_type's kind, 1 when any
other check fails. Nothing is traded or derived.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := loadConfig(g)
			if err != nil {
				return err
			}
			cfg = withInstalledSecrets(cfg)
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			checks := preflight(ctx, cfg, token)
			failed := printChecks(stdout, checks)
			for _, c := range checks {
				if c.config && c.result == "FAIL" {
					return &exitError{code: exConfig, err: fmt.Errorf("invalid config: %s: %s", c.detail, c.fix)}
				}
			}
			if failed > 0 {
				return &exitError{code: exFail, err: fmt.Errorf("preflight: %d check(s) failed", failed)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&token, "token", "", "an outcome token id: also check the CTF (outcome token) approvals")
	return cmd
}

func printChecks(w io.Writer, checks []check) int {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tDETAIL\tFIX")
	failed := 0
	for _, c := range checks {
		if c.result == "FAIL" {
			failed++
		}
		fix := c.fix
		if c.result != "FAIL" || fix == "" {
			fix = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.name, c.result, oneLine(c.detail), oneLine(fix))
	}
	_ = tw.Flush()
	return failed
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func pass(name, detail string) check { return check{name: name, result: "PASS", detail: detail} }
func fail(name, detail, fix string) check {
	return check{name: name, result: "FAIL", detail: detail, fix: fix}
}
func skip(name, why string) check { return check{name: name, result: "SKIP", detail: why} }

// preflight runs every check; one failing does not stop the others that do not depend on it.
func preflight(ctx context.Context, cfg *config.Config, token string) []check {
	out := chainChecks(ctx, cfg)
	out = append(out, regionCheck(ctx, cfg))
	key, keyOut := keyChecks(cfg)
	out = append(out, keyOut...)
	if key != nil {
		out = append(out, walletChecks(ctx, cfg, crypto.PubkeyToAddress(key.PublicKey))...)
	}
	return append(out, clobChecks(ctx, cfg, key, token)...)
}

// chainChecks checks that chain.rpc_url serves chain.chain_id and a fresh head.
func chainChecks(ctx context.Context, cfg *config.Config) []check {
	rpc, err := chain.Dial(ctx, cfg.Chain.RPCURL, cfg.Chain.ChainID, cfg.Chain.DialTimeout)
	if err != nil {
		return []check{
			fail("rpc chain id", err.Error(), "point chain.rpc_url at a node of chain "+fmt.Sprint(cfg.Chain.ChainID)+" (or fix chain.chain_id)"),
			skip("rpc head fresh", "no RPC connection"),
		}
	}
	defer rpc.Close()
	out := []check{pass("rpc chain id", fmt.Sprintf("node serves chain %d", cfg.Chain.ChainID))}
	hctx, cancel := context.WithTimeout(ctx, cfg.Chain.RPCTimeout)
	h, err := rpc.HeaderByNumber(hctx, nil)
	cancel()
	if err != nil {
		return append(out, fail("rpc head fresh", "read the head: "+err.Error(), "check the node's health or use another chain.rpc_url"))
	}
	age := time.Since(time.Unix(int64(h.Time), 0)).Truncate(time.Second)
	if age > cfg.Chain.HeadStaleAfter {
		return append(out, fail("rpc head fresh", fmt.Sprintf("head %d is %s old", h.Number, age), "the node is behind: wait for it to sync or use another chain.rpc_url"))
	}
	return append(out, pass("rpc head fresh", fmt.Sprintf("head %d, %s old", h.Number, age)))
}

// keyChecks loads the signing key; walletChecks then check the funder and signature type
// against it. The key is nil when it cannot be loaded.
func keyChecks(cfg *config.Config) (*ecdsa.PrivateKey, []check) {
	key, err := secrets.LoadKey(secrets.KeyOptions{KeyFile: cfg.Live.KeyFile, KeystoreFile: cfg.Live.KeystoreFile, PassphraseFile: cfg.Live.PassphraseFile})
	if err != nil {
		return nil, []check{
			fail("signing key", err.Error(), "set live.key_file (hex, 0600) or live.keystore_file with live.passphrase_file, or run under systemd with LoadCredential=polybot-key:<path>"),
			skip("wallet type", "no signing key"),
		}
	}
	signer := crypto.PubkeyToAddress(key.PublicKey)
	return key, []check{pass("signing key", "signer "+signer.Hex())}
}

// checkOrderVersion names the check of the order version GET /version announces (polybot
// signs 2 and 3).
const checkOrderVersion = "clob order version"

// clobChecks checks the CLOB's order version and clock, then, with a signing key, the
// account (accountChecks).
func clobChecks(ctx context.Context, cfg *config.Config, key *ecdsa.PrivateKey, token string) []check {
	c, err := clob.NewClient(clob.Options{BaseURL: cfg.Live.ClobURL, ChainID: int64(cfg.Chain.ChainID), Key: key, Timeout: cfg.Live.RequestTimeout, MaxRetries: -1})
	if err != nil {
		return []check{fail(checkOrderVersion, err.Error(), "fix live.clob_url")}
	}
	defer c.Close()
	var out []check
	switch v, err := c.Version(ctx); {
	case err != nil:
		out = append(out, fail(checkOrderVersion, "check CLOB protocol version: "+err.Error(), "check that live.clob_url is reachable"))
	case v != 2 && v != 3:
		out = append(out, fail(checkOrderVersion,
			fmt.Sprintf("GET /version = %d: %s announces order version %d, which polybot cannot sign (it signs 2 and 3); "+
				"polybot run would start with BUYs stopped (and exits waiting) until it announces 2 or 3", v, cfg.Live.ClobURL, v),
			"upgrade polybot to a release that signs order version "+fmt.Sprint(v)+", or check that live.clob_url is Polymarket's CLOB"))
	default:
		out = append(out, pass(checkOrderVersion, fmt.Sprintf("GET /version = %d: polybot signs order version %d", v, v)))
	}
	if skew, err := c.ClockSkew(ctx); err != nil {
		out = append(out, fail("clock skew", err.Error(), "check that live.clob_url is reachable"))
	} else if skew > clob.ClockSkewWarning || skew < -clob.ClockSkewWarning {
		out = append(out, fail("clock skew", fmt.Sprintf("local clock is %s off the CLOB's", -skew), "synchronise the clock (systemd-timesyncd or chrony)"))
	} else {
		out = append(out, pass("clock skew", fmt.Sprintf("%s", skew)))
	}
	if key == nil {
		for _, n := range []string{"api credentials", "pusd balance", "pusd allowance", "ctf allowance"} {
			out = append(out, skip(n, "no signing key"))
		}
		return out
	}
	return append(out, accountChecks(ctx, cfg, c, crypto.PubkeyToAddress(key.PublicKey), token)...)
}

// accountChecks checks the API credentials, the funder's pUSD balance and allowances and,
// with token, the outcome token approvals.
func accountChecks(ctx context.Context, cfg *config.Config, c *clob.Client, signer common.Address, token string) []check {
	var out []check
	add := func(c check) { out = append(out, c) }
	creds, err := secrets.LoadCredentials(cfg.Live.CredentialsFile)
	if err == nil {
		err = c.SetCredentials(creds)
	}
	if err != nil {
		add(fail("api credentials", err.Error(), "run polybot auth derive --save <live.credentials_file> (or set live.credentials_file)"))
		for _, n := range []string{"pusd balance", "pusd allowance", "ctf allowance"} {
			add(skip(n, "no API credentials"))
		}
		return out
	}
	st := cfg.Live.SignatureType
	ba, err := c.BalanceAllowance(ctx, clob.AssetCollateral, "", st)
	if err != nil {
		fix := "check the CLOB's status"
		if clob.KindOf(err) == clob.KindAuth {
			fix = "the credentials are not this key's: run polybot auth derive --save <live.credentials_file>"
		}
		add(fail("api credentials", err.Error(), fix))
		for _, n := range []string{"pusd balance", "pusd allowance", "ctf allowance"} {
			add(skip(n, "authenticated call failed"))
		}
		return out
	}
	add(pass("api credentials", "authenticated GET /balance-allowance succeeded"))
	add(closedOnlyCheck(ctx, c))
	if ba.Balance.IsPositive() {
		add(pass("pusd balance", units(ba.Balance)+" pUSD"))
	} else {
		add(fail("pusd balance", "0 pUSD", "deposit pUSD to "+makerOf(order.SignatureType(st), signer, cfg.Live.Funder).Hex()))
	}
	exchanges := []common.Address{cfg.Live.CTFExchange, cfg.Live.NegRiskExchange}
	add(allowanceCheck("pusd allowance", ba, exchanges, "approve pUSD for both V2 exchanges (live.ctf_exchange and live.neg_risk_exchange) from the funder wallet"))
	if token == "" {
		add(skip("ctf allowance", "pass --token ID to check the outcome token approvals"))
		return out
	}
	tba, err := c.BalanceAllowance(ctx, clob.AssetConditional, token, st)
	if err != nil {
		add(fail("ctf allowance", err.Error(), "check --token"))
	} else {
		add(allowanceCheck("ctf allowance", tba, exchanges, "setApprovalForAll on the CTF contract for both V2 exchanges from the funder wallet"))
	}
	return out
}

func makerOf(st order.SignatureType, signer, funder common.Address) common.Address {
	if st == order.EOA {
		return signer
	}
	return funder
}

// allowanceCheck passes when every exchange may spend: per exchange when the CLOB lists
// allowances by spender, else the single allowance.
func allowanceCheck(name string, ba *clob.BalanceAllowance, exchanges []common.Address, fix string) check {
	var missing []string
	if ba.Allowances != nil {
		for _, ex := range exchanges {
			if a, ok := ba.Allowances[ex]; !ok || !a.IsPositive() {
				missing = append(missing, ex.Hex())
			}
		}
	} else if !ba.Allowance.IsPositive() {
		for _, ex := range exchanges {
			missing = append(missing, ex.Hex())
		}
	}
	if len(missing) > 0 {
		return fail(name, "no allowance for "+strings.Join(missing, ", "), fix)
	}
	return pass(name, "both V2 exchanges approved")
}

func units(d decimal.Decimal) string { return d.Shift(-6).String() }
