package monitor

import (
	"errors"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/eth/filters"
	"github.com/ethereum/go-ethereum/rpc"
	"github.com/ethereum/go-ethereum/trie"
)

// The fake node's raw JSON-RPC: the calls of a bound read (eth_getBlockByNumber,
// eth_getLogs{blockHash}, eth_getBlockReceipts), answered from the same chain of logs as its
// chain.Client methods. Block n's hash is blockHash(n), its parent blockHash(n-1); its bloom and
// receipts root are those of its logs (one receipt per transaction), as a node's are.

func (n *fakeNode) rpcClient() *rpc.Client {
	srv := rpc.NewServer()
	if err := srv.RegisterName("eth", &fakeEth{n}); err != nil {
		panic(err)
	}
	return rpc.DialInProc(srv)
}

type fakeEth struct{ n *fakeNode }

// receiptsOf returns block b's receipts; n.mu must be held.
func (n *fakeNode) receiptsOf(b uint64) types.Receipts {
	var rs types.Receipts
	for _, l := range n.logs {
		if l.BlockNumber != b {
			continue
		}
		if len(rs) == 0 || rs[len(rs)-1].TxHash != l.TxHash {
			rs = append(rs, &types.Receipt{Type: types.LegacyTxType, Status: types.ReceiptStatusSuccessful, TxHash: l.TxHash,
				BlockHash: blockHash(b), BlockNumber: new(big.Int).SetUint64(b), TransactionIndex: uint(len(rs)), Logs: []*types.Log{}})
		}
		r := rs[len(rs)-1]
		l := l
		r.Logs = append(r.Logs, &l)
		r.CumulativeGasUsed = uint64(len(rs)) * 21000
	}
	for _, r := range rs {
		r.Bloom = types.CreateBloom(r)
	}
	return rs
}

func (e *fakeEth) GetBlockByNumber(number hexutil.Uint64, _ bool) (map[string]any, error) {
	n := e.n
	n.mu.Lock()
	defer n.mu.Unlock()
	b := uint64(number)
	if b > n.head {
		return nil, nil
	}
	rs := n.receiptsOf(b)
	var bloom types.Bloom
	for _, r := range rs {
		for _, l := range r.Logs {
			bloom.Add(l.Address.Bytes())
			for _, t := range l.Topics {
				bloom.Add(t.Bytes())
			}
		}
	}
	var parent common.Hash
	if b > 0 {
		parent = blockHash(b - 1)
	}
	if n.forkAt != 0 && b == n.forkAt {
		parent = common.HexToHash("0xf0e1")
	}
	return map[string]any{"number": hexutil.Uint64(b), "hash": blockHash(b), "parentHash": parent, "logsBloom": bloom,
		"receiptsRoot": types.DeriveSha(rs, trie.NewStackTrie(nil))}, nil
}

func (e *fakeEth) GetLogs(crit filters.FilterCriteria) ([]types.Log, error) {
	n := e.n
	if crit.BlockHash == nil {
		return nil, errors.New("fake node: only eth_getLogs by blockHash here")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	q := ethereum.FilterQuery{Addresses: crit.Addresses, Topics: crit.Topics}
	out := []types.Log{}
	if n.hideByHash {
		return out, nil
	}
	for _, l := range n.logs {
		if l.BlockHash == *crit.BlockHash && matches(q, &l) {
			out = append(out, l)
		}
	}
	return out, nil
}

func (e *fakeEth) GetBlockReceipts(hash common.Hash) (types.Receipts, error) {
	n := e.n
	n.mu.Lock()
	defer n.mu.Unlock()
	for b := range n.head + 1 {
		if blockHash(b) == hash {
			rs := slices.Clone(n.receiptsOf(b))
			if n.shortReceipts && len(rs) > 0 {
				rs = rs[:len(rs)-1]
			}
			return rs, nil
		}
	}
	return nil, nil
}

// Client is the raw RPC connection ethclient.Client also exposes.
func (c fakeClient) Client() *rpc.Client { return c.rc }
