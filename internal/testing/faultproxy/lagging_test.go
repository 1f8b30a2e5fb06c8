package faultproxy

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// node is a JSON-RPC stand-in at head 5 with one log in each of blocks 4 and 5.
func node(t *testing.T) string {
	t.Helper()
	logs := `[{"blockNumber":"0x4","logIndex":"0x0"},{"blockNumber":"0x5","logIndex":"0x0"}]`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			ID     json.RawMessage   `json:"id"`
			Method string            `json:"method"`
			Params []json.RawMessage `json:"params"`
		}
		_ = json.Unmarshal(body, &req)
		result := "null"
		switch req.Method {
		case "eth_blockNumber":
			result = `"0x5"`
		case "eth_getLogs":
			result = logs
			if strings.Contains(string(req.Params[0]), "blockHash") {
				result = `[{"blockNumber":"0x5","logIndex":"0x0"}]`
			}
		case "eth_getBlockReceipts":
			result = `[{"blockNumber":"0x5","logs":[]}]`
		}
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":`+string(req.ID)+`,"result":`+result+`}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func call(t *testing.T, url, method, params string) string {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":7,"method":"`+method+`","params":`+params+`}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return string(m.Result)
}

// The first answer about the newest block lacks its logs (range), is empty (by hash) or null
// (receipts); the second is the node's own; older blocks are never touched.
func TestLaggingWithholdsTheNewestBlockOnce(t *testing.T) {
	p, err := NewLagging(node(t), "", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	url := p.URL("http")
	rng := `[{"fromBlock":"0x1","toBlock":"0x5"}]`
	if got := call(t, url, "eth_getLogs", rng); strings.Contains(got, `"0x5"`) || !strings.Contains(got, `"0x4"`) {
		t.Fatalf("first range answer %s, want block 4's log only", got)
	}
	if got := call(t, url, "eth_getLogs", rng); !strings.Contains(got, `"0x5"`) {
		t.Fatalf("second range answer %s, want block 5's log too", got)
	}
	byHash := `[{"blockHash":"0x0000000000000000000000000000000000000000000000000000000000000005"}]`
	if got := call(t, url, "eth_getLogs", byHash); got != "[]" {
		t.Fatalf("first blockHash answer %s, want []", got)
	}
	if got := call(t, url, "eth_getLogs", byHash); !strings.Contains(got, `"0x5"`) {
		t.Fatalf("second blockHash answer %s, want the log", got)
	}
	if got := call(t, url, "eth_getBlockReceipts", `["0x05"]`); got != "null" {
		t.Fatalf("first receipts answer %s, want null", got)
	}
	if got := call(t, url, "eth_getBlockReceipts", `["0x05"]`); got == "null" {
		t.Fatal("second receipts answer null, want the receipts")
	}
	if st := p.Stats(); st.Omitted != 1 || st.Emptied != 1 || st.Nulled != 1 {
		t.Fatalf("stats %+v, want one of each", st)
	}
}
