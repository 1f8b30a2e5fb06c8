// Package faultproxy is a TCP proxy on loopback that breaks the connection between polybot and
// its node on command, so tests can exercise reconnects and backoff against a real node: it
// drops every open connection, refuses connections while down, delays traffic, and answers
// HTTP requests with 429 Too Many Requests.
package faultproxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards connections from its loopback address to a target. Its methods are safe for
// concurrent use.
type Proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]net.Conn // client side → node side
	down   bool
	delay  time.Duration
	reject int
	closed bool

	accepted, dropped, rejected atomic.Uint64
}

// Stats counts what the proxy did.
type Stats struct {
	Accepted uint64 // connections forwarded
	Dropped  uint64 // connections cut by Drop, SetDown or Close, or refused while down
	Rejected uint64 // HTTP requests answered with 429
}

// New listens on 127.0.0.1 on a free port and forwards to target (host:port).
func New(target string) (*Proxy, error) {
	if _, _, err := net.SplitHostPort(target); err != nil {
		return nil, fmt.Errorf("faultproxy: target %q: %w", target, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]net.Conn{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is scheme://Addr, e.g. URL("ws").
func (p *Proxy) URL(scheme string) string { return scheme + "://" + p.Addr() }

// Drop closes every open connection, as a dropped websocket or a restarting node does, and
// returns how many it closed. New connections are accepted as before.
func (p *Proxy) Drop() int {
	p.mu.Lock()
	conns := p.conns
	p.conns = map[net.Conn]net.Conn{}
	p.mu.Unlock()
	for c, up := range conns {
		_ = c.Close()
		_ = up.Close()
	}
	p.dropped.Add(uint64(len(conns)))
	return len(conns)
}

// SetDown makes the node unreachable (down: every open connection is dropped and new ones are
// closed at once) or reachable again.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
	if down {
		p.Drop()
	}
}

// SetDelay holds every chunk of data this long before forwarding it, both ways.
func (p *Proxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}

// Reject answers the next n HTTP requests with 429 Too Many Requests. Open connections are
// dropped first, so that keep-alive clients reach the rejecting path.
func (p *Proxy) Reject(n int) {
	p.mu.Lock()
	p.reject = n
	p.mu.Unlock()
	p.Drop()
}

// Stats returns the counters.
func (p *Proxy) Stats() Stats {
	return Stats{Accepted: p.accepted.Load(), Dropped: p.dropped.Load(), Rejected: p.rejected.Load()}
}

// Close stops listening, drops every connection and waits for the proxy's goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.ln.Close()
	p.Drop()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		down, closed, reject := p.down, p.closed, p.reject > 0
		if reject {
			p.reject--
		}
		p.mu.Unlock()
		switch {
		case closed || down:
			p.dropped.Add(1)
			_ = c.Close()
		case reject:
			p.wg.Add(1)
			go p.tooMany(c)
		default:
			p.wg.Add(1)
			go p.forward(c)
		}
	}
}

// tooMany reads one HTTP request from c and answers 429.
func (p *Proxy) tooMany(c net.Conn) {
	defer p.wg.Done()
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, req.Body)
	body := `{"jsonrpc":"2.0","id":null,"error":{"code":-32005,"message":"rate limit exceeded"}}`
	resp := "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 1\r\n" +
		"Connection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	// Count before answering: a client that has its 429 must find it in Stats.
	p.rejected.Add(1)
	_, _ = io.WriteString(c, resp)
}

func (p *Proxy) forward(c net.Conn) {
	defer p.wg.Done()
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		p.dropped.Add(1)
		_ = c.Close()
		return
	}
	p.mu.Lock()
	if p.closed || p.down {
		p.mu.Unlock()
		_ = c.Close()
		_ = up.Close()
		return
	}
	p.conns[c] = up
	p.mu.Unlock()
	p.accepted.Add(1)

	var both sync.WaitGroup
	both.Add(2)
	pipe := func(dst, src net.Conn) {
		defer both.Done()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.mu.Lock()
				d := p.delay
				p.mu.Unlock()
				if d > 0 {
					time.Sleep(d)
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
			if err != nil {
				break
			}
		}
		// One side ended: end the other, so the client sees a dropped connection.
		_ = dst.Close()
		_ = src.Close()
	}
	go pipe(up, c)
	go pipe(c, up)
	both.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}
