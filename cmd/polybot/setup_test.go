package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/secrets"
)

// setupConfig writes, in a fresh directory, the paper config a newcomer has after the demo,
// pointed at polysim and its fake CLOB: no key, no credentials, no live settings but the URL.
func setupConfig(t *testing.T, env *liveEnv, extraLive string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	body := fmt.Sprintf(`# my polybot
chain:
  chain_id: %d
  rpc_url: %s
leaders:
  - address: %s # the one I follow
live:
  clob_url: %s
%sstate_dir: %s
`, env.sim.ChainID(), env.sim.WSURL(), env.sim.LeaderAddresses()[0].Hex(), env.clob.URL(), extraLive, filepath.Join(dir, "state"))
	return dir, writeFile(t, filepath.Join(dir, "polybot.yaml"), body)
}

func runSetupCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	old := setupStdin
	setupStdin = strings.NewReader(stdin)
	defer func() { setupStdin = old }()
	return runCLI(t, append([]string{"setup"}, args...)...)
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != want {
		t.Fatalf("%s has mode %o, want %o", path, fi.Mode().Perm(), want)
	}
}

func TestSetupFromAKeyOnStdinToTheFirstCommand(t *testing.T) {
	env := startLive(t, "")
	dir, cfgPath := setupConfig(t, env, "")
	secretValues := []string{env.keyHex, env.creds.Secret, env.creds.Passphrase}

	code, out, errOut := runSetupCLI(t, "0x"+env.keyHex+"\n", "--config", cfgPath)
	if code != exOK {
		t.Fatalf("setup: exit %d:\n%s%s", code, out, errOut)
	}
	assertNoSecrets(t, "setup", out+errOut, secretValues...)

	keyPath := filepath.Join(dir, secrets.KeyCredential)
	wantMode(t, keyPath, 0o600)
	key, err := secrets.LoadKey(secrets.KeyOptions{KeyFile: keyPath})
	if err != nil || hex.EncodeToString(crypto.FromECDSA(key)) != env.keyHex {
		t.Fatalf("the key file does not hold the key given: %v", err)
	}
	credsPath := filepath.Join(dir, secrets.APICredential+".json")
	wantMode(t, credsPath, 0o600)
	if got, err := secrets.LoadCredentials(credsPath); err != nil || got != env.creds {
		t.Fatalf("saved credentials are not the account's: %v", err)
	}

	cfg, _, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Mode != config.ModeLive || cfg.Live.KeyFile != keyPath || cfg.Live.CredentialsFile != credsPath || cfg.Live.SignatureType != 0 {
		t.Fatalf("config: mode %s key_file %q credentials_file %q signature_type %d", cfg.Mode, cfg.Live.KeyFile, cfg.Live.CredentialsFile, cfg.Live.SignatureType)
	}
	if b, _ := os.ReadFile(cfgPath); !strings.Contains(string(b), "# the one I follow") {
		t.Errorf("the config's comments were lost:\n%s", b)
	}
	if code, _, errOut := runCLI(t, "check-config", "--config", cfgPath); code != exOK {
		t.Fatalf("check-config refuses what setup wrote: exit %d: %s", code, errOut)
	}
	_, table, ok := strings.Cut(out, "\npreflight:\n")
	for _, name := range []string{"signing key", "api credentials", "pusd balance"} {
		if !ok || !lineHas(table, name, "PASS") {
			t.Errorf("preflight %q did not pass:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "EOA (signature type 0) assumed") || !strings.Contains(out, "--signature-type 3") {
		t.Errorf("setup does not say the wallet type was assumed and how to change it:\n%s", out)
	}
	next := "polybot check-config --config " + cfgPath + " && polybot run --config " + cfgPath
	if !strings.Contains(out, next) {
		t.Errorf("no next command %q:\n%s", next, out)
	}

	// Again with the same key: nothing to do, nothing replaced.
	before, _ := os.ReadFile(cfgPath)
	if code, out, errOut := runSetupCLI(t, env.keyHex, "--config", cfgPath); code != exOK || !strings.Contains(out, "already") {
		t.Fatalf("second setup: exit %d:\n%s%s", code, out, errOut)
	}
	if after, _ := os.ReadFile(cfgPath); string(after) != string(before) {
		t.Errorf("a second setup rewrote the config")
	}

	// Another key is not written over the first without --force.
	other, _ := crypto.GenerateKey()
	code, out, errOut = runSetupCLI(t, hex.EncodeToString(crypto.FromECDSA(other)), "--config", cfgPath)
	if code == exOK || !strings.Contains(errOut, "--force") {
		t.Fatalf("another key: exit %d, want a refusal naming --force:\n%s%s", code, out, errOut)
	}
	if key, err := secrets.LoadKey(secrets.KeyOptions{KeyFile: keyPath}); err != nil || hex.EncodeToString(crypto.FromECDSA(key)) != env.keyHex {
		t.Fatalf("the key file was replaced without --force")
	}
}

func TestSetupRefusesBadKeysWithoutQuotingThem(t *testing.T) {
	env := startLive(t, "")
	dir, cfgPath := setupConfig(t, env, "")
	bad := strings.Repeat("z", 64)
	for _, in := range []string{"", bad, env.keyHex[:40]} {
		code, out, errOut := runSetupCLI(t, in, "--config", cfgPath)
		if code != exUsage {
			t.Errorf("key %d chars: exit %d, want %d:\n%s%s", len(in), code, exUsage, out, errOut)
		}
		assertNoSecrets(t, "setup with a bad key", out+errOut, bad, env.keyHex[:40])
	}
	if _, err := os.Stat(filepath.Join(dir, secrets.KeyCredential)); err == nil {
		t.Errorf("a key file was written from a bad key")
	}
}

func TestSetupKeepsAConfigValueThatDiffers(t *testing.T) {
	env := startLive(t, "")
	_, cfgPath := setupConfig(t, env, "  credentials_file: /srv/elsewhere/api.json\n")
	before, _ := os.ReadFile(cfgPath)
	code, out, errOut := runSetupCLI(t, env.keyHex, "--config", cfgPath)
	if code != exConfig || !strings.Contains(errOut, "live.credentials_file") || !strings.Contains(errOut, "--force") {
		t.Fatalf("exit %d, want %d naming live.credentials_file and --force:\n%s%s", code, exConfig, out, errOut)
	}
	if after, _ := os.ReadFile(cfgPath); string(after) != string(before) {
		t.Fatalf("the config was changed without --force")
	}
	if code, out, errOut := runSetupCLI(t, env.keyHex, "--config", cfgPath, "--force"); code != exOK {
		t.Fatalf("--force: exit %d:\n%s%s", code, out, errOut)
	}
	if cfg, _, err := config.Load(cfgPath); err != nil || cfg.Live.CredentialsFile == "/srv/elsewhere/api.json" {
		t.Fatalf("--force did not replace live.credentials_file: %v", err)
	}
}

func TestSetupImportsAKeystore(t *testing.T) {
	env := startLive(t, "")
	dir, cfgPath := setupConfig(t, env, "")
	key, err := crypto.HexToECDSA(env.keyHex)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keystore.EncryptKey(&keystore.Key{Address: crypto.PubkeyToAddress(key.PublicKey), PrivateKey: key}, "correct horse", keystore.LightScryptN, keystore.LightScryptP)
	if err != nil {
		t.Fatal(err)
	}
	ksPath := writeFile(t, filepath.Join(dir, "keystore.json"), string(ks))
	passPath := writeFile(t, filepath.Join(dir, "pass"), "correct horse\n")
	code, out, errOut := runSetupCLI(t, "", "--config", cfgPath, "--keystore", ksPath, "--passphrase-file", passPath)
	if code != exOK {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	assertNoSecrets(t, "setup --keystore", out+errOut, env.keyHex, env.creds.Secret, env.creds.Passphrase, "correct horse")
	cfg, _, err := config.Load(cfgPath)
	if err != nil || cfg.Live.KeystoreFile != ksPath || cfg.Live.PassphraseFile != passPath || cfg.Live.KeyFile != "" {
		t.Fatalf("config does not use the keystore: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, secrets.KeyCredential)); err == nil {
		t.Errorf("a plain key file was written beside the keystore")
	}
}

func TestSetupSystemdWritesTheInstalledCredentials(t *testing.T) {
	env := startLive(t, "")
	_, cfgPath := setupConfig(t, env, "")
	old := installedCredentials
	installedCredentials = filepath.Join(t.TempDir(), "credentials")
	defer func() { installedCredentials = old }()

	code, out, errOut := runSetupCLI(t, env.keyHex, "--config", cfgPath, "--systemd")
	if code != exOK {
		t.Fatalf("setup --systemd: exit %d:\n%s%s", code, out, errOut)
	}
	assertNoSecrets(t, "setup --systemd", out+errOut, env.keyHex, env.creds.Secret, env.creds.Passphrase)
	wantMode(t, installedCredentials, 0o700)
	wantMode(t, filepath.Join(installedCredentials, "key"), 0o600)
	wantMode(t, filepath.Join(installedCredentials, "api"), 0o600)
	cfg, _, err := config.Load(cfgPath)
	if err != nil || cfg.Mode != config.ModeLive || cfg.Live.KeyFile != "" || cfg.Live.CredentialsFile != "" {
		t.Fatalf("the systemd config must name no secret file (the unit's LoadCredential= does): %v", err)
	}
	for _, want := range []string{"polybot.service.d/live.conf", "systemctl daemon-reload", "systemctl start polybot"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the next steps:\n%s", want, out)
		}
	}
	// preflight and auth derive, run by hand, find what the unit will be given.
	if code, out, errOut := runCLI(t, "preflight", "--config", cfgPath); code != exOK || !lineHas(out, "api credentials", "PASS") {
		t.Fatalf("preflight with the installed credentials: exit %d:\n%s%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "auth", "derive", "--config", cfgPath); code != exOK || !strings.Contains(errOut, filepath.Join(installedCredentials, "api")) {
		t.Fatalf("auth derive with the installed key: exit %d: %s", code, errOut)
	}
}

func TestSetupAsksForWhatItCannotDerive(t *testing.T) {
	env := startLive(t, "")
	dir, cfgPath := setupConfig(t, env, "")
	for _, args := range [][]string{
		{"--signature-type", "3"},                        // no deposit wallet factory on polysim's chain
		{"--signature-type", "2"},                        // no Safe factory on polysim's chain
		{"--funder", env.sim.LeaderAddresses()[0].Hex()}, // a funder without its type
	} {
		code, out, errOut := runSetupCLI(t, env.keyHex, append([]string{"--config", cfgPath}, args...)...)
		if code != exUsage || !strings.Contains(errOut, "--") {
			t.Errorf("%v: exit %d, want %d with the flag to give:\n%s%s", args, code, exUsage, out, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, secrets.KeyCredential)); err == nil {
		t.Errorf("setup wrote the key before it knew the wallet")
	}
}

// codeAt is a chain on which code is deployed at the given addresses only.
type codeAt map[common.Address]bool

func (c codeAt) CodeAt(_ context.Context, a common.Address, _ *big.Int) ([]byte, error) {
	if c[a] {
		return []byte{0x60, 0x80}, nil
	}
	return nil, nil
}

// On Polygon the funder follows from the signer: the wallet deployed for it is the one used,
// and a funder that is not the signer's own wallet is refused before the exchange refuses it.
func TestSetupDetectsTheWalletOnPolygon(t *testing.T) {
	signer := common.HexToAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
	proxy, safe := polymarket.ProxyWallet(signer), polymarket.SafeWallet(signer)
	deposit, legacy := polymarket.DepositWallet(signer), polymarket.DepositWalletUUPS(signer)
	detect := func(chainCode codeAt, o setupOptions) (int, common.Address, string, error) {
		return detectWalletWith(context.Background(), polymarket.PolygonChainID, signer, o,
			func() (codeReader, func(), error) { return chainCode, func() {}, nil })
	}
	auto := setupOptions{signatureType: -1}
	for _, c := range []struct {
		name   string
		code   codeAt
		o      setupOptions
		st     int
		funder common.Address
		err    bool
	}{
		{"safe deployed", codeAt{safe: true}, auto, 2, safe, false},
		{"proxy deployed", codeAt{proxy: true}, auto, 1, proxy, false},
		{"neither: EOA assumed", codeAt{}, auto, 0, common.Address{}, false},
		{"both: ask", codeAt{proxy: true, safe: true}, auto, 0, common.Address{}, true},
		{"type 2 given, funder derived", codeAt{}, setupOptions{signatureType: 2}, 2, safe, false},
		{"type 1 with another funder", codeAt{}, setupOptions{signatureType: 1, funder: safe.Hex()}, 0, common.Address{}, true},
		{"a Safe given as the deposit wallet", codeAt{}, setupOptions{signatureType: 3, funder: safe.Hex()}, 0, common.Address{}, true},
		{"deposit wallet given", codeAt{}, setupOptions{signatureType: 3, funder: deposit.Hex()}, 3, deposit, false},
		{"legacy deposit wallet given", codeAt{}, setupOptions{signatureType: 3, funder: legacy.Hex()}, 3, legacy, false},
		{"type 3 given, funder derived", codeAt{}, setupOptions{signatureType: 3}, 3, deposit, false},
		{"deposit wallet deployed", codeAt{deposit: true}, auto, 3, deposit, false},
		{"legacy deposit wallet deployed", codeAt{legacy: true}, auto, 3, legacy, false},
		{"safe and deposit wallet: ask", codeAt{safe: true, deposit: true}, auto, 0, common.Address{}, true},
	} {
		st, funder, note, err := detect(c.code, c.o)
		if (err != nil) != c.err || st != c.st || funder != c.funder {
			t.Errorf("%s: type %d funder %s (%s) err %v; want type %d funder %s err %v", c.name, st, funder.Hex(), note, err, c.st, c.funder.Hex(), c.err)
		}
	}
}
