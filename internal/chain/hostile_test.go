package chain

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// rpcNode is a loopback JSON-RPC endpoint answering eth_chainId with chainID, or with raw when
// set, or never (until the client leaves) when hang is set.
func rpcNode(t *testing.T, chainID string, raw []byte, hang bool) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		_ = json.Unmarshal(body, &req)
		if hang {
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if raw != nil {
			_, _ = w.Write(raw)
			return
		}
		_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":` + string(req.ID) + `,"result":"` + chainID + `"}`))
	}))
	t.Cleanup(srv.Close)
	// The path and query stand for a provider's API key, which errors must never show.
	return srv.URL + "/v2/SECRET-API-KEY?key=SECRET-API-KEY"
}

func TestDialRefusesANodeOfAnotherChain(t *testing.T) {
	url := rpcNode(t, "0x1", nil, false) // Ethereum mainnet, not Polygon
	c, err := Dial(context.Background(), url, 137, 5*time.Second)
	if err == nil {
		c.Close()
		t.Fatal("Dial accepted a node of chain 1 for chain 137")
	}
	msg := err.Error()
	if !strings.Contains(msg, "serves chain 1") || !strings.Contains(msg, "chain.chain_id is 137") {
		t.Errorf("error %q does not say which chain the node serves and which the config wants", msg)
	}
	if strings.Contains(msg, "SECRET-API-KEY") {
		t.Errorf("error %q shows the rpc url's path or query", msg)
	}
}

func TestDialRefusesHostileChainIDAnswers(t *testing.T) {
	huge := []byte(`{"jsonrpc":"2.0","id":1,"result":"0x` + strings.Repeat("f", 1<<20) + `"}`)
	cases := []struct {
		name string
		id   string
		raw  []byte
		hang bool
	}{
		{"a chain id beyond 64 bits", "0x" + strings.Repeat("f", 40), nil, false},
		{"a chain id that is not hex", "polygon", nil, false},
		{"a megabyte chain id", "", huge, false},
		{"malformed JSON", "", []byte(`{"jsonrpc":"2.0","id":1,"result":`), false},
		{"an error instead of a result", "", []byte(`{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"SECRET-API-KEY invalid"}}`), false},
		{"no answer at all", "", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			url := rpcNode(t, c.id, c.raw, c.hang)
			cl, err := Dial(context.Background(), url, 137, 500*time.Millisecond)
			if err == nil {
				cl.Close()
				t.Fatal("Dial accepted the node")
			}
			if len(err.Error()) > 1000 {
				t.Errorf("a %d-byte error", len(err.Error()))
			}
		})
	}
}
