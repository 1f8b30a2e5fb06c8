package ownfills

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/monitor"
	ord "github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/clobsim"
	"github.com/polybot/polybot/internal/testing/sim"
)

// Against polysim's chain: polybot's order that took liquidity (the taker fill, taker = the
// exchange) and its order that rested and was taken (a maker fill, taker = the other order's
// maker) are each read once and confirm their intents; the counterparty's maker fill, in which
// polybot's wallet is only the taker topic, is not counted.
func TestLedgerReadsTakerAndMakerFillsOfTheWalletOnce(t *testing.T) {
	s, err := sim.New(sim.Options{Log: zaptest.NewLogger(t).Named("polysim")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	simDone := make(chan error, 1)
	go func() { simDone <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-simDone; err != nil {
			t.Errorf("polysim: %v", err)
		}
	}()
	c, err := s.StartCLOB(sim.CLOBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wallet := c.Address()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	token := s.Markets()[0]
	took, rested := common.HexToHash("0x7a"), common.HexToHash("0x4e")
	for i, o := range []struct {
		hash   common.Hash
		side   ord.Side
		shares uint64
		coll   uint64
	}{{took, ord.Buy, 10 * sim.Unit, 4 * sim.Unit}, {rested, ord.Sell, 5 * sim.Unit, 3 * sim.Unit}} {
		in := store.Intent{ID: store.IntentID{Tx: common.BigToHash(common.Big1), LogIndex: uint(i)}, Token: token.String(),
			Side: o.side, Shares: o.shares, Collateral: o.coll, OrderHash: o.hash}
		if err := st.BeginIntent(in); err != nil {
			t.Fatal(err)
		}
		if err := st.CompleteIntent(in.ID, store.Result{Status: store.StatusFilled, FilledShares: o.shares, FilledCollateral: o.coll}); err != nil {
			t.Fatal(err)
		}
	}

	l, err := New(Options{
		Monitor: monitor.Options{
			Dial: func(ctx context.Context) (chain.Client, error) {
				return chain.Dial(ctx, s.WSURL(), s.ChainID(), 5*time.Second)
			},
			Exchanges: s.Exchanges(),
		},
		Address: wallet, Store: st, Interval: 20 * time.Millisecond, Log: zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ledgerDone := make(chan error, 1)
	lctx, lcancel := context.WithCancel(context.Background())
	go func() { ledgerDone <- l.Run(lctx) }()
	defer func() {
		lcancel()
		if err := <-ledgerDone; err != nil {
			t.Errorf("ledger: %v", err)
		}
	}()

	ex := s.ExchangeFor(token)
	other := common.HexToAddress("0x00000000000000000000000000000000000000c0")
	// polybot's BUY takes another wallet's resting SELL.
	if _, err := c.Settle(clobsim.Settlement{Exchange: ex, TokenID: token,
		Taker:  &clobsim.SettledOrder{Hash: took, Maker: wallet, Side: ord.Buy, Shares: 10 * sim.Unit, Collateral: 4 * sim.Unit},
		Makers: []clobsim.SettledOrder{{Hash: common.HexToHash("0x0e"), Maker: other, Side: ord.Sell, Shares: 10 * sim.Unit, Collateral: 4 * sim.Unit}}}); err != nil {
		t.Fatal(err)
	}
	// polybot's resting SELL is taken by a counterparty.
	if _, err := c.Settle(clobsim.Settlement{Exchange: ex, TokenID: token,
		Makers: []clobsim.SettledOrder{{Hash: rested, Maker: wallet, Side: ord.Sell, Shares: 5 * sim.Unit, Collateral: 3 * sim.Unit}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for l.Stats().Confirmed < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("own fills not confirmed: %+v", l.Stats())
		}
		if _, err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := l.Stats(); got.Fills != 2 || got.Unmatched != 0 || got.Corrected != 0 {
		t.Fatalf("ledger %+v, want 2 fills read, both confirmed as reported, none unmatched", got)
	}
	for _, h := range []common.Hash{took, rested} {
		in, ok, err := st.IntentOfOrder(h)
		if err != nil || !ok || in.Chain == nil || in.Chain.Fills != 1 || in.Chain.Tx == (common.Hash{}) {
			t.Fatalf("intent of %s: %+v %v %v", h, in.Chain, ok, err)
		}
	}
	if fills, _ := l.Of(rested); len(fills) != 1 || fills[0].Taker == wallet || fills[0].Taker == ex {
		t.Fatalf("the rested order's fill %+v: want a maker fill whose taker is the counterparty", fills)
	}
}
