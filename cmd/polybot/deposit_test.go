package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A deposit-wallet user who derives the API key (setup or auth derive) is told how the key is
// bound and what the CLOB may still want; other wallet types are not.
func TestDepositWalletUsersAreToldHowTheKeyIsBound(t *testing.T) {
	env := startLive(t, "")
	owner := env.clob.Address().Hex()
	const wallet = "0x00000000000000000000000000000000DeC0dE03"
	base, err := os.ReadFile(env.configPath)
	if err != nil {
		t.Fatal(err)
	}
	deposit := writeFile(t, filepath.Join(env.dir, "deposit.yaml"),
		strings.Replace(string(base), "live:\n", "live:\n  signature_type: 3\n  funder: \""+wallet+"\"\n", 1))
	for _, c := range []struct {
		name, config string
		want         bool
	}{{"signature type 0", env.configPath, false}, {"signature type 3", deposit, true}} {
		code, out, errOut := runCLI(t, "auth", "derive", "--save", filepath.Join(env.dir, "derived.json"), "--config", c.config)
		if code != exOK {
			t.Fatalf("%s: auth derive: exit %d: %s", c.name, code, errOut)
		}
		got := strings.Contains(errOut, "bound to the owner key "+owner) && strings.Contains(errOut, "docs/live-trading.md")
		if got != c.want {
			t.Errorf("%s: note shown %v, want %v:\n%s%s", c.name, got, c.want, out, errOut)
		}
	}

	_, cfgPath := setupConfig(t, env, "")
	_, out, errOut := runSetupCLI(t, env.keyHex+"\n", "--config", cfgPath, "--signature-type", "3", "--funder", wallet)
	if !strings.Contains(out, "bound to the owner key "+owner) || !strings.Contains(out, "Polymarket has enabled API trading") {
		t.Errorf("setup --signature-type 3 does not say how the key is bound:\n%s%s", out, errOut)
	}
}
