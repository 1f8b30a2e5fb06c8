// Package chain connects polybot to a Polygon JSON-RPC node.
package chain

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
)

// Client is what the wallet monitor needs from a node.
type Client interface {
	ethereum.LogFilterer
	SubscribeNewHead(ctx context.Context, ch chan<- *types.Header) (ethereum.Subscription, error)
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	// TransactionReceipt gives a fill's Nth (its transaction's own log order) and tells whether
	// a transaction a reorg removed was included again.
	TransactionReceipt(ctx context.Context, tx common.Hash) (*types.Receipt, error)
	ChainID(ctx context.Context) (*big.Int, error)
	Close()
}

// Dial connects to rawURL (ws, wss, http or https) within timeout and checks that the node serves
// chain wantChainID. It never includes the URL itself in errors: providers put API keys in it.
func Dial(ctx context.Context, rawURL string, wantChainID uint64, timeout time.Duration) (Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("rpc url does not parse")
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := ethclient.DialContext(dctx, rawURL)
	if err != nil {
		return nil, fmt.Errorf("dial %s://%s: %w", u.Scheme, u.Host, err)
	}
	id, err := c.ChainID(dctx)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("chain id from %s: %w", u.Host, err)
	}
	if !id.IsUint64() || id.Uint64() != wantChainID {
		c.Close()
		return nil, fmt.Errorf("node %s serves chain %s, config chain.chain_id is %d", u.Host, id, wantChainID)
	}
	return c, nil
}

// IsRateLimited reports whether err is a node or provider refusing a call because of its rate:
// an HTTP 429, or a JSON-RPC error saying "rate limit", "too many requests" or "exceeded ...
// capacity". Such a call is retried after a longer wait, not at once.
func IsRateLimited(err error) bool {
	if err == nil {
		return false
	}
	var he rpc.HTTPError
	if errors.As(err, &he) && he.StatusCode == http.StatusTooManyRequests {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"rate limit", "ratelimit", "rate-limit", "too many requests", "429", "exceeded its capacity", "request rate exceeded", "compute units"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// limitExceeded is the JSON-RPC error code several providers use for eth_getLogs answers that
// would be too large.
const limitExceeded = -32005

// IsRangeLimited reports whether err is a node refusing an eth_getLogs call because its block
// range or its result is too large ("query returned more than 10000 results", "block range is
// too large", "exceed maximum block range", "limit exceeded", code -32005). The caller retries
// with a smaller range. A rate limit is not a range limit, even when it says "too many".
func IsRangeLimited(err error) bool {
	if err == nil || IsRateLimited(err) {
		return false
	}
	var re rpc.Error
	if errors.As(err, &re) && re.ErrorCode() == limitExceeded {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"query returned more than", "block range", "range is too large", "too many", "limit exceeded", "response size", "max results"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
