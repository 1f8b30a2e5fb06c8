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
	return demoUntil(t, top, bin, state, fmt.Sprintf("%d copies", copies), func(out string) bool {
		return strings.Count(out, "\tcopied\t") >= copies
	}, env...)
}

// demoUntil is demo stopped once done(what the demo printed so far) holds, within 2 minutes.
func demoUntil(t *testing.T, top, bin, state, what string, ready func(string) bool, env ...string) string {
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
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	done := func() bool { return ready(out.String()) }
	deadline := time.After(2 * time.Minute)
	for !done() {
		select {
		case err := <-exited:
			t.Fatalf("the demo stopped before %s: %v\n%s", what, err, out.String())
		case <-deadline:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatalf("%s not seen within 2 minutes:\n%s", what, out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatalf("the demo did not stop within a minute of Ctrl-C:\n%s", out.String())
	}
	return out.String()
}

// build builds polybot and polysim into a temporary folder and returns it.
func build(t *testing.T, top string) string {
	t.Helper()
	bin := t.TempDir()
	for _, c := range []string{"polybot", "polysim"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, c), "./cmd/"+c)
		build.Dir = top
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", c, err, out)
		}
	}
	return bin
}

func TestTheDemoCopiesStartsCleanAndStopsQuietly(t *testing.T) {
	top := root(t)
	bin := build(t, top)
	state := filepath.Join(t.TempDir(), "demo-state")

	first := demo(t, top, bin, state, 3)
	// make run-live: signed orders to polysim's fake CLOB, on its own port and credentials.
	live := demo(t, top, bin, filepath.Join(t.TempDir(), "live-state"), 3, "DEMO=live",
		fmt.Sprintf("POLYSIM_CLOB_PORT=%d", freePort(t)), "POLYSIM_CREDS_DIR="+filepath.Join(t.TempDir(), "creds"))
	// The live demo from each kind of wallet: TestTheLiveDemoCopiesAndRedeemsFromEachWalletType.
	if strings.Contains(first, "removing the previous demo's state") {
		t.Errorf("the first demo found an earlier state to remove:\n%s", first)
	}
	second := demo(t, top, bin, state, 3)
	if !strings.Contains(second, "removing the previous demo's state") {
		t.Errorf("the second demo did not start from a clean state:\n%s", second)
	}
	for i, out := range []string{first, second, live} {
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

// `WALLET=eoa|proxy|safe|deposit make run-live`: the live demo trades from each kind of wallet
// (polysim places it where Polygon derives it for the trading key, and polybot's start check
// accepts it), copies leader trades with orders of that wallet's signature type, and redeems a
// won market's winnings from the wallet, checked by the redemption's receipt. polysim resolves
// a market every 8 s (POLYSIM_RESOLVE_EVERY) so that the first win comes soon.
func TestTheLiveDemoCopiesAndRedeemsFromEachWalletType(t *testing.T) {
	top := root(t)
	bin := build(t, top)
	for _, w := range []struct{ wallet, sigType, name string }{
		{"eoa", "0", "EOA"}, {"proxy", "1", "POLY_PROXY"}, {"safe", "2", "POLY_GNOSIS_SAFE"}, {"deposit", "3", "POLY_1271"},
	} {
		t.Run(w.wallet, func(t *testing.T) {
			t.Parallel()
			out := demoUntil(t, top, bin, filepath.Join(t.TempDir(), "state"), "a filled copy and a redemption paid", func(out string) bool {
				return strings.Contains(out, "\tcopied\t") && strings.Contains(out, "\twinnings redeemed\t")
			}, "DEMO=live", "WALLET="+w.wallet, "POLYSIM_RESOLVE_EVERY=8s",
				fmt.Sprintf("POLYSIM_CLOB_PORT=%d", freePort(t)), "POLYSIM_CREDS_DIR="+filepath.Join(t.TempDir(), "creds"))
			if !strings.Contains(out, "(signature type "+w.sigType+")") || !strings.Contains(out, `"signature_type": "`+w.name+`"`) {
				t.Errorf("the %s demo did not trade with signature type %s:\n%s", w.wallet, w.name, out)
			}
			for _, bad := range []string{"rpc connection lost", "ERROR", "not redeemed automatically", "redemption did not pay"} {
				if strings.Contains(out, bad) {
					t.Errorf("the %s demo printed %q:\n%s", w.wallet, bad, out)
				}
			}
			if !strings.Contains(out, "polybot stopped") {
				t.Errorf("the %s demo: polybot did not say it stopped:\n%s", w.wallet, out)
			}
		})
	}
}
