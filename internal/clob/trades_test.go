package clob_test

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// tradesOf returns the trades of the taker order h, read through every page.
func tradesOf(t *testing.T, e *env, h common.Hash) []clob.Trade {
	t.Helper()
	ts, err := e.c.Trades(context.Background(), clob.TradeParams{AssetID: tokenA})
	if err != nil {
		t.Fatal(err)
	}
	var out []clob.Trade
	for _, tr := range ts {
		if strings.EqualFold(tr.TakerOrderID, h.Hex()) {
			out = append(out, tr)
		}
	}
	return out
}

// Trades are read page by page until the end cursor: with one trade a page, all three orders'
// trades are found.
func TestTradesReadsEveryPage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, nil)
	e.sim.TradesPageSize(1)
	var hashes []common.Hash
	for range 3 {
		m, tk := market(t, order.Buy, "0.56", "1.1")
		body, h := e.sign(t, spec{side: order.Buy, maker: m, taker: tk, typ: order.FAK})
		if _, err := e.c.PostOrder(ctx, body); err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, h)
	}
	for _, h := range hashes {
		if n := len(tradesOf(t, e, h)); n != 1 {
			t.Errorf("order %s: %d trades, want 1", h.Hex(), n)
		}
	}
}

// A trade moves MATCHED → MINED (with its transaction) → CONFIRMED; one whose settlement fails
// moves MATCHED → RETRYING → FAILED, and the wallet gets its collateral back.
func TestTradeLifecycleAndAFailedTradeGivesTheBalanceBack(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, nil)
	e.sim.HoldTrades(true)
	before, err := e.c.BalanceAllowance(ctx, clob.AssetCollateral, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	m, tk := market(t, order.Buy, "0.56", "11")
	body, good := e.sign(t, spec{side: order.Buy, maker: m, taker: tk, typ: order.FAK})
	if _, err := e.c.PostOrder(ctx, body); err != nil {
		t.Fatal(err)
	}
	e.sim.FailTrades(1)
	body, bad := e.sign(t, spec{side: order.Buy, maker: m, taker: tk, typ: order.FAK})
	if _, err := e.c.PostOrder(ctx, body); err != nil {
		t.Fatal(err)
	}
	status := func(h common.Hash) (string, string) {
		ts := tradesOf(t, e, h)
		if len(ts) != 1 {
			t.Fatalf("%d trades of %s, want 1", len(ts), h.Hex())
		}
		return clob.TradeStatus(ts[0].Status), ts[0].TransactionHash
	}
	steps := [][2]string{{clob.TradeMatched, clob.TradeMatched}, {clob.TradeMined, clob.TradeRetrying}, {clob.TradeConfirmed, clob.TradeFailed}}
	var retryTx string
	for i, want := range steps {
		if i > 0 {
			e.sim.SettleTrades()
		}
		gs, gtx := status(good)
		bs, btx := status(bad)
		if gs != want[0] || bs != want[1] {
			t.Fatalf("step %d: statuses %s and %s, want %s and %s", i, gs, bs, want[0], want[1])
		}
		if (gs == clob.TradeMined) != (gtx != "") && gs != clob.TradeConfirmed {
			t.Errorf("step %d: trade %s has transaction %q", i, gs, gtx)
		}
		if bs == clob.TradeRetrying {
			retryTx = btx
		}
		if bs == clob.TradeFailed && (btx == "" || btx == retryTx) {
			t.Errorf("the retry of the failed trade kept transaction %q (first %q): a retry is a new transaction", btx, retryTx)
		}
	}
	after, err := e.c.BalanceAllowance(ctx, clob.AssetCollateral, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	// Only the good order's 11 USDC are spent: the failed trade's are given back.
	if want := before.Balance.Sub(d("11000000")); !after.Balance.Equal(want) {
		t.Errorf("collateral %s after one confirmed and one failed BUY of 11, want %s", after.Balance, want)
	}
	if _, err := e.c.GetOrder(ctx, bad.Hex()); !errors.Is(err, clob.ErrOrderNotFound) {
		t.Errorf("GetOrder of the failed order: %v, want not found", err)
	}
}

// settlerFunc is a clobsim.Settler from a function.
type settlerFunc func(clobsim.Settlement) (common.Hash, error)

func (f settlerFunc) Settle(t clobsim.Settlement) (common.Hash, error) { return f(t) }

// With a Settler, a trade's transaction_hash is the one the chain returned; a settlement that
// fails makes the trade RETRYING, and the retry that succeeds mines it under a new hash (a
// replaced transaction).
func TestASettlersTransactionIsTheTradesAndARetryReplacesIt(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, nil)
	e.sim.HoldTrades(true)
	var seen []clobsim.Settlement
	e.sim.SetSettler(settlerFunc(func(st clobsim.Settlement) (common.Hash, error) {
		seen = append(seen, st)
		h := common.BigToHash(big.NewInt(int64(len(seen))))
		if len(seen) == 1 {
			return h, errors.New("reverted")
		}
		return h, nil
	}))
	m, tk := market(t, order.Buy, "0.56", "11")
	body, h := e.sign(t, spec{side: order.Buy, maker: m, taker: tk, typ: order.FAK})
	if _, err := e.c.PostOrder(ctx, body); err != nil {
		t.Fatal(err)
	}
	e.sim.SettleTrades()
	ts := tradesOf(t, e, h)
	if len(ts) != 1 || clob.TradeStatus(ts[0].Status) != clob.TradeRetrying || ts[0].TransactionHash != common.BigToHash(big.NewInt(1)).Hex() {
		t.Fatalf("trades %+v after a failed settlement; want RETRYING with the failed transaction", ts)
	}
	e.sim.SettleTrades()
	ts = tradesOf(t, e, h)
	if len(ts) != 1 || clob.TradeStatus(ts[0].Status) != clob.TradeMined || ts[0].TransactionHash != common.BigToHash(big.NewInt(2)).Hex() {
		t.Fatalf("trades %+v after the retry; want MINED under the new transaction", ts)
	}
	if len(seen) != 2 || seen[0].Taker == nil || seen[0].Taker.Hash != h || seen[0].Taker.Shares != 20_000_000 || seen[0].Taker.Collateral != 11_000_000 {
		t.Fatalf("settler saw %+v; want the order's 20 shares for 11, twice", seen)
	}
}
