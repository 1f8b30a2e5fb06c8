package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/polybot/polybot/internal/secrets"
)

// openPTY opens a pseudo-terminal pair: what the "user" types goes into master, polybot reads
// slave, and whatever the terminal echoes comes back out of master.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { _ = master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = slave.Close() })
	return master, slave
}

// promptWriter is stderr that says when the prompt has been written.
type promptWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	prompt chan struct{}
	once   sync.Once
}

func (w *promptWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), "not shown") {
		w.once.Do(func() { close(w.prompt) })
	}
	return n, err
}

func (w *promptWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// On a terminal the key is typed at a prompt and not echoed, and the terminal is given back
// as it was.
func TestSetupReadsTheKeyFromATerminalWithoutEcho(t *testing.T) {
	env := startLive(t, "")
	dir, cfgPath := setupConfig(t, env, "")
	master, slave := openPTY(t)
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if before.Lflag&unix.ECHO == 0 {
		t.Fatal("a new terminal should echo")
	}
	old := setupStdin
	setupStdin = slave
	defer func() { setupStdin = old }()

	var out bytes.Buffer
	errOut := &promptWriter{prompt: make(chan struct{})}
	done := make(chan int, 1)
	go func() { done <- run([]string{"setup", "--config", cfgPath}, &out, errOut) }()
	select {
	case <-errOut.prompt:
	case code := <-done:
		t.Fatalf("setup ended (exit %d) without prompting:\n%s%s", code, out.String(), errOut.String())
	}
	if _, err := master.Write([]byte(env.keyHex + "\n")); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != exOK {
		t.Fatalf("exit %d:\n%s%s", code, out.String(), errOut.String())
	}
	// What the terminal showed: only the newline (ECHONL), never the key.
	_ = master.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	shown := make([]byte, 4096)
	n, _ := master.Read(shown)
	assertNoSecrets(t, "the terminal", string(shown[:n]), env.keyHex)
	assertNoSecrets(t, "setup", out.String()+errOut.String(), env.keyHex)
	after, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if after.Lflag != before.Lflag {
		t.Errorf("terminal flags %#x after setup, %#x before: echo not restored", after.Lflag, before.Lflag)
	}
	if _, err := secrets.LoadKey(secrets.KeyOptions{KeyFile: filepath.Join(dir, secrets.KeyCredential)}); err != nil {
		t.Fatalf("the typed key was not saved: %v", err)
	}
}
