package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every invalid config case exits 78 (EX_CONFIG) from both check-config and run, before run does
// anything else, and the error names the key at fault.
func TestInvalidConfigsExit78NamingTheKey(t *testing.T) {
	files, err := filepath.Glob("../../internal/config/testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid config cases found: %v", err)
	}
	for _, f := range files {
		key := wantKey(t, f)
		for _, cmd := range []string{"check-config", "run"} {
			t.Run(filepath.Base(f)+" "+cmd, func(t *testing.T) {
				t.Setenv("NOTIFY_SOCKET", "") // run must not get as far as notifying anyone
				var stdout, stderr bytes.Buffer
				code := run([]string{cmd, "--config", f}, &stdout, &stderr)
				if code != exConfig {
					t.Fatalf("exit %d, want %d; stderr: %s", code, exConfig, stderr.String())
				}
				if !strings.Contains(stderr.String(), key) {
					t.Fatalf("error does not name %q: %s", key, stderr.String())
				}
				if stdout.Len() != 0 {
					t.Fatalf("printed a config for an invalid file: %s", stdout.String())
				}
			})
		}
	}
}

func wantKey(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Scan()
	key, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "# want-key:")
	if !ok {
		t.Fatalf("%s: first line is not '# want-key: <key>'", path)
	}
	return strings.TrimSpace(key)
}

func TestCheckConfigPrintsTheEffectiveConfigRedacted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "polybot.yaml")
	body := "chain:\n  rpc_url: wss://polygon.example.com/v2/s3cr3tapikey?token=abc\nleaders:\n  - address: 0x1000000000000000000000000000000000000001\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check-config", "--config", path}, &stdout, &stderr); code != exOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, secret := range []string{"s3cr3tapikey", "token=abc"} {
		if strings.Contains(out, secret) {
			t.Fatalf("check-config printed %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"polygon.example.com", "0x1000000000000000000000000000000000000001", "copy_ratio"} {
		if !strings.Contains(out, want) {
			t.Fatalf("check-config output lacks %q:\n%s", want, out)
		}
	}
}

func TestEnvironmentOverridesTheFile(t *testing.T) {
	t.Setenv("POLYBOT_COPY_COPY_RATIO", "0.25")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check-config", "--config", "../../configs/demo.yaml"}, &stdout, &stderr); code != exOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "copy_ratio: 0.25") {
		t.Fatalf("POLYBOT_COPY_COPY_RATIO not applied:\n%s", stdout.String())
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exOK || stdout.String() != "polybot "+version+"\n" {
			t.Errorf("polybot %s: exit %d, output %q", strings.Join(args, " "), code, stdout.String())
		}
	}
}

// The soak's --time-scale never runs with real money, nor with a scale that makes no sense.
func TestTimeScaleIsForPaperSoaksOnly(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	for _, c := range []struct {
		config, scale, want string
	}{
		{"../../configs/demo-live.yaml", "1440", "refused in live mode"},
		{"../../configs/demo.yaml", "0", "must be from 1 to 100000"},
	} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"run", "--config", c.config, "--time-scale", c.scale}, &stdout, &stderr)
		if code != exUsage || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("run --config %s --time-scale %s: exit %d, %q; want %d and %q", c.config, c.scale, code, stderr.String(), exUsage, c.want)
		}
	}
}

// A reload re-reads the config through the same path as the start, so the command line's
// --log-level and --log-format still override the file after `systemctl reload`.
func TestReloadKeepsTheCommandLineOverrides(t *testing.T) {
	path := filepath.Join(t.TempDir(), "polybot.yaml")
	body := "log:\n  level: info\n  format: json\nleaders:\n  - address: 0x1000000000000000000000000000000000000001\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	g := &globalFlags{configPath: path, logLevel: "debug", logFormat: "console"}
	cfg, err := reloader(g)()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Log.Level != "debug" || cfg.Log.Format != "console" {
		t.Fatalf("reloaded log level %q format %q, want the flags' debug and console", cfg.Log.Level, cfg.Log.Format)
	}
}

// Live mode without a signing key can place no order: check-config says so and run exits 78
// (EX_CONFIG, which the unit's RestartPreventExitStatus= honours) instead of exit 1 and five
// restarts. On a systemd install, check-config finds the key where the live drop-in's
// LoadCredential= reads it, as the daemon will.
func TestLiveModeWithoutAKeyIsAConfigError(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	dir := t.TempDir()
	old := installedCredentials
	installedCredentials = filepath.Join(dir, "credentials")
	t.Cleanup(func() { installedCredentials = old })
	path := filepath.Join(dir, "polybot.yaml")
	body := "mode: live\nstate_dir: " + filepath.Join(dir, "state") + "\nchain:\n  rpc_url: ws://127.0.0.1:1\nleaders:\n  - address: 0x1000000000000000000000000000000000000001\n" +
		"live:\n  signature_type: 0\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"check-config", "run"} {
		var stdout, stderr bytes.Buffer
		code := run([]string{cmd, "--config", path}, &stdout, &stderr)
		if code != exConfig || !strings.Contains(stderr.String(), "mode: live needs a signing key") || !strings.Contains(stderr.String(), "live.key_file") {
			t.Errorf("%s without a key: exit %d, stderr %q; want %d naming live.key_file", cmd, code, stderr.String(), exConfig)
		}
	}

	// The systemd install's key, readable by root only.
	if err := os.MkdirAll(installedCredentials, 0o700); err != nil {
		t.Fatal(err)
	}
	key := strings.Repeat("ab", 32)
	if err := os.WriteFile(filepath.Join(installedCredentials, "key"), []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check-config", "--config", path}, &stdout, &stderr); code != exOK {
		t.Fatalf("check-config with the installed key: exit %d: %s", code, stderr.String())
	}
	if strings.Contains(stdout.String()+stderr.String(), key) {
		t.Fatal("check-config printed the key")
	}
}

// check-config validates what the unit will run: the variables of its EnvironmentFile= (the
// config's name with .env) apply, so a bad value there is caught before a restart meets it,
// and the file's values are never printed.
func TestCheckConfigReadsTheUnitsEnvironmentFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "polybot.yaml")
	if err := os.WriteFile(path, []byte("leaders:\n  - address: 0x1000000000000000000000000000000000000001\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// t.Setenv restores what the env file sets in this process.
	t.Setenv("POLYBOT_CHAIN_RPC_URL", "")
	t.Setenv("POLYBOT_COPY_COPY_RATIO", "")
	env := filepath.Join(dir, "polybot.env")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(env, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("# the unit's secrets\nPOLYBOT_CHAIN_RPC_URL=\"wss://node.example/v2/s3cr3t\"\nPOLYBOT_COPY_COPY_RATIO=0.3\n")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"check-config", "--config", path}, &stdout, &stderr); code != exOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "copy_ratio: 0.3") || !strings.Contains(out, "node.example") ||
		!strings.Contains(out, "# environment from "+env+": POLYBOT_CHAIN_RPC_URL, POLYBOT_COPY_COPY_RATIO") {
		t.Errorf("the environment file was not applied:\n%s", out)
	}
	if strings.Contains(out, "s3cr3t") {
		t.Errorf("check-config printed a secret of the environment file:\n%s", out)
	}

	write("POLYBOT_COPY_COPY_RATIO=lots\n")
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"check-config", "--config", path}, &stdout, &stderr); code != exConfig || !strings.Contains(stderr.String(), "copy.copy_ratio") {
		t.Errorf("a bad value in the environment file: exit %d, %q; want %d naming copy.copy_ratio", code, stderr.String(), exConfig)
	}
}
