package main

import (
	"bytes"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/admin"
)

// withGeoblockURL points the env's config at the fake CLOB's stand-in for Polymarket's
// geoblock endpoint (clobsim RouteGeoblock).
func withGeoblockURL(t *testing.T, env *liveEnv) {
	t.Helper()
	b, err := os.ReadFile(env.configPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(b), "live:\n", "live:\n  geoblock_url: "+env.clob.URL()+"/api/geoblock\n", 1)
	writeFile(t, env.configPath, cfg)
}

// restartPrevented is the exit statuses of the unit file's RestartPreventExitStatus= line.
func restartPrevented(t *testing.T, unit string) map[int]bool {
	t.Helper()
	b, err := os.ReadFile("../../deploy/" + unit)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^RestartPreventExitStatus=(.*)$`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("deploy/%s has no RestartPreventExitStatus=", unit)
	}
	out := map[int]bool{}
	for _, f := range strings.Fields(m[1]) {
		if n, err := strconv.Atoi(f); err == nil {
			out[n] = true
		}
	}
	return out
}

// TestPreflightExplainsARegionBlock: from a region Polymarket blocks, preflight fails the
// region check saying what (every order refused), why (the region) and what to do.
func TestPreflightExplainsARegionBlock(t *testing.T) {
	env := startLive(t, "")
	withGeoblockURL(t, env)
	env.clob.Server().SetGeoblocked(true)
	code, out, _ := runCLI(t, "preflight", "--config", env.configPath)
	if code != exFail {
		t.Fatalf("exit %d, want %d:\n%s", code, exFail, out)
	}
	if !lineHas(out, "region (geoblock)", "FAIL", "blocked", "refuses every order", "US/NY", "permitted region") {
		t.Fatalf("region check:\n%s", out)
	}
	env.clob.Server().SetGeoblocked(false)
	if code, out, _ = runCLI(t, "preflight", "--config", env.configPath); code != exOK || !lineHas(out, "region (geoblock)", "PASS") {
		t.Fatalf("exit %d once the region may trade:\n%s", code, out)
	}
}

// TestPreflightExplainsClosedOnlyMode: an account in closed-only mode fails preflight with what
// it means for copying (no BUY, exits go) and what to do.
func TestPreflightExplainsClosedOnlyMode(t *testing.T) {
	env := startLive(t, "")
	env.clob.Server().SetClosedOnly(crypto.PubkeyToAddress(env.clob.Key().PublicKey), true)
	code, out, _ := runCLI(t, "preflight", "--config", env.configPath)
	if code != exFail || !lineHas(out, "closed-only mode", "FAIL", "copies no BUY", "exits still go", "support") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}

// TestRunInABlockedRegionExitsWithoutARestartLoop: `polybot run` in live mode from a blocked
// region exits with a status the units' RestartPreventExitStatus= covers (no restart loop),
// and says what, why and what to do.
func TestRunInABlockedRegionExitsWithoutARestartLoop(t *testing.T) {
	env := startLive(t, "")
	withGeoblockURL(t, env)
	env.clob.Server().SetGeoblocked(true)
	code, _, errOut := runCLI(t, "run", "--config", env.configPath)
	for _, unit := range []string{"polybot.service", "polybot@.service"} {
		if !restartPrevented(t, unit)[code] {
			t.Errorf("exit %d is not in deploy/%s's RestartPreventExitStatus=: systemd would restart into the same block", code, unit)
		}
	}
	if code != exConfig {
		t.Errorf("exit %d, want %d (EX_CONFIG)", code, exConfig)
	}
	for _, want := range []string{"region", "blocked for US/NY", "refuses every order", "restarting cannot change it", "permitted region"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("message lacks %q:\n%s", want, errOut)
		}
	}
}

// TestStatusShowsWhatTheCLOBRestricts: `polybot status` prints the daemon's trading restriction
// (BUYs stopped, orders refused for the region) on its own line.
func TestStatusShowsWhatTheCLOBRestricts(t *testing.T) {
	var out bytes.Buffer
	why := "BUYs stopped: the account is in closed-only mode (the CLOB takes only orders that close positions); exits go on"
	printStatus(&out, &admin.Status{Executor: admin.Executor{CLOBBreaker: "CLOB breaker closed", Trading: why}}, "/run/polybot/admin.sock")
	if !lineHas(out.String(), "TRADING", why) {
		t.Fatalf("status:\n%s", out.String())
	}
}
