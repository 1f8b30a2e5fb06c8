package resolution

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/polymarket"
)

// txNode answers transactions by hash; lie, if set, is answered for every hash.
type txNode struct {
	txs   map[common.Hash]*types.Transaction
	lie   *types.Transaction
	reads int
}

func (n *txNode) TransactionByHash(_ context.Context, h common.Hash) (*types.Transaction, bool, error) {
	n.reads++
	if n.lie != nil {
		return n.lie, false, nil
	}
	tx, ok := n.txs[h]
	if !ok {
		return nil, false, errors.New("not found")
	}
	return tx, false, nil
}

func matchTx(t *testing.T, nonce uint64, cond common.Hash) *types.Transaction {
	t.Helper()
	key, _ := crypto.GenerateKey()
	to := polymarket.NegRiskCTFExchangeV2
	data := append(append([]byte(nil), polymarket.MatchOrdersV2Selector...), cond.Bytes()...)
	tx, err := types.SignNewTx(key, types.LatestSignerForChainID(big.NewInt(137)), &types.LegacyTx{Nonce: nonce, To: &to, Data: append(data, make([]byte, 96)...), GasPrice: big.NewInt(1), Gas: 1})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

type storedTxs map[string][]common.Hash

func (s storedTxs) FillTxsOf(token string, max int) ([]common.Hash, error) { return s[token], nil }

// The market is taken from a fill's transaction only when the CTF's derivation gives the token:
// a matchOrders of another condition, or a node answering another transaction, teaches nothing;
// after a restart the fills come from the store, and are looked up there once.
func TestChainMarketsProveTheConditionByTheTokenID(t *testing.T) {
	cond := polymarket.ConditionIDOf(common.Address{7}, common.Hash{8}, 2)
	other := polymarket.ConditionIDOf(common.Address{7}, common.Hash{9}, 2)
	token := polymarket.PositionID(polymarket.WrappedCollateral, polymarket.CollectionID(cond, big.NewInt(2)))
	good, wrong := matchTx(t, 1, cond), matchTx(t, 2, other)
	node := &txNode{txs: map[common.Hash]*types.Transaction{good.Hash(): good, wrong.Hash(): wrong}}
	dial := func(context.Context) (TxReader, error) { return node, nil }

	fills := NewFillTxs()
	fills.Note(&polymarket.Fill{TokenID: token, TxHash: wrong.Hash()})
	c := ChainMarkets{Dial: dial, Fills: fills}
	if _, err := c.MarketOf(context.Background(), token.String()); err == nil || !strings.Contains(err.Error(), "does not derive the token") {
		t.Fatalf("a matchOrders of another condition: %v", err)
	}
	fills.Note(&polymarket.Fill{TokenID: token, TxHash: good.Hash()})
	m, err := c.MarketOf(context.Background(), token.String())
	if err != nil || m.Condition != cond || m.Outcome != 1 || m.Slots != 2 || !m.NegRisk {
		t.Fatalf("market %+v, %v; want condition %s, outcome 1 of 2, neg-risk", m, err, cond)
	}

	liar := &txNode{lie: wrong}
	c = ChainMarkets{Dial: func(context.Context) (TxReader, error) { return liar, nil }, Fills: fills}
	if _, err := c.MarketOf(context.Background(), token.String()); err == nil || !strings.Contains(err.Error(), "answered another") {
		t.Fatalf("a node answering another transaction: %v", err)
	}

	// After a restart: nothing noted, the store's intents give the fills, once.
	restarted := NewFillTxs()
	c = ChainMarkets{Dial: dial, Fills: restarted, Stored: storedTxs{token.String(): {good.Hash()}}}
	if m, err := c.MarketOf(context.Background(), token.String()); err != nil || m.Condition != cond {
		t.Fatalf("market from the store's fills: %+v, %v", m, err)
	}
	if got := restarted.Of(token.String()); len(got) != 1 || got[0] != good.Hash() {
		t.Fatalf("fills kept from the store: %v", got)
	}
}
