package app

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/sim"
)

// startPayoutSim is startSim with polysim's payout stand-ins (sim.Options.Payouts): the CTF,
// pUSD and the collateral adapter where they sit on Polygon.
func startPayoutSim(t *testing.T) *sim.Sim {
	t.Helper()
	s, err := sim.New(sim.Options{Leaders: 3, Payouts: true, Log: zaptest.NewLogger(t).Named("polysim")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("polysim: %v", err)
		}
	})
	return s
}

// polybot in mode live against polysim: a market that resolves closes its position at the
// payout, redeems it through the collateral adapter with the default configuration, counts it
// only when the receipt shows the pUSD arriving, and frees the open-position slot so that a BUY
// skipped for risk.max_open_positions is copied afterwards.
func TestLiveResolvedMarketIsRedeemedAndFreesItsPosition(t *testing.T) {
	s := startPayoutSim(t)
	c, cfg := liveOnPolysim(t, s, sim.CLOBOptions{})
	commit(t, s) // mines the trading account's gas
	ec, err := ethclient.Dial(s.HTTPURL())
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	cfg.Live.RequestTimeout = 5 * time.Second
	cfg.Resolution.Interval = time.Second
	cfg.Risk.MaxOpenPositions = 1
	r := startLive(t, cfg)
	st := r.app.Store()
	leader, markets := s.LeaderAddresses()[0], s.Markets()
	a, b := markets[0], markets[1]
	buy := func(token *big.Int) {
		t.Helper()
		if _, err := s.EmitMatch(sim.Match{Leader: leader, Side: polymarket.Buy, TokenID: token, Shares: 10 * sim.Unit, Price: 40 * sim.Unit / 100}); err != nil {
			t.Fatal(err)
		}
		commit(t, s)
	}
	decided := func(n uint64) {
		t.Helper()
		waitFor(t, "the decision", 30*time.Second, func() bool {
			e := r.app.Executor().Stats()
			return e.Copied+e.Skipped+e.Failed >= n
		})
	}
	buy(a)
	decided(1)
	buy(b)
	decided(2)
	if e := r.app.Executor().Stats(); e.Copied != 1 || e.Skipped != 1 {
		t.Fatalf("with max_open_positions 1, the second market's BUY: %+v", e)
	}
	pos, open, err := st.Position(a.String())
	if err != nil || !open {
		t.Fatalf("position in the first market: %v %v", open, err)
	}
	if lp, err := st.LeaderPositions(); err != nil || lp[a.String()][leader] != 10*sim.Unit {
		t.Fatalf("leader book before the resolution: %v %v", lp, err)
	}

	if _, err := s.ResolveMarket(a, true); err != nil {
		t.Fatal(err)
	}
	commit(t, s)
	var closed store.Position
	waitFor(t, "the resolution and the redemption's receipt", 60*time.Second, func() bool {
		if _, err := s.Commit(); err != nil { // mines the redemption once sent
			t.Fatal(err)
		}
		cs, err := st.ClosedPositions(time.Time{})
		if err != nil || len(cs) == 0 || cs[0].Resolution == nil || cs[0].Resolution.RedeemState != store.RedeemPaid {
			return false
		}
		closed = cs[0]
		return true
	})
	res := closed.Resolution
	if closed.Token != a.String() || res.Payout != pos.Shares || res.PnL != int64(pos.Shares)-int64(pos.Cost) {
		t.Fatalf("resolved %s: payout %d P&L %d for %d shares costing %d", closed.Token, res.Payout, res.PnL, pos.Shares, pos.Cost)
	}
	if _, open, _ := st.Position(a.String()); open {
		t.Fatal("the resolved position is still open")
	}
	// The leader's position in the resolved market leaves the leader book (bounded storage).
	waitFor(t, "the leader book pruned", 30*time.Second, func() bool {
		lp, err := st.LeaderPositions()
		return err == nil && lp[a.String()] == nil
	})

	// The redemption is a real transaction on the chain, from polybot's key to the adapter, and
	// the winnings arrived in the trading account as pUSD.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rcpt, err := ec.TransactionReceipt(ctx, res.RedeemTx)
	if err != nil {
		t.Fatalf("redemption %s not mined: %v", res.RedeemTx, err)
	}
	tx, _, err := ec.TransactionByHash(ctx, res.RedeemTx)
	if err != nil || rcpt.Status != types.ReceiptStatusSuccessful || *tx.To() != polymarket.CtfRedeemAdapter {
		t.Fatalf("redemption %+v %v", rcpt, err)
	}
	if got, err := s.TokenBalance(polymarket.CollateralPUSD, c.Address()); err != nil || got.Uint64() != res.Payout || res.RedeemPaid != res.Payout {
		t.Fatalf("pUSD of the trading account %v (%v), paid %d, want %d", got, err, res.RedeemPaid, res.Payout)
	}

	// The slot is free: a new BUY in the second market is copied.
	buy(b)
	decided(3)
	if e := r.app.Executor().Stats(); e.Copied != 2 {
		t.Fatalf("BUY after the resolution freed the slot: %+v", e)
	}
}
