package systemd

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// listen opens a unixgram socket with a short path (socket paths are limited to 108 bytes) and
// points NOTIFY_SOCKET at it.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	dir, err := os.MkdirTemp("", "nt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return conn
}

// receive reads one datagram, failing the test if none arrives before the deadline.
func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, _, err := conn.ReadFromUnix(buf)
	if err != nil {
		t.Fatalf("no notification arrived: %v", err)
	}
	return string(buf[:n])
}

func monotonicNow(t *testing.T) uint64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return uint64(ts.Sec)*1e6 + uint64(ts.Nsec)/1e3
}

func TestNotifierSendsEachMessage(t *testing.T) {
	conn := listen(t)
	n := NewNotifier(nil)
	if !n.Enabled() {
		t.Fatal("Enabled() = false with NOTIFY_SOCKET set")
	}
	tests := []struct {
		name string
		send func() error
		want string
	}{
		{"ready sends READY=1", n.Ready, "READY=1"},
		{"stopping sends STOPPING=1", n.Stopping, "STOPPING=1"},
		{"watchdog sends WATCHDOG=1", n.Watchdog, "WATCHDOG=1"},
		{"status sends one line", func() error { return n.Status("copying 3 leaders") }, "STATUS=copying 3 leaders"},
		{"status turns line breaks into spaces", func() error { return n.Status("head 42\nlag 1s\r\nok\n") }, "STATUS=head 42 lag 1s ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.send(); err != nil {
				t.Fatal(err)
			}
			if got := receive(t, conn); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReloadingCarriesMonotonicTime(t *testing.T) {
	conn := listen(t)
	n := NewNotifier(nil)
	before := monotonicNow(t)
	if err := n.Reloading(); err != nil {
		t.Fatal(err)
	}
	after := monotonicNow(t)
	got := receive(t, conn)
	rest, ok := strings.CutPrefix(got, "RELOADING=1\nMONOTONIC_USEC=")
	if !ok {
		t.Fatalf("got %q, want RELOADING=1 then MONOTONIC_USEC", got)
	}
	usec, err := strconv.ParseUint(rest, 10, 64)
	if err != nil {
		t.Fatalf("MONOTONIC_USEC %q: %v", rest, err)
	}
	if usec < before || usec > after {
		t.Errorf("MONOTONIC_USEC = %d, want within [%d, %d]", usec, before, after)
	}
}

func TestSendErrorIsReturned(t *testing.T) {
	dir, err := os.MkdirTemp("", "nt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	n := NewNotifierWithSocket(filepath.Join(dir, "gone"), 0, nil)
	err = n.Watchdog()
	if err == nil {
		t.Fatal("Watchdog() to a missing socket returned nil")
	}
	if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, unix.ECONNREFUSED) {
		t.Errorf("err = %v, want it to say the socket is missing", err)
	}
}

func TestWithoutSocketNothingFails(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "30000000")
	for name, n := range map[string]*Notifier{"from the environment": NewNotifier(nil), "nil notifier": nil} {
		t.Run(name, func(t *testing.T) {
			if n.Enabled() {
				t.Error("Enabled() = true without a socket")
			}
			if d := n.WatchdogInterval(); d != 0 {
				t.Errorf("WatchdogInterval() = %v without a socket, want 0", d)
			}
			for method, f := range map[string]func() error{
				"Ready": n.Ready, "Reloading": n.Reloading, "Stopping": n.Stopping, "Watchdog": n.Watchdog,
				"Status": func() error { return n.Status("x") },
			} {
				if err := f(); err != nil {
					t.Errorf("%s() = %v, want nil", method, err)
				}
			}
		})
	}
}

func TestWatchdogInterval(t *testing.T) {
	tests := []struct {
		name string
		usec string
		pid  string
		want time.Duration
	}{
		{"30000000 microseconds is 30 seconds", "30000000", "", 30 * time.Second},
		{"our own pid keeps the watchdog", "30000000", strconv.Itoa(os.Getpid()), 30 * time.Second},
		{"another pid disables it", "30000000", strconv.Itoa(os.Getpid() + 1), 0},
		{"unset disables it", "", "", 0},
		{"garbage disables it", "soon", "", 0},
		{"zero disables it", "0", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			listen(t)
			t.Setenv("WATCHDOG_USEC", tt.usec)
			t.Setenv("WATCHDOG_PID", tt.pid)
			if got := NewNotifier(nil).WatchdogInterval(); got != tt.want {
				t.Errorf("WatchdogInterval() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExtendTimeoutAsksForMoreTimeInMicroseconds(t *testing.T) {
	conn := listen(t)
	n := NewNotifier(nil)
	if err := n.ExtendTimeout(5 * time.Minute); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, conn); got != "EXTEND_TIMEOUT_USEC=300000000" {
		t.Fatalf("sent %q, want EXTEND_TIMEOUT_USEC=300000000", got)
	}
}
