package admin

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/polybot/polybot/internal/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// shortDir is a temporary directory with a path short enough for a unix socket (108 bytes).
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pba")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func sample() Status {
	age := 2.0
	return Status{
		Version: "1.2.3", Mode: "paper", ConfigHash: "abcdef012345",
		Leaders: []Leader{{Address: "0x1000000000000000000000000000000000000001", Name: "alice", Enabled: true}},
		Chain:   Chain{HeadBlock: 77, HeadAgeSeconds: &age, Subscribed: true, Healthy: true},
	}
}

// run serves srv until the test ends and checks Run returns nil.
func run(t *testing.T, srv *Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestSocketIsPrivateWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(shortDir(t), "admin.sock")
	srv, err := Listen(Options{Socket: path, Status: sample})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, want a socket with 0600", fi.Mode())
	}
}

func TestStatusRoundTripAndSocketRemovedOnStop(t *testing.T) {
	path := filepath.Join(shortDir(t), "admin.sock")
	srv, err := Listen(Options{Socket: path, Status: sample})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	st, err := Fetch(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != "1.2.3" || st.Chain.HeadBlock != 77 || *st.Chain.HeadAgeSeconds != 2 || len(st.Leaders) != 1 || st.Leaders[0].Name != "alice" {
		t.Fatalf("status did not survive the round trip: %+v", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left behind after stop: %v", err)
	}
	if _, err := Fetch(context.Background(), path); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Fetch after stop: %v, want ErrNotRunning", err)
	}
}

func TestStaleSocketIsReplacedLiveOneIsNot(t *testing.T) {
	dir := shortDir(t)
	path := filepath.Join(dir, "admin.sock")

	// A socket left by a process that died: a bound, unlistened socket file.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	if _, err := Fetch(context.Background(), path); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Fetch on a stale socket: %v, want ErrNotRunning", err)
	}
	srv, err := Listen(Options{Socket: path, Status: sample})
	if err != nil {
		t.Fatalf("a stale socket was not replaced: %v", err)
	}
	run(t, srv)

	// A second daemon on the same socket is refused, and the first keeps serving.
	if _, err := Listen(Options{Socket: path, Status: sample}); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Listen on a live socket: %v, want ErrInUse", err)
	}
	if _, err := Fetch(context.Background(), path); err != nil {
		t.Fatalf("the first daemon stopped answering: %v", err)
	}

	// A regular file is never removed.
	file := filepath.Join(dir, "file.sock")
	if err := os.WriteFile(file, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(Options{Socket: file, Status: sample}); !errors.Is(err, ErrNotSocket) {
		t.Fatalf("Listen on a regular file: %v, want ErrNotSocket", err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "keep me" {
		t.Fatalf("the regular file was touched: %q %v", b, err)
	}
}

func TestMalformedRequestsGetAnError(t *testing.T) {
	path := filepath.Join(shortDir(t), "admin.sock")
	srv, err := Listen(Options{Socket: path, Status: sample})
	if err != nil {
		t.Fatal(err)
	}
	run(t, srv)
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}
	defer client.CloseIdleConnections()
	do := func(method, target string, body io.Reader, header string) int {
		t.Helper()
		req, _ := http.NewRequest(method, "http://polybot"+target, body)
		if header != "" {
			req.Header.Set("X-Big", header)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := do(http.MethodPost, "/status", strings.NewReader(strings.Repeat("x", 1<<20)), ""); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /status: %d, want 405", code)
	}
	if code := do(http.MethodGet, "/status", nil, strings.Repeat("y", 64<<10)); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("64 KiB of headers: %d, want 431", code)
	}
	if code := do(http.MethodGet, "/secrets", nil, ""); code != http.StatusNotFound {
		t.Errorf("GET /secrets: %d, want 404", code)
	}
	// A raw garbage request line is answered, not fatal.
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write([]byte("\x00\x01garbage\r\n\r\n"))
	reply, _ := io.ReadAll(c)
	c.Close()
	if !strings.HasPrefix(string(reply), "HTTP/1.1 400") {
		t.Errorf("garbage request answered %q, want a 400", reply)
	}
	if code := do(http.MethodGet, "/status", nil, ""); code != http.StatusOK {
		t.Errorf("GET /status after bad requests: %d", code)
	}
}

func TestSocketPaths(t *testing.T) {
	cfg := config.Default()
	cfg.StateDir = "/srv/polybot"

	t.Setenv("RUNTIME_DIRECTORY", "")
	if got := SocketPath(cfg); got != "/srv/polybot/admin.sock" {
		t.Errorf("without systemd: %s, want state_dir/admin.sock", got)
	}
	if got := ClientPaths(cfg); strings.Join(got, " ") != "/run/polybot/admin.sock /srv/polybot/admin.sock" {
		t.Errorf("client paths without systemd: %v", got)
	}

	t.Setenv("RUNTIME_DIRECTORY", "/run/polybot:/run/other")
	if got := SocketPath(cfg); got != "/run/polybot/admin.sock" {
		t.Errorf("under systemd: %s, want $RUNTIME_DIRECTORY/admin.sock", got)
	}
	if got := ClientPaths(cfg); strings.Join(got, " ") != "/run/polybot/admin.sock /srv/polybot/admin.sock" {
		t.Errorf("client paths under systemd: %v", got)
	}

	cfg.Admin.Socket = "/tmp/p.sock"
	if got := SocketPath(cfg); got != "/tmp/p.sock" {
		t.Errorf("admin.socket set: %s", got)
	}
	if got := ClientPaths(cfg); len(got) != 1 || got[0] != "/tmp/p.sock" {
		t.Errorf("client paths with admin.socket set: %v", got)
	}
}

func TestFetchSaysWhenNothingRuns(t *testing.T) {
	_, err := Fetch(context.Background(), filepath.Join(shortDir(t), "absent.sock"))
	if !errors.Is(err, ErrNotRunning) {
		t.Fatalf("Fetch on a missing socket: %v, want ErrNotRunning", err)
	}
}
