package metrics

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// rawRequest writes req to addr, then the body from a reader of n bytes of 'x' (as far as the
// server reads), and returns the status line of the answer; "" when the server closed the
// connection without one.
func rawRequest(t *testing.T, addr, head string, body int64) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		// The server may answer and close before reading everything: write errors are expected.
		if _, err := io.WriteString(c, head); err != nil {
			return
		}
		_, _ = io.CopyN(c, xReader{}, body)
	}()
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

type xReader struct{}

func (xReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestOversizedRequestsAreRefusedAndServingGoesOn(t *testing.T) {
	m, err := New(Options{Snapshot: func() Snapshot { return Snapshot{} }})
	if err != nil {
		t.Fatal(err)
	}
	base := startServer(t, m)
	addr := strings.TrimPrefix(base, "http://")
	huge := strings.Repeat("y", 2<<20)
	cases := []struct {
		name, head string
		body       int64
		want       []string // acceptable status lines; "" is a closed connection
	}{
		{"a 2 MiB header", "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + huge + "\r\n\r\n", 0, []string{"HTTP/1.1 431 Request Header Fields Too Large", ""}},
		{"a 2 MiB request line", "GET /" + huge + " HTTP/1.1\r\nHost: x\r\n\r\n", 0, []string{"HTTP/1.1 431 Request Header Fields Too Large", "HTTP/1.1 414 URI Too Long", ""}},
		{"a 2 MiB body on GET", fmt.Sprintf("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 2<<20), 2 << 20, []string{"HTTP/1.1 200 OK", "HTTP/1.1 413 Request Entity Too Large", ""}},
		{"a 2 MiB POST", fmt.Sprintf("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 2<<20), 2 << 20, []string{"HTTP/1.1 405 Method Not Allowed", "HTTP/1.1 413 Request Entity Too Large", ""}},
		{"an endless chunked body", "POST /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n", 1 << 20, []string{"HTTP/1.1 405 Method Not Allowed", "HTTP/1.1 413 Request Entity Too Large", ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := rawRequest(t, addr, c.head, c.body)
			ok := false
			for _, w := range c.want {
				ok = ok || got == w
			}
			if !ok {
				t.Errorf("answered %q, want one of %q", got, c.want)
			}
			if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
				t.Errorf("/healthz after %s: %d", c.name, code)
			}
		})
	}
}

func TestBeyondLoopbackNeedsTheOptInAndWarns(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	m, err := New(Options{Snapshot: func() Snapshot { return Snapshot{} }, Log: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Listen("0.0.0.0:0", false); err == nil {
		t.Fatal("0.0.0.0 served without the opt-in")
	}
	if logs.Len() != 0 {
		t.Fatalf("a refused listen logged %d warnings", logs.Len())
	}
	srv, err := m.Listen("0.0.0.0:0", true)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if logs.FilterMessageSnippet("beyond loopback").Len() != 1 {
		t.Errorf("serving beyond loopback logged %v, want one warning", logs.All())
	}
	srv2, err := m.Listen("127.0.0.1:0", true)
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	if logs.Len() != 1 {
		t.Errorf("a loopback address with the opt-in warned too: %v", logs.All())
	}
}
