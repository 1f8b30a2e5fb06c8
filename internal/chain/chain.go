// Package chain connects polybot to a Polygon JSON-RPC node.
package chain

import (
	"context"
	"fmt"
	"math/big"
	"net/url"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
)

// Client is what the wallet monitor needs from a node.
type Client interface {
	ethereum.LogFilterer
	SubscribeNewHead(ctx context.Context, ch chan<- *types.Header) (ethereum.Subscription, error)
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
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
