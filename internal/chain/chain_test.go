package chain

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ethereum/go-ethereum/rpc"
	"go.uber.org/goleak"
)

type rpcErr struct {
	code int
	msg  string
}

func (e rpcErr) Error() string  { return e.msg }
func (e rpcErr) ErrorCode() int { return e.code }

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name         string
		err          error
		rate, ranged bool
	}{
		{"http 429", fmt.Errorf("get logs: %w", rpc.HTTPError{StatusCode: 429, Status: "429 Too Many Requests"}), true, false},
		{"rate limit message", errors.New("rate limit exceeded, retry later"), true, false},
		{"too many requests", errors.New("Too Many Requests"), true, false},
		{"infura result cap", rpcErr{-32005, "query returned more than 10000 results"}, false, true},
		{"alchemy range", errors.New("Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range"), false, true},
		{"block range too large", errors.New("block range is too large"), false, true},
		{"code -32005 alone", rpcErr{-32005, "limit exceeded"}, false, true},
		{"too many results", errors.New("too many results"), false, true},
		// The messages real providers send (sources in chain.go's rangeLimits).
		{"infura result cap with a hint", rpcErr{-32005, "query returned more than 10000 results. Try with this block range [0xBDE5F8, 0x102DBCC]."}, false, true},
		{"infura block-range cap", rpcErr{-32602, "range 1000000 exceeds limit of 10000"}, false, true},
		{"quicknode range", rpcErr{-32614, "eth_getLogs is limited to a 10,000 range"}, false, true},
		{"alchemy response size", rpcErr{-32602, "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters and the response size limit, this block range should work: [0x0, 0xd043b8]"}, false, true},
		{"alchemy free tier 500", rpcErr{-32600, "You can make eth_getLogs requests with up to a 500 block range. Based on your parameters, this block range should work: [0x123c9b2, 0x123cba5]"}, false, true},
		{"alchemy free tier 10", errors.New("Under the Free tier plan, you can make eth_getLogs requests with up to a 10 block range"), false, true},
		{"publicnode", rpcErr{-32000, "exceed maximum block range: 50000"}, false, true},
		{"reth range", rpcErr{-32602, "query exceeds max block range 5000"}, false, true},
		{"reth results", rpcErr{-32602, "query exceeds max results 20000, retry with the range 25766988-25775072"}, false, true},
		{"polygon rpc", errors.New("eth_getLogs block range too large, range: 99991, max: 3500"), false, true},
		{"polygon cdk-erigon", rpcErr{-32005, "block range too large, max range: 1000"}, false, true},
		{"frontier too wide", rpcErr{-32603, "block range is too wide (maximum 1024)"}, false, true},
		{"morph larger", rpcErr{-32000, "block range is larger than max block range, block range = 5120, max block range = 5000"}, false, true},
		{"scroll bigger", rpcErr{-32000, "block range is bigger than maxBlockRange"}, false, true},
		{"tenderly bigger", errors.New("invalid params: range 9009594 is bigger than range limit 2000"), false, true},
		{"candle too high", rpcErr{-32600, "block range too high"}, false, true},
		// Refusals a smaller range does not cure.
		{"geth invalid range", rpcErr{-32000, "invalid block range params"}, false, false},
		{"beyond head", rpcErr{-32000, "block range extends beyond current head block"}, false, false},
		{"beyond head with code -32005", rpcErr{-32005, "block range extends beyond current head block"}, false, false},
		{"infura daily cap", rpcErr{-32005, "daily request count exceeded, request rate limited"}, true, false},
		{"plain failure", errors.New("connection reset by peer"), false, false},
		{"nil", nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsRateLimited(tt.err); got != tt.rate {
				t.Errorf("IsRateLimited = %v, want %v", got, tt.rate)
			}
			if got := IsRangeLimited(tt.err); got != tt.ranged {
				t.Errorf("IsRangeLimited = %v, want %v", got, tt.ranged)
			}
		})
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSpanHalvesAndGrowsBack(t *testing.T) {
	s := NewSpan(2000)
	for _, want := range []uint64{1000, 500, 250} {
		if !s.Refused() || s.Blocks() != want {
			t.Fatalf("after a refusal the span is %d blocks, want %d", s.Blocks(), want)
		}
	}
	for i := 1; i < SpanGrowAfter; i++ {
		if s.Succeeded() {
			t.Fatalf("span grew after %d successes, want %d in a row", i, SpanGrowAfter)
		}
	}
	if !s.Succeeded() || s.Blocks() != 500 {
		t.Fatalf("after %d successes the span is %d blocks, want 500", SpanGrowAfter, s.Blocks())
	}
	for range 3 * SpanGrowAfter {
		s.Succeeded()
	}
	if s.Blocks() != 2000 {
		t.Fatalf("after many successes the span is %d blocks, want the configured 2000", s.Blocks())
	}
	s.Refused()
	for range SpanGrowAfter - 1 {
		s.Succeeded()
	}
	s.Refused() // a refusal breaks the streak
	s.Succeeded()
	if s.Blocks() != 500 {
		t.Fatalf("span = %d blocks, want 500: growth needs successes in a row", s.Blocks())
	}
	one := NewSpan(1)
	if one.Refused() {
		t.Fatal("a one-block span reported a refusal it could cure by halving")
	}
}
