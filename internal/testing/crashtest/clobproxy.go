package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

// clobProxy sits between polybot and polysim's fake CLOB and counts every order polybot posts:
// by salt (polybot derives it from the leader fill, so one fill is one salt) and by the hash the
// CLOB accepted it under. A request that reached the proxy is always carried to the CLOB and
// its answer read, even when polybot was killed meanwhile: the proxy's count is what the
// exchange saw, not what polybot lived to hear.
type clobProxy struct {
	upstream string
	client   *http.Client
	srv      *http.Server
	url      string

	mu       sync.Mutex
	posts    int
	bySalt   map[string]*saltOrders
	byHash   map[common.Hash]int // accepted posts per order hash
	dupes    int                 // posts refused as duplicates
	refused  int                 // other refusals
	failures int                 // requests the proxy could not carry
}

// saltOrders are the posts of one salt (one leader fill).
type saltOrders struct {
	posts    int
	accepted []common.Hash
}

func startCLOBProxy(t *testing.T, upstream string) *clobProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &clobProxy{upstream: strings.TrimRight(upstream, "/"), client: &http.Client{Timeout: 30 * time.Second},
		bySalt: map[string]*saltOrders{}, byHash: map[common.Hash]int{}, url: "http://" + ln.Addr().String()}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	t.Cleanup(func() { _ = p.srv.Close() })
	return p
}

func (p *clobProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client died mid-request: nothing reached the exchange
	}
	// Detached from the client: a killed polybot does not take back a request already sent.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, p.upstream+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	resp, err := p.client.Do(req)
	if err != nil {
		p.mu.Lock()
		p.failures++
		p.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answer, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		p.mu.Lock()
		p.failures++
		p.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == "/order" {
		p.count(body, resp.StatusCode, answer)
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

// count books one POST /order and the CLOB's answer.
func (p *clobProxy) count(body []byte, status int, answer []byte) {
	var in struct {
		Order struct {
			Salt json.Number `json:"salt"`
		} `json:"order"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	_ = dec.Decode(&in)
	var out struct {
		Success bool   `json:"success"`
		OrderID string `json:"orderID"`
		Error   string `json:"error"`
		Msg     string `json:"errorMsg"`
	}
	_ = json.Unmarshal(answer, &out)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.posts++
	s := p.bySalt[in.Order.Salt.String()]
	if s == nil {
		s = &saltOrders{}
		p.bySalt[in.Order.Salt.String()] = s
	}
	s.posts++
	switch {
	case status/100 == 2 && out.Success && out.OrderID != "":
		h := common.HexToHash(out.OrderID)
		s.accepted = append(s.accepted, h)
		p.byHash[h]++
	case strings.Contains(out.Error+out.Msg, "Duplicated"):
		p.dupes++
	default:
		p.refused++
	}
}

// proxyCounts is a copy of the proxy's counters.
type proxyCounts struct {
	posts, dupes, refused, failures int
	bySalt                          map[string]saltOrders
	byHash                          map[common.Hash]int
}

func (p *clobProxy) counts() proxyCounts {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := proxyCounts{posts: p.posts, dupes: p.dupes, refused: p.refused, failures: p.failures,
		bySalt: map[string]saltOrders{}, byHash: map[common.Hash]int{}}
	for k, v := range p.bySalt {
		c.bySalt[k] = saltOrders{posts: v.posts, accepted: append([]common.Hash(nil), v.accepted...)}
	}
	for k, v := range p.byHash {
		c.byHash[k] = v
	}
	return c
}
