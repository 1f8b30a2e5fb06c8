package faultproxy

// Lagging models a load-balanced JSON-RPC provider whose log backend lags its head: the head
// (eth_blockNumber, eth_getBlockByNumber, newHeads) comes from an up-to-date backend, the logs
// from one Depth blocks behind. Nothing ties the calls of one client to one backend, so a range
// eth_getLogs that reaches the head can be answered by a backend that does not have the newest
// block's logs yet. A node asked by blockHash for a block it does not hold answers the error
// "unknown block" (geth, eth/filters/api.go errUnknownBlock) and null receipts (geth,
// internal/ethapi GetBlockReceipts); a backend is not obliged to, so the proxy gives the worst
// answer that is still well-formed: an empty log list.
//
// For each of the Depth newest blocks, the first time it is asked about:
//   - a range eth_getLogs covering it answers without its logs (what the issue measured);
//   - eth_getLogs{blockHash} of it answers [] (the worst case: an empty, error-free answer);
//   - eth_getBlockReceipts of it answers null (geth's answer for a block it does not hold).
// Later answers about that block are the node's own. Everything else passes unchanged.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Lagging is the lagging-log-backend proxy, over HTTP and websocket. Safe for concurrent use.
type Lagging struct {
	httpURL, wsURL string
	ln             net.Listener
	srv            *http.Server
	client         *http.Client
	depth          uint64

	mu     sync.Mutex
	lagged map[string]map[uint64]bool // kind ("range", "hash", "receipts") → blocks lagged once
	conns  map[*websocket.Conn]bool

	omitted, emptied, nulled, dropped atomic.Uint64
	dropLogs, emptyByHash             atomic.Bool
}

// SetEmptyByHash makes every eth_getLogs{blockHash} answer [] (on), whatever the block: a
// backend that never serves EIP-234 queries honestly, so that only receipts can prove a block.
func (l *Lagging) SetEmptyByHash(on bool) { l.emptyByHash.Store(on) }

// SetDropLogs makes websocket log subscriptions deliver nothing (on) or everything (off): a
// subscription that misses logs, which only the checkpoint's own reads can make up for.
func (l *Lagging) SetDropLogs(on bool) { l.dropLogs.Store(on) }

// isLogNotification says whether msg is an eth_subscription notification carrying a log.
func isLogNotification(msg []byte) bool {
	var n struct {
		Method string `json:"method"`
		Params struct {
			Result map[string]json.RawMessage `json:"result"`
		} `json:"params"`
	}
	if json.Unmarshal(msg, &n) != nil || n.Method != "eth_subscription" {
		return false
	}
	_, ok := n.Params.Result["logIndex"]
	return ok
}

// LagStats counts what the proxy withheld.
type LagStats struct {
	Omitted uint64 // logs left out of range eth_getLogs answers
	Emptied uint64 // eth_getLogs{blockHash} answered []
	Nulled  uint64 // eth_getBlockReceipts answered null
}

// NewLagging serves on 127.0.0.1 a proxy to the node at httpURL (and wsURL for websocket
// clients; "" refuses them) whose logs lag the head by depth blocks (at least 1).
func NewLagging(httpURL, wsURL string, depth uint64) (*Lagging, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	l := &Lagging{httpURL: httpURL, wsURL: wsURL, ln: ln, depth: max(depth, 1), client: &http.Client{Timeout: 10 * time.Second},
		lagged: map[string]map[uint64]bool{}, conns: map[*websocket.Conn]bool{}}
	l.srv = &http.Server{Handler: l, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = l.srv.Serve(ln) }()
	return l, nil
}

// URL is scheme://host:port of the proxy.
func (l *Lagging) URL(scheme string) string { return scheme + "://" + l.ln.Addr().String() }

// Stats returns the counters.
func (l *Lagging) Stats() LagStats {
	return LagStats{Omitted: l.omitted.Load(), Emptied: l.emptied.Load(), Nulled: l.nulled.Load()}
}

// Close stops the proxy and its websocket connections.
func (l *Lagging) Close() error {
	err := l.srv.Close()
	l.mu.Lock()
	for c := range l.conns {
		_ = c.Close()
	}
	l.mu.Unlock()
	return err
}

func (l *Lagging) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if websocket.IsWebSocketUpgrade(r) {
		l.serveWS(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp, err := l.client.Post(l.httpURL, "application/json", bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if resp.StatusCode == http.StatusOK {
		reqs := map[string]rpcMsg{}
		for _, m := range splitMsgs(body) {
			reqs[string(m.ID)] = m
		}
		out = l.rewrite(out, func(id json.RawMessage) (rpcMsg, bool) { m, ok := reqs[string(id)]; return m, ok })
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// serveWS relays one websocket connection, rewriting the answers to the calls it tracks.
func (l *Lagging) serveWS(w http.ResponseWriter, r *http.Request) {
	if l.wsURL == "" {
		http.Error(w, "no websocket here", http.StatusBadRequest)
		return
	}
	up, _, err := websocket.DefaultDialer.Dial(l.wsURL, nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		_ = up.Close()
		return
	}
	l.mu.Lock()
	l.conns[c], l.conns[up] = true, true
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.conns, c)
		delete(l.conns, up)
		l.mu.Unlock()
		_ = c.Close()
		_ = up.Close()
	}()
	var pmu sync.Mutex
	pending := map[string]rpcMsg{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			t, msg, err := up.ReadMessage()
			if err != nil {
				_ = c.Close()
				return
			}
			if l.dropLogs.Load() && isLogNotification(msg) {
				l.dropped.Add(1)
				continue
			}
			msg = l.rewrite(msg, func(id json.RawMessage) (rpcMsg, bool) {
				pmu.Lock()
				defer pmu.Unlock()
				m, ok := pending[string(id)]
				delete(pending, string(id))
				return m, ok
			})
			if err := c.WriteMessage(t, msg); err != nil {
				_ = up.Close()
				return
			}
		}
	}()
	for {
		t, msg, err := c.ReadMessage()
		if err != nil {
			_ = up.Close()
			break
		}
		pmu.Lock()
		for _, m := range splitMsgs(msg) {
			if m.Method == "eth_getLogs" || m.Method == "eth_getBlockReceipts" {
				pending[string(m.ID)] = m
			}
		}
		pmu.Unlock()
		if err := up.WriteMessage(t, msg); err != nil {
			break
		}
	}
	<-done
}

// rpcMsg is a JSON-RPC request or answer.
type rpcMsg struct {
	ID     json.RawMessage   `json:"id,omitempty"`
	Method string            `json:"method,omitempty"`
	Params []json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage   `json:"result,omitempty"`
	Error  json.RawMessage   `json:"error,omitempty"`
}

// splitMsgs parses one message or a batch; anything else is no message.
func splitMsgs(b []byte) []rpcMsg {
	b = bytes.TrimSpace(b)
	var out []rpcMsg
	if len(b) > 0 && b[0] == '[' {
		_ = json.Unmarshal(b, &out)
		return out
	}
	var m rpcMsg
	if json.Unmarshal(b, &m) == nil {
		out = append(out, m)
	}
	return out
}

// rewrite applies the lag to the answers in b whose request req finds.
func (l *Lagging) rewrite(b []byte, req func(id json.RawMessage) (rpcMsg, bool)) []byte {
	trimmed := bytes.TrimSpace(b)
	batch := len(trimmed) > 0 && trimmed[0] == '['
	var raws []json.RawMessage
	if batch {
		if json.Unmarshal(trimmed, &raws) != nil {
			return b
		}
	} else {
		raws = []json.RawMessage{trimmed}
	}
	changed := false
	for i, raw := range raws {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil || m["result"] == nil || m["id"] == nil {
			continue
		}
		q, ok := req(m["id"])
		if !ok {
			continue
		}
		res, ok := l.lag(q, m["result"])
		if !ok {
			continue
		}
		m["result"] = res
		if raws[i], ok = marshal(m); ok {
			changed = true
		}
	}
	if !changed {
		return b
	}
	if !batch {
		return raws[0]
	}
	out, err := json.Marshal(raws)
	if err != nil {
		return b
	}
	return out
}

func marshal(m map[string]json.RawMessage) (json.RawMessage, bool) {
	b, err := json.Marshal(m)
	return b, err == nil
}

type logView struct {
	BlockNumber string `json:"blockNumber"`
}

// lag returns the lagging backend's answer to q instead of the node's result, if it differs.
func (l *Lagging) lag(q rpcMsg, result json.RawMessage) (json.RawMessage, bool) {
	switch q.Method {
	case "eth_getLogs":
		var items []json.RawMessage
		if json.Unmarshal(result, &items) != nil || len(q.Params) == 0 {
			return nil, false
		}
		var crit struct {
			BlockHash *string `json:"blockHash"`
			ToBlock   *string `json:"toBlock"`
			FromBlock *string `json:"fromBlock"`
		}
		if json.Unmarshal(q.Params[0], &crit) != nil {
			return nil, false
		}
		head, ok := l.head()
		if !ok {
			return nil, false
		}
		if crit.BlockHash != nil {
			if len(items) == 0 {
				return nil, false
			}
			if l.emptyByHash.Load() {
				l.emptied.Add(1)
				return json.RawMessage("[]"), true
			}
			if n, ok := blockOf(items[0]); ok && l.newest(n, head) && l.first("hash", n) {
				l.emptied.Add(1)
				return json.RawMessage("[]"), true
			}
			return nil, false
		}
		from, to := blockArg(crit.FromBlock, head), blockArg(crit.ToBlock, head)
		withheld := map[uint64]bool{}
		for n := max(from, head-min(head, l.depth-1)); n <= to && n <= head; n++ {
			if l.first("range", n) {
				withheld[n] = true
			}
		}
		if len(withheld) == 0 {
			return nil, false
		}
		kept := make([]json.RawMessage, 0, len(items))
		for _, it := range items {
			if n, ok := blockOf(it); ok && withheld[n] {
				l.omitted.Add(1)
				continue
			}
			kept = append(kept, it)
		}
		if len(kept) == len(items) {
			return nil, false
		}
		out, err := json.Marshal(kept)
		return out, err == nil
	case "eth_getBlockReceipts":
		var items []json.RawMessage
		if json.Unmarshal(result, &items) != nil || len(items) == 0 {
			return nil, false
		}
		head, ok := l.head()
		if !ok {
			return nil, false
		}
		if n, ok := blockOf(items[0]); ok && l.newest(n, head) && l.first("receipts", n) {
			l.nulled.Add(1)
			return json.RawMessage("null"), true
		}
	}
	return nil, false
}

func (l *Lagging) newest(n, head uint64) bool { return n <= head && head-n < l.depth }

// first records that block n was asked about for kind and says whether it was the first time.
func (l *Lagging) first(kind string, n uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lagged[kind] == nil {
		l.lagged[kind] = map[uint64]bool{}
	}
	if l.lagged[kind][n] {
		return false
	}
	l.lagged[kind][n] = true
	return true
}

func blockOf(raw json.RawMessage) (uint64, bool) {
	var v logView
	if json.Unmarshal(raw, &v) != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(v.BlockNumber, "0x"), 16, 64)
	return n, err == nil
}

// blockArg reads a fromBlock/toBlock: a hex number, or a tag (latest and the like: the head).
func blockArg(s *string, head uint64) uint64 {
	if s == nil {
		return head
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(*s, "0x"), 16, 64)
	if err != nil || !strings.HasPrefix(*s, "0x") {
		if *s == "earliest" {
			return 0
		}
		return head
	}
	return n
}

// head asks the node for its head.
func (l *Lagging) head() (uint64, bool) {
	resp, err := l.client.Post(l.httpURL, "application/json",
		strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}`))
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var m struct {
		Result string `json:"result"`
	}
	if json.NewDecoder(resp.Body).Decode(&m) != nil {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(m.Result, "0x"), 16, 64)
	return n, err == nil
}
