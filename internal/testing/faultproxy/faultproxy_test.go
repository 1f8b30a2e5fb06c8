package faultproxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echo is a loopback server that echoes each line back.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader) error {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		return err
	}
	line, err := r.ReadString('\n')
	if err == nil && line != "ping\n" {
		t.Fatalf("echoed %q", line)
	}
	return err
}

func newProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := New(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestDropCutsOpenConnectionsAndAcceptsNewOnes(t *testing.T) {
	p := newProxy(t, echo(t))
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if err := roundTrip(t, c, r); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if n := p.Drop(); n != 1 {
		t.Fatalf("Drop closed %d connections, want 1", n)
	}
	if err := roundTrip(t, c, r); err == nil {
		t.Fatal("a dropped connection still works")
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := roundTrip(t, c2, bufio.NewReader(c2)); err != nil {
		t.Fatalf("new connection after Drop: %v", err)
	}
}

func TestDownRefusesUntilUp(t *testing.T) {
	p := newProxy(t, echo(t))
	p.SetDown(true)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(t, c, bufio.NewReader(c)); err == nil {
		t.Fatal("connection works while the proxy is down")
	}
	c.Close()
	p.SetDown(false)
	c, err = net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := roundTrip(t, c, bufio.NewReader(c)); err != nil {
		t.Fatalf("after SetDown(false): %v", err)
	}
}

func TestRejectAnswers429ThenForwards(t *testing.T) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	p := newProxy(t, ln.Addr().String())
	p.Reject(2)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var codes []int
	for range 3 {
		resp, err := client.Post(p.URL("http"), "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 429 || codes[1] != 429 || codes[2] != 200 {
		t.Fatalf("status codes %v, want 429 429 200", codes)
	}
	if st := p.Stats(); st.Rejected != 2 {
		t.Fatalf("stats %+v", st)
	}
}
