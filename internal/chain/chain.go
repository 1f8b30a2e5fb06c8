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
// would be too large (Infura: "query returned more than 10000 results", code -32005).
const limitExceeded = -32005

// notRangeLimits are refusals that mention a block range but that a smaller range does not
// cure: geth's "invalid block range params" (from > to) and "block range extends beyond current
// head block" (publicnode and lagging geth-based nodes answer it for a toBlock past their head).
// They are checked first, so "block range" in them never reads as a range limit.
var notRangeLimits = []string{
	"invalid block range",
	"beyond current head",
}

// rangeLimits are the messages real nodes and providers send when an eth_getLogs range or its
// answer is too large, lower-cased, each with its source:
var rangeLimits = []string{
	// Infura, result cap, code -32005 (status-im/nimbus-eth2 issue 1823; aurora-relayer PR 327):
	// "query returned more than 10000 results"; newer answers add "Try with this block range
	// [0x.., 0x..]." (ethers.js issue 4703).
	"query returned more than",
	// Infura, block-range cap, code -32602 (INFURA/infura issue 237):
	// "range 1000000 exceeds limit of 10000".
	"exceeds limit of",
	// QuickNode, code -32614 (eternalsafe/wallet issue 57; arbitrum-sdk issue 609):
	// "eth_getLogs is limited to a 10,000 range".
	"is limited to a",
	// Alchemy, code -32602 (ethers.js issue 4703; bancorprotocol/webapp issue 523):
	// "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block
	// range ..."; free tier, code -32600 (BobTheBuidler/dank_mids issue 772): "You can make
	// eth_getLogs requests with up to a 500 block range. Based on your parameters, this block
	// range should work: [..]"; "Under the Free tier plan, you can make eth_getLogs requests
	// with up to a 10 block range".
	"response size exceeded",
	"requests with up to a",
	// publicnode (and BSC/Sepolia nodes behind it): "exceed maximum block range: 50000".
	"exceed maximum block range",
	// reth: "query exceeds max block range 5000", "query exceeds max results 20000, retry with
	// the range a-b" (paradigmxyz/reth PR 8558, issue 23810).
	"exceeds max block range",
	"exceeds max results",
	// Polygon RPC (Bor behind a gateway): "eth_getLogs block range too large, range: 99991,
	// max: 3500" (AlphaWallet/alpha-wallet-ios issue 3733); Polygon cdk-erigon: "block range
	// too large, max range: N" (0xPolygon/cdk-erigon PR 1706).
	"block range too large",
	"block range is too large",
	// Frontier-based nodes: "block range is too wide (maximum 1024)" (moonbeam PR 3250).
	"block range is too wide",
	"block range too wide",
	// Others seen on EVM gateways: "block range is larger than max block range" (Morph),
	// "block range is bigger than maxBlockRange" (scroll-tech/go-ethereum PR 529),
	// "range 9009594 is bigger than range limit 2000" (Tenderly, boba_legacy issue 827),
	// "block range too high" (AlphaWallet issue 5277).
	"than max block range",
	"bigger than",
	"block range too high",
	// Generic forms: cdk-erigon's first "limit exceeded" (code -32005), "too many results".
	"limit exceeded",
	"too many results",
	"max results",
}

// IsRangeLimited reports whether err is a node refusing an eth_getLogs call because its block
// range or its result is too large (the messages above, or code -32005 without a rate limit's
// words). The caller retries with a smaller range. A rate limit is not a range limit, even when
// it says "too many"; neither is an invalid range or one beyond the node's head.
func IsRangeLimited(err error) bool {
	if err == nil || IsRateLimited(err) {
		return false
	}
	msg := strings.ToLower(err.Error())
	for _, s := range notRangeLimits {
		if strings.Contains(msg, s) {
			return false
		}
	}
	var re rpc.Error
	if errors.As(err, &re) && re.ErrorCode() == limitExceeded {
		return true
	}
	for _, s := range rangeLimits {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
