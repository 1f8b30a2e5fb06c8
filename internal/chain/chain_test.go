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
