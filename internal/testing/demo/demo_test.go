// Package demo checks what a newcomer sees of `make run` (scripts/demo.sh): polybot copies and
// skips leader trades against polysim, each run starts from a clean demo state, and Ctrl-C
// stops both quietly.
package demo

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// root is the repository's top folder.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "scripts", "demo.sh")); err != nil {
		t.Fatalf("scripts/demo.sh not found from %s: %v", dir, err)
	}
	return dir
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// demo runs scripts/demo.sh in a process group of its own, as a terminal runs `make run`, until
// polybot has logged copies lines; then it sends SIGINT to the group, as Ctrl-C does, and
// returns everything the demo printed.
func demo(t *testing.T, top, bin, state string, copies int, env ...string) string {
	t.Helper()
	cmd := exec.Command("bash", "scripts/demo.sh", bin)
	cmd.Dir = top
	cmd.Env = append(append(os.Environ(), "NOTIFY_SOCKET=", "POLYBOT_STATE_DIR="+state,
		fmt.Sprintf("POLYSIM_WS_PORT=%d", freePort(t)), fmt.Sprintf("POLYSIM_HTTP_PORT=%d", freePort(t))), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
	for strings.Count(out.String(), "\tcopied\t") < copies {
		select {
		case err := <-done:
			t.Fatalf("the demo stopped before %d copies: %v\n%s", copies, err, out.String())
		case <-deadline:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatalf("no %d copies within 2 minutes:\n%s", copies, out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("the demo did not stop within a minute of Ctrl-C:\n%s", out.String())
	}
	return out.String()
}

func TestTheDemoCopiesStartsCleanAndStopsQuietly(t *testing.T) {
	top := root(t)
	bin := t.TempDir()
	for _, c := range []string{"polybot", "polysim"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, c), "./cmd/"+c)
		build.Dir = top
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", c, err, out)
		}
	}
	state := filepath.Join(t.TempDir(), "demo-state")

	first := demo(t, top, bin, state, 3)
	// make run-live: signed orders to polysim's fake CLOB, on its own port and credentials.
	live := demo(t, top, bin, filepath.Join(t.TempDir(), "live-state"), 3, "DEMO=live",
		fmt.Sprintf("POLYSIM_CLOB_PORT=%d", freePort(t)), "POLYSIM_CREDS_DIR="+filepath.Join(t.TempDir(), "creds"))
	// DEMO=live WALLET=deposit: the same, trading from a deposit wallet (signature type 3), whose
	// orders the fake CLOB has the wallet on polysim's chain check.
	deposit := demo(t, top, bin, filepath.Join(t.TempDir(), "deposit-state"), 3, "DEMO=live", "WALLET=deposit",
		fmt.Sprintf("POLYSIM_CLOB_PORT=%d", freePort(t)), "POLYSIM_CREDS_DIR="+filepath.Join(t.TempDir(), "creds"))
	if !strings.Contains(deposit, "trading from the deposit wallet") || !strings.Contains(deposit, `"signature_type": "POLY_1271"`) {
		t.Errorf("the deposit-wallet demo did not trade as a deposit wallet:\n%s", deposit)
	}
	if strings.Contains(first, "removing the previous demo's state") {
		t.Errorf("the first demo found an earlier state to remove:\n%s", first)
	}
	second := demo(t, top, bin, state, 3)
	if !strings.Contains(second, "removing the previous demo's state") {
		t.Errorf("the second demo did not start from a clean state:\n%s", second)
	}
	for i, out := range []string{first, second, live, deposit} {
		for _, bad := range []string{"rpc connection lost", "ERROR", "daily-loss"} {
			if strings.Contains(out, bad) {
				t.Errorf("demo %d printed %q:\n%s", i+1, bad, out)
			}
		}
		if !strings.Contains(out, "polybot stopped") {
			t.Errorf("demo %d: polybot did not say it stopped:\n%s", i+1, out)
		}
	}
}
