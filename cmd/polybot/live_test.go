package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/secrets"
	"github.com/polybot/polybot/internal/testing/clobsim"
	"github.com/polybot/polybot/internal/testing/sim"
)

// The key of the official order vectors (a well-known test key, no funds).
const vectorKey = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

func writeFile(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// liveEnv is polysim with its fake CLOB and a live config pointing at both.
type liveEnv struct {
	sim        *sim.Sim
	clob       *sim.CLOB
	dir        string
	configPath string
	creds      clob.Credentials
	keyHex     string
}

func startLive(t *testing.T, extra string) *liveEnv {
	t.Helper()
	s, err := sim.New(sim.Options{Leaders: 1})
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	sdone := make(chan error, 1)
	go func() { sdone <- s.Run(sctx) }()
	t.Cleanup(func() {
		scancel()
		if err := <-sdone; err != nil {
			t.Errorf("polysim: %v", err)
		}
	})
	if _, err := s.Commit(); err != nil { // a fresh head
		t.Fatal(err)
	}
	dir := t.TempDir()
	c, err := s.StartCLOB(sim.CLOBOptions{CredsDir: dir, Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	keyPath := filepath.Join(dir, secrets.KeyCredential)
	credsPath := filepath.Join(dir, secrets.APICredential)
	cfg := fmt.Sprintf(`mode: live
chain:
  chain_id: %d
  rpc_url: %s
leaders:
  - address: %s
live:
  clob_url: %s
  key_file: %s
  credentials_file: %s
%sstate_dir: %s
`, s.ChainID(), s.WSURL(), s.LeaderAddresses()[0].Hex(), c.URL(), keyPath, credsPath, extra, filepath.Join(dir, "state"))
	return &liveEnv{sim: s, clob: c, dir: dir, configPath: writeFile(t, filepath.Join(dir, "polybot.yaml"), cfg),
		creds: c.Credentials(), keyHex: hex.EncodeToString(crypto.FromECDSA(c.Key()))}
}

// forms are the ways a secret could leak: as is, upper case, and its hex and base64 encodings.
func forms(secret string) []string {
	out := []string{secret, strings.ToUpper(secret), hex.EncodeToString([]byte(secret)),
		base64.StdEncoding.EncodeToString([]byte(secret)), base64.RawURLEncoding.EncodeToString([]byte(secret))}
	if raw, err := base64.URLEncoding.DecodeString(secret); err == nil { // the HMAC key's bytes
		out = append(out, hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw))
	}
	if raw, err := hex.DecodeString(secret); err == nil && len(raw) > 0 { // a hex key's bytes
		out = append(out, base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw))
	}
	return out
}

func assertNoSecrets(t *testing.T, what, output string, secretValues ...string) {
	t.Helper()
	for _, s := range secretValues {
		for _, f := range forms(s) {
			if strings.Contains(output, f) {
				t.Fatalf("%s printed a secret (form %q…)", what, f[:6])
			}
		}
	}
}

func TestLiveCommandsNeverPrintSecrets(t *testing.T) {
	env := startLive(t, "")
	secretValues := []string{env.keyHex, env.creds.Secret, env.creds.Passphrase}

	saved := filepath.Join(env.dir, "derived.json")
	code, out, errOut := runCLI(t, "auth", "derive", "--save", saved, "--config", env.configPath, "--log-level", "debug")
	if code != exOK {
		t.Fatalf("auth derive --save: exit %d: %s", code, errOut)
	}
	assertNoSecrets(t, "auth derive --save", out+errOut, secretValues...)
	got, err := secrets.LoadCredentials(saved)
	if err != nil || got != env.creds {
		t.Fatalf("saved credentials differ: %v", err)
	}
	if fi, _ := os.Stat(saved); fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved with mode %o", fi.Mode().Perm())
	}

	code, out, errOut = runCLI(t, "order", "build", "--token", "1234", "--side", "BUY", "--price", "0.5", "--size", "10",
		"--tick-size", "0.01", "--offline", "--key-file", filepath.Join(env.dir, secrets.KeyCredential), "--owner", env.creds.APIKey)
	if code != exOK {
		t.Fatalf("order build: exit %d: %s", code, errOut)
	}
	assertNoSecrets(t, "order build", out+errOut, secretValues...)

	code, out, errOut = runCLI(t, "preflight", "--config", env.configPath, "--log-level", "debug")
	if code != exOK {
		t.Fatalf("preflight: exit %d:\n%s%s", code, out, errOut)
	}
	assertNoSecrets(t, "preflight", out+errOut, secretValues...)

	code, out, errOut = runCLI(t, "check-config", "--config", env.configPath, "--log-level", "debug")
	if code != exOK {
		t.Fatalf("check-config: exit %d: %s", code, errOut)
	}
	assertNoSecrets(t, "check-config", out+errOut, secretValues...)

	// The one deliberate exception: --print, on request, to stdout only.
	code, out, errOut = runCLI(t, "auth", "derive", "--print", "--config", env.configPath)
	if code != exOK {
		t.Fatalf("auth derive --print: exit %d: %s", code, errOut)
	}
	var printed map[string]string
	if err := json.Unmarshal([]byte(out), &printed); err != nil || printed["secret"] != env.creds.Secret || printed["passphrase"] != env.creds.Passphrase {
		t.Fatalf("--print did not print the credentials: %v", err)
	}
	assertNoSecrets(t, "auth derive --print (stderr)", errOut, secretValues...)
	assertNoSecrets(t, "auth derive --print (private key)", out, env.keyHex)
}

func TestPreflightPassesAgainstPolysim(t *testing.T) {
	env := startLive(t, "")
	token := env.sim.Markets()[0].String()
	code, out, errOut := runCLI(t, "preflight", "--config", env.configPath, "--token", token)
	if code != exOK {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	if !lineHas(out, "clob order version", "PASS", "GET /version = 2", "polybot signs order version 2") {
		t.Errorf("order version check does not say which version the CLOB announces and that polybot signs it:\n%s", out)
	}
	for _, name := range []string{"rpc chain id", "rpc head fresh", "clob order version", "clock skew", "signing key",
		"wallet type", "api credentials", "pusd balance", "pusd allowance", "ctf allowance"} {
		if !lineHas(out, name, "PASS") {
			t.Errorf("%q did not pass:\n%s", name, out)
		}
	}
}

func TestPreflightFailsWithAFix(t *testing.T) {
	env := startLive(t, "  signature_type: 2\n")
	env.clob.Server().SetVersion(1)
	code, out, _ := runCLI(t, "preflight", "--config", env.configPath)
	if code != exConfig { // a Safe signature type without the Safe as funder is a config error
		t.Fatalf("exit %d, want %d:\n%s", code, exConfig, out)
	}
	if !lineHas(out, "wallet type", "FAIL", "live.funder") {
		t.Errorf("funder check:\n%s", out)
	}
	if !lineHas(out, "clob order version", "FAIL", "GET /version = 1", "cannot sign", "upgrade polybot") {
		t.Errorf("version check:\n%s", out)
	}
	if !lineHas(out, "rpc chain id", "PASS") {
		t.Errorf("chain check:\n%s", out)
	}
}

func TestPreflightReportsMissingCredentials(t *testing.T) {
	env := startLive(t, "")
	if err := os.Remove(filepath.Join(env.dir, secrets.APICredential)); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "preflight", "--config", env.configPath)
	if code != exFail || !lineHas(out, "api credentials", "FAIL", "polybot auth derive") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if env.clob.Server().Requests(clobsim.RouteDeriveAPIKey)+env.clob.Server().Requests(clobsim.RouteCreateAPIKey) != 0 {
		t.Fatal("preflight derived credentials")
	}
}

func lineHas(out, prefix string, subs ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, prefix+" ") {
			continue
		}
		for _, s := range subs {
			if !strings.Contains(l, s) {
				return false
			}
		}
		return true
	}
	return false
}

// order build reproduces the official V2 and V1 signing vectors.
func TestOrderBuildReproducesTheVectors(t *testing.T) {
	keyFile := writeFile(t, filepath.Join(t.TempDir(), "key"), "0x"+vectorKey+"\n")
	for _, c := range []struct {
		name      string
		args      []string
		hash, sig string
	}{
		{"v2 polygon ctf", []string{"--protocol", "v2", "--chain-id", "137", "--timestamp", "1780449126930"},
			"0xf69f17dcabb49e64a79a669ea5336cd3ce518c083c821664f295c62e39baedec", ""},
		{"v2 polygon neg risk", []string{"--protocol", "v2", "--chain-id", "137", "--neg-risk", "--timestamp", "1780449126930"},
			"0x5bb895c919311d1a74e9a82901dd0af866a3cac5dcab70e48a302e2020042cf0", ""},
		{"v1 amoy", []string{"--protocol", "v1", "--chain-id", "80002", "--exchange", "0xdFE02Eb6733538f8Ea35D585af8DE5958AD99E40", "--fee-rate-bps", "100"},
			"0x02ca1d1aa31103804173ad1acd70066cb6c1258a4be6dada055111f9a7ea4e55",
			"0x302cd9abd0b5fcaa202a344437ec0b6660da984e24ae9ad915a592a90facf5a51bb8a873cd8d270f070217fea1986531d5eec66f1162a81f66e026db653bf7ce1c"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"order", "build", "--offline", "--json", "--key-file", keyFile, "--token", "1234", "--side", "BUY",
				"--salt", "479249096354", "--maker-amount", "100000000", "--taker-amount", "50000000"}, c.args...)
			code, out, errOut := runCLI(t, args...)
			if code != exOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got builtOrder
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatal(err)
			}
			if got.OrderHash != c.hash || (c.sig != "" && got.Signature != c.sig) {
				t.Fatalf("hash %s sig %s", got.OrderHash, got.Signature)
			}
			if strings.Contains(out, vectorKey) {
				t.Fatal("printed the key")
			}
		})
	}
}

func TestOrderBuildAmounts(t *testing.T) {
	keyFile := writeFile(t, filepath.Join(t.TempDir(), "key"), vectorKey)
	for _, c := range []struct {
		name         string
		args         []string
		maker, taker string
	}{
		{"limit buy", []string{"--side", "BUY", "--price", "0.24", "--size", "15", "--tick-size", "0.01"}, "3600000", "15000000"},
		{"limit sell", []string{"--side", "SELL", "--price", "0.56", "--size", "21.04", "--tick-size", "0.01"}, "21040000", "11782400"},
		{"market buy in usdc", []string{"--side", "BUY", "--price", "0.5", "--amount", "100", "--type", "FOK", "--tick-size", "0.01"}, "100000000", "200000000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append([]string{"order", "build", "--offline", "--json", "--key-file", keyFile, "--token", "1",
				"--owner", "00000000-0000-0000-0000-000000000000"}, c.args...)...)
			if code != exOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got builtOrder
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatal(err)
			}
			if got.MakerAmount != c.maker || got.TakerAmount != c.taker {
				t.Fatalf("maker %s taker %s", got.MakerAmount, got.TakerAmount)
			}
			if !strings.Contains(got.Body, `"makerAmount":"`+c.maker+`"`) || !strings.Contains(got.Body, `"owner":"00000000-`) {
				t.Fatalf("body %s", got.Body)
			}
		})
	}
	code, _, errOut := runCLI(t, "order", "build", "--offline", "--key-file", keyFile, "--token", "1", "--side", "SELL", "--price", "0.5",
		"--amount", "10", "--type", "FAK", "--tick-size", "0.01")
	if code != exUsage || !strings.Contains(errOut, "market SELL takes --size") {
		t.Fatalf("--amount on a SELL: exit %d: %s", code, errOut)
	}
	code, _, errOut = runCLI(t, "order", "build", "--offline", "--key-file", keyFile, "--token", "1", "--side", "BUY", "--price", "0.505",
		"--size", "10", "--tick-size", "0.01")
	if code != exUsage || !strings.Contains(errOut, "tick") {
		t.Fatalf("off-grid price: exit %d: %s", code, errOut)
	}
}
