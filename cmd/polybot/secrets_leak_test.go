package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/clobsim"
	"github.com/polybot/polybot/internal/testing/sim"
)

// syncBuffer is a bytes.Buffer the daemon's goroutines and the test may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// secretForms returns every spelling of a secret a careless log line could carry: as is, in
// hex (upper and lower case, with and without 0x) and in padded and raw standard and URL base64.
func secretForms(name string, raw []byte, text string) map[string]string {
	forms := map[string]string{}
	add := func(how, s string) {
		if len(s) >= 8 { // shorter spellings match by chance
			forms[name+" as "+how] = s
		}
	}
	if text != "" {
		add("text", text)
	}
	h := hex.EncodeToString(raw)
	add("hex", h)
	add("0x hex", "0x"+h)
	add("upper-case hex", strings.ToUpper(h))
	add("base64", base64.StdEncoding.EncodeToString(raw))
	add("raw base64", base64.RawStdEncoding.EncodeToString(raw))
	add("base64url", base64.URLEncoding.EncodeToString(raw))
	add("raw base64url", base64.RawURLEncoding.EncodeToString(raw))
	return forms
}

// leaks names the forms of the secrets found in what.
func leaks(what []byte, forms map[string]string) []string {
	var found []string
	lower := bytes.ToLower(what)
	for name, s := range forms {
		if bytes.Contains(what, []byte(s)) || (isHex(s) && bytes.Contains(lower, []byte(strings.ToLower(s)))) {
			found = append(found, name)
		}
	}
	return found
}

// scanForSecrets fails for every form of every secret found in what.
func scanForSecrets(t *testing.T, where string, what []byte, forms map[string]string) {
	t.Helper()
	for _, name := range leaks(what, forms) {
		t.Errorf("%s holds the %s", where, name)
	}
}

func isHex(s string) bool {
	_, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	return err == nil
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// TestNoCommandLeaksTheSecrets runs polybot's commands in live mode against polysim and its
// fake CLOB, with a known private key and API credentials in 0600 files, at debug level. No
// output, log line, state file, status answer or metrics scrape may hold the key, the API secret
// or the passphrase in any common encoding.
func TestNoCommandLeaksTheSecrets(t *testing.T) {
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
	fake, err := s.StartCLOB(sim.CLOBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)

	dir, err := os.MkdirTemp("", "pbleak") // short: a unix socket path holds 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	secretsDir, stateDir := filepath.Join(dir, "secrets"), filepath.Join(dir, "state")
	if err := os.Mkdir(secretsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	keyBytes := crypto.FromECDSA(fake.Key())
	creds := fake.Credentials()
	keyFile, credsFile := filepath.Join(secretsDir, "key"), filepath.Join(secretsDir, "api.json")
	if err := os.WriteFile(keyFile, []byte("0x"+hex.EncodeToString(keyBytes)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	credsJSON, _ := json.Marshal(map[string]string{"apiKey": creds.APIKey, "secret": creds.Secret, "passphrase": creds.Passphrase})
	if err := os.WriteFile(credsFile, credsJSON, 0o600); err != nil {
		t.Fatal(err)
	}
	secretRaw, err := base64.URLEncoding.DecodeString(creds.Secret)
	if err != nil {
		secretRaw, _ = base64.StdEncoding.DecodeString(creds.Secret)
	}
	forms := secretForms("private key", keyBytes, "")
	for k, v := range secretForms("API secret", secretRaw, creds.Secret) {
		forms[k] = v
	}
	for k, v := range secretForms("passphrase", []byte(creds.Passphrase), creds.Passphrase) {
		forms[k] = v
	}

	// The scan must be able to fail: it finds the secrets in their own files.
	if len(leaks([]byte("0x"+hex.EncodeToString(keyBytes)), forms)) == 0 || len(leaks(credsJSON, forms)) < 2 {
		t.Fatal("the scan does not find the secrets in the files that hold them")
	}

	leader := s.LeaderAddresses()[0]
	metricsAddr := freePort(t)
	sock := filepath.Join(dir, "admin.sock")
	cfgPath := filepath.Join(dir, "polybot.yaml")
	cfgBody := fmt.Sprintf(`mode: live
state_dir: %s
log:
  level: debug
chain:
  rpc_url: %s
  chain_id: %d
leaders:
  - address: %s
    name: alice
copy:
  copy_ratio: 1
  max_trade_usdc: 1000000
live:
  clob_url: %s
  key_file: %s
  credentials_file: %s
metrics:
  listen: %s
admin:
  socket: %s
`, stateDir, s.WSURL(), s.ChainID(), leader.Hex(), fake.URL(), keyFile, credsFile, metricsAddr, sock)
	if err := os.WriteFile(cfgPath, []byte(cfgBody), 0o600); err != nil {
		t.Fatal(err)
	}

	outputs := map[string][]byte{}
	cli := func(args ...string) int {
		var stdout, stderr bytes.Buffer
		code := run(args, &stdout, &stderr)
		name := fmt.Sprintf("#%d %s", len(outputs)/2+1, strings.Join(args, " "))
		outputs[name+" stdout"] = stdout.Bytes()
		outputs[name+" stderr"] = stderr.Bytes()
		return code
	}

	if code := cli("check-config", "--config", cfgPath, "--log-level", "debug"); code != exOK {
		t.Fatalf("check-config: exit %d", code)
	}
	cli("preflight", "--config", cfgPath, "--log-level", "debug")
	cli("auth", "derive", "--config", cfgPath, "--log-level", "debug", "--save", filepath.Join(secretsDir, "derived.json"))
	cli("order", "build", "--offline", "--key-file", keyFile, "--token", s.Markets()[0].String(), "--side", "BUY",
		"--price", "0.5", "--size", "10", "--tick-size", "0.01", "--owner", creds.APIKey, "--json")

	// The daemon, in this process: run until SIGTERM, which its signal.NotifyContext catches.
	var runOut, runErr syncBuffer
	runDone := make(chan int, 1)
	go func() { runDone <- run([]string{"run", "--config", cfgPath, "--log-level", "debug"}, &runOut, &runErr) }()
	waitUntil(t, "the daemon's admin socket", func() bool {
		select {
		case code := <-runDone:
			t.Fatalf("run exited %d before it was up: %s", code, runErr.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := admin.Fetch(ctx, sock)
		return err == nil
	})
	if _, err := s.EmitMatch(sim.Match{Leader: leader, Side: polymarket.Buy, TokenID: s.Markets()[0], Shares: 10_000_000, Price: 400_000}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the copy's POST /order", func() bool { return fake.Server().Requests(clobsim.RoutePostOrder) > 0 })
	cli("status", "--config", cfgPath)
	cli("status", "--config", cfgPath, "--json")
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Errorf("scrape /metrics: %v", err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		outputs["/metrics"] = body
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-runDone:
		if code != exOK {
			t.Errorf("run exited %d after SIGTERM", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop within 30 s of SIGTERM")
	}
	outputs["run stdout"], outputs["run stderr"] = []byte(runOut.String()), []byte(runErr.String())
	if !strings.Contains(runErr.String(), "DEBUG") && !strings.Contains(runErr.String(), `"level":"debug"`) {
		t.Errorf("run at --log-level debug wrote no debug line; the scan would prove little")
	}

	if os.Getenv("POLYBOT_LEAK_DUMP") != "" {
		for where, out := range outputs {
			t.Logf("%s:\n%s", where, out)
		}
	}
	for where, out := range outputs {
		t.Logf("scanned %s: %d bytes", where, len(out))
		scanForSecrets(t, where, out, forms)
	}
	files := 0
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSocket != 0 {
			return err
		}
		if filepath.Dir(path) == secretsDir { // the secrets themselves, and the derived copy
			if fi, err := d.Info(); err == nil && fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
			}
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		t.Logf("scanned %s: %d bytes", path, len(b))
		scanForSecrets(t, "state file "+path, b, forms)
		return nil
	})
	if files == 0 {
		t.Error("the daemon left no state file to scan")
	}

	// A key file others can read is refused, naming the problem, not the key.
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"preflight"}, {"auth", "derive"}} {
		var stdout, stderr bytes.Buffer
		if code := run(append(cmd, "--config", cfgPath), &stdout, &stderr); code == exOK {
			t.Errorf("%s with a 0644 key file: exit 0", cmd)
		}
		msg := stdout.String() + stderr.String()
		if !strings.Contains(msg, "0644") && !strings.Contains(strings.ToLower(msg), "permission") && !strings.Contains(msg, "0600") {
			t.Errorf("%s with a 0644 key file does not say what is wrong with it: %s", cmd, msg)
		}
		scanForSecrets(t, strings.Join(cmd, " ")+" with a 0644 key file", []byte(msg), forms)
	}
}
