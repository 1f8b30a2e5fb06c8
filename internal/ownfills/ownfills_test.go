package ownfills

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/mclock"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/monitor"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
)

var (
	wallet   = common.HexToAddress("0x00000000000000000000000000000000000000aa")
	exchange = common.HexToAddress("0x00000000000000000000000000000000000000ee")
)

func newLedger(t *testing.T) (*Ledger, *store.Store, *mclock.Simulated) {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	clk := new(mclock.Simulated)
	l, err := New(Options{
		Monitor: monitor.Options{
			Dial:      func(context.Context) (chain.Client, error) { return nil, errors.New("no chain in this test") },
			Exchanges: []common.Address{exchange},
		},
		Address: wallet, Store: st, Window: time.Minute, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	return l, st, clk
}

func ownFill(order common.Hash, block uint64, shares uint64) polymarket.Fill {
	return polymarket.Fill{Exchange: exchange, OrderHash: order, Maker: wallet, Taker: exchange, Side: polymarket.Buy,
		TokenID: big.NewInt(7), Shares: shares, Collateral: shares / 2, Block: block,
		TxHash: common.BigToHash(new(big.Int).SetUint64(block))}
}

// A fill whose copy is still waiting for the CLOB's final report is held, readable through Of,
// and keeps the checkpoint before its block so a restart reads it again; once recorded it is
// kept for Window, then forgotten: what the ledger holds does not grow.
func TestLedgerHoldsUnrecordedFillsAndForgetsRecordedOnes(t *testing.T) {
	l, st, clk := newLedger(t)
	hash := common.HexToHash("0x01")
	in := store.Intent{ID: store.IntentID{Tx: common.HexToHash("0xa1")}, Token: "7", Side: polymarket.Buy,
		Shares: 10_000_000, Collateral: 5_000_000, OrderHash: hash}
	if err := st.BeginIntent(in); err != nil {
		t.Fatal(err)
	}
	for range 2 { // handed on twice (a backfill overlapping the stream): one fill
		if err := l.handle(context.Background(), ownFill(hash, 50, 10_000_000)); err != nil {
			t.Fatal(err)
		}
	}
	if fills, _ := l.Of(hash); len(fills) != 1 {
		t.Fatalf("Of: %d fills, want 1", len(fills))
	}
	cp := heldCheckpoint{inner: st.OwnFillsCheckpointer(), l: l}
	if err := cp.Save(80); err != nil {
		t.Fatal(err)
	}
	if b, _, _ := cp.Load(); b != 49 {
		t.Fatalf("checkpoint saved at %d while block 50's fill is unrecorded, want 49", b)
	}
	if err := st.CompleteIntent(in.ID, store.Result{Status: store.StatusFilled, FilledShares: 10_000_000, FilledCollateral: 5_000_000}); err != nil {
		t.Fatal(err)
	}
	l.retry()
	if s := l.Stats(); s.Confirmed != 1 || s.Corrected != 0 || s.Held != 1 {
		t.Fatalf("after the intent completed: %+v, want 1 confirmed, none corrected, still held", s)
	}
	if err := cp.Save(80); err != nil {
		t.Fatal(err)
	}
	if b, _, _ := cp.Load(); b != 80 {
		t.Fatalf("checkpoint %d once the fill is recorded, want 80", b)
	}
	clk.Run(2 * time.Minute)
	l.retry()
	if s := l.Stats(); s.Held != 0 {
		t.Fatalf("%d orders held a window after they were recorded, want 0", s.Held)
	}
	// Forgotten, the order still reads as filled: from its intent's chain record.
	if fills, _ := l.Of(hash); len(fills) != 1 || fills[0].Shares != 10_000_000 || fills[0].Block != 50 {
		t.Fatalf("Of after the window: %+v, want the recorded fill", fills)
	}
	// A fill of another wallet handed on by mistake is not counted as polybot's.
	f := ownFill(common.HexToHash("0x02"), 60, 1)
	f.Maker = exchange
	_ = l.handle(context.Background(), f)
	if s := l.Stats(); s.Fills != 1 || s.Held != 0 {
		t.Fatalf("another wallet's fill was taken: %+v", s)
	}
}
