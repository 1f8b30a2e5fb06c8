package admin

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type xReader struct{}

func (xReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// TestOversizedRequestsAreRefusedAndServingGoesOn sends the admin socket requests with a
// header, a request line or a body over 1 MiB: each is refused (or the connection closed), and
// the next /status is answered.
func TestOversizedRequestsAreRefusedAndServingGoesOn(t *testing.T) {
	path := filepath.Join(shortDir(t), "admin.sock")
	srv, err := Listen(Options{Socket: path, Status: sample})
	if err != nil {
		t.Fatal(err)
	}
	run(t, srv)
	raw := func(head string, body int64) string {
		t.Helper()
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		go func() {
			if _, err := io.WriteString(c, head); err == nil {
				_, _ = io.CopyN(c, xReader{}, body)
			}
		}()
		line, _ := bufio.NewReader(c).ReadString('\n')
		return strings.TrimSpace(line)
	}
	huge := strings.Repeat("y", 2<<20)
	cases := []struct {
		name, head string
		body       int64
		want       []string
	}{
		{"a 2 MiB header", "GET /status HTTP/1.1\r\nHost: x\r\nX-Big: " + huge + "\r\n\r\n", 0, []string{"HTTP/1.1 431 Request Header Fields Too Large", ""}},
		{"a 2 MiB request line", "GET /" + huge + " HTTP/1.1\r\nHost: x\r\n\r\n", 0, []string{"HTTP/1.1 431 Request Header Fields Too Large", "HTTP/1.1 414 URI Too Long", ""}},
		{"a 2 MiB body on GET", fmt.Sprintf("GET /status HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 2<<20), 2 << 20, []string{"HTTP/1.1 413 Request Entity Too Large", "HTTP/1.1 400 Bad Request", "HTTP/1.1 200 OK", ""}},
		{"an endless chunked body", "GET /status HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n", 1 << 20, []string{"HTTP/1.1 413 Request Entity Too Large", "HTTP/1.1 400 Bad Request", "HTTP/1.1 200 OK", ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := raw(c.head, c.body)
			ok := false
			for _, w := range c.want {
				ok = ok || got == w
			}
			if !ok {
				t.Errorf("answered %q, want one of %q", got, c.want)
			}
			t.Logf("answered %q", got)
			if got := raw("GET /status HTTP/1.1\r\nHost: x\r\n\r\n", 0); got != "HTTP/1.1 200 OK" {
				t.Errorf("GET /status after %s: %q", c.name, got)
			}
		})
	}
}
