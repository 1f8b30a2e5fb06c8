package main

import (
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

// runMainEnv, when set, makes the test binary run polybot with its value's lines as arguments.
const runMainEnv = "POLYBOT_TEST_RUN_MAIN"

// A SIGTERM while a live start waits on the CLOB (systemctl stop or restart during the start)
// is a requested stop: polybot exits 0 at once, not with a failure.
func TestSIGTERMDuringAStartExitsCleanly(t *testing.T) {
	hit := make(chan struct{}, 1)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case hit <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	defer slow.Close()
	dir := t.TempDir()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(crypto.FromECDSA(key))), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "polybot.yaml")
	body := "mode: live\nstate_dir: " + dir + "\nlive:\n  clob_url: " + slow.URL + "\n  key_file: " + keyFile +
		"\n  request_timeout: 2m\nleaders:\n  - address: 0x1000000000000000000000000000000000000001\n"
	if err := os.WriteFile(cfgPath, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), runMainEnv+"="+strings.Join([]string{"run", "--config", cfgPath}, "\n"), "NOTIFY_SOCKET=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-hit: // the start is waiting on the CLOB
	case err := <-done:
		t.Fatalf("polybot ended before asking the CLOB: %v; stderr:\n%s", err, stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("polybot stopped during its start with %v; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped during start") {
		t.Fatalf("no word of the stop in the log:\n%s", stderr.String())
	}
}
