package resolution

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
)

// ChainMarkets learns a token's market from the chain alone, for paper trading without a CLOB.
// The V2 exchanges settle every trade with matchOrders(conditionId, takerOrder, makerOrders, …)
// (polymarket.md 3b; clob-client-v2's ExchangeV2 ABI), so the transaction of a leader fill in the
// token names its condition. The transaction is read by hash and its hash recomputed, so its
// input is the one mined in the block the fill was read from, whoever answered. The condition is
// then proven to be the token's: the Conditional Tokens contract derives each outcome token id
// from its condition (CTHelpers.sol: positionId = keccak256(collateral ‖ collectionId(condition,
// 1<<slot))), and the slot whose id over USDC.e or the neg-risk wrapped collateral is the token
// is its outcome slot. A transaction that is no matchOrders call, or whose condition does not
// derive the token, teaches nothing and the next fill's is tried.
type ChainMarkets struct {
	// Dial connects to the node; the connection is closed after each lookup.
	Dial func(ctx context.Context) (TxReader, error)
	// Fills are the transactions of leader fills in a token (NoteFill keeps them as the fills
	// come); Stored, if set, is asked when none is noted (after a restart).
	Fills  *FillTxs
	Stored interface {
		FillTxsOf(token string, max int) ([]common.Hash, error)
	}
	// Collaterals the token ids are derived over; default polymarket.PositionCollaterals.
	Collaterals []common.Address
}

// TxReader reads a transaction by hash (ethclient.Client is one).
type TxReader interface {
	TransactionByHash(ctx context.Context, hash common.Hash) (*types.Transaction, bool, error)
}

// maxTxsTried bounds the fill transactions read for one token per lookup.
const maxTxsTried = 4

// binarySlots is the outcome count of every Polymarket condition: each market, neg-risk ones
// included, is a YES/NO condition of its own.
const binarySlots = 2

// MarketOf implements MarketSource.
func (c ChainMarkets) MarketOf(ctx context.Context, token string) (store.Market, error) {
	id, ok := new(big.Int).SetString(token, 10)
	if !ok {
		return store.Market{}, fmt.Errorf("token %q is not a decimal id", token)
	}
	txs := c.Fills.Of(token)
	if len(txs) == 0 && c.Stored != nil {
		stored, err := c.Stored.FillTxsOf(token, maxTxsTried)
		if err != nil {
			return store.Market{}, fmt.Errorf("fills of %s in the store: %w", token, err)
		}
		txs = stored
		// Kept, so a token whose market the chain does not give is not looked up in the whole
		// store again at every round.
		for i := len(stored) - 1; i >= 0; i-- {
			c.Fills.note(token, stored[i])
		}
	}
	if len(txs) == 0 {
		return store.Market{}, fmt.Errorf("no leader fill of token %s known to read its market from", token)
	}
	cl, err := c.Dial(ctx)
	if err != nil {
		return store.Market{}, fmt.Errorf("dial: %w", err)
	}
	if cc, ok := cl.(interface{ Close() }); ok {
		defer cc.Close()
	}
	collaterals := c.Collaterals
	if len(collaterals) == 0 {
		collaterals = polymarket.PositionCollaterals
	}
	var errs error
	for _, h := range txs[:min(len(txs), maxTxsTried)] {
		m, err := marketFromTx(ctx, cl, h, id, collaterals)
		if err == nil {
			return m, nil
		}
		errs = errors.Join(errs, err)
	}
	return store.Market{}, fmt.Errorf("market of %s not learnt from the chain: %w", token, errs)
}

func marketFromTx(ctx context.Context, cl TxReader, h common.Hash, token *big.Int, collaterals []common.Address) (store.Market, error) {
	tx, pending, err := cl.TransactionByHash(ctx, h)
	switch {
	case err != nil:
		return store.Market{}, fmt.Errorf("transaction %s: %w", h, err)
	case tx == nil || pending:
		return store.Market{}, fmt.Errorf("transaction %s: not mined", h)
	case tx.Hash() != h:
		return store.Market{}, fmt.Errorf("transaction %s: the node answered another (%s)", h, tx.Hash())
	}
	cond, err := polymarket.MatchOrdersCondition(tx.Data())
	if err != nil {
		return store.Market{}, fmt.Errorf("transaction %s: %w", h, err)
	}
	slot, coll, ok := polymarket.SlotOf(cond, binarySlots, token, collaterals)
	if !ok {
		return store.Market{}, fmt.Errorf("transaction %s: condition %s does not derive the token", h, cond)
	}
	negRisk := coll == polymarket.WrappedCollateral
	if to := tx.To(); to != nil {
		for _, e := range polymarket.Exchanges {
			negRisk = negRisk || (e.NegRisk && e.Address == *to)
		}
	}
	return store.Market{Condition: cond, Outcome: slot, Slots: binarySlots, NegRisk: negRisk}, nil
}

// FillTxs keeps, for each outcome token, the transactions of the latest leader fills in it (at
// most maxTxsTried each, and maxConditions tokens: past that the oldest half is dropped, as the
// watcher learns the markets of open positions within a round and keeps them in the store).
// Safe for concurrent use; a nil *FillTxs keeps nothing.
type FillTxs struct {
	mu    sync.Mutex
	txs   map[string][]common.Hash
	order []string
}

// NewFillTxs returns an empty FillTxs.
func NewFillTxs() *FillTxs { return &FillTxs{txs: make(map[string][]common.Hash)} }

// Note keeps f's transaction for its token.
func (t *FillTxs) Note(f *polymarket.Fill) {
	if f == nil || f.Removed || f.TokenID == nil || f.TxHash == (common.Hash{}) {
		return
	}
	t.note(f.TokenID.String(), f.TxHash)
}

func (t *FillTxs) note(token string, h common.Hash) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.txs[token]
	if !ok {
		if len(t.order) >= maxConditions {
			drop := t.order[:len(t.order)/2]
			for _, k := range drop {
				delete(t.txs, k)
			}
			t.order = append([]string(nil), t.order[len(drop):]...)
		}
		t.order = append(t.order, token)
	}
	if slices.Contains(l, h) {
		return
	}
	l = append([]common.Hash{h}, l...)
	t.txs[token] = l[:min(len(l), maxTxsTried)]
}

// Of returns the transactions kept for token, newest first.
func (t *FillTxs) Of(token string) []common.Hash {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.txs[token])
}
