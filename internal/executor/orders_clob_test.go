package executor

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// liveRig is the executor trading through the live broker on clobsim, all on one clock.
type liveRig struct {
	srv   *clobsim.Server
	addr  common.Address
	st    *store.Store
	e     *Executor
	w     *wall
	token string
}

// recordHook is the state store with a hook run as each intent is recorded (a slow disk).
type recordHook struct {
	*store.Store
	onIntent func()
}

func (r recordHook) Record(d store.Decision, in *store.Intent) error {
	if in != nil && r.onIntent != nil {
		r.onIntent()
	}
	return r.Store.Record(d, in)
}

func newLiveRig(t *testing.T, feeBps int, hook func(*liveRig)) *liveRig {
	t.Helper()
	w := newWall()
	srv, live, addr := startLiveCLOB(t, "100", func(so *clobsim.Options, bo *broker.CLOBOptions) {
		so.Markets[0].FeeRateBps, so.Now, bo.Now = feeBps, w.now, w.now
	})
	r := &liveRig{srv: srv, addr: addr, w: w, token: clobToken}
	r.st = openStore(t, t.TempDir())
	var st Store = r.st
	if hook != nil {
		st = recordHook{Store: r.st, onIntent: func() { hook(r) }}
	}
	var err error
	r.e, err = New(Options{Broker: live, Preparer: live, Store: st, Strategy: policy("1", 0), Now: r.w.now, Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	r.e.queues = r.e.queues[:1]
	return r
}

// copyBuy copies a leader BUY of shares for collateral and returns the copy's intent.
func (r *liveRig) copyBuy(t *testing.T, shares, collateral uint64) store.Intent {
	t.Helper()
	fillN++
	f := fill(alice, polymarket.Buy, 1001, shares, collateral, fillN)
	if err := r.e.Submit(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	r.e.copy(context.Background(), <-r.e.queues[0])
	in, ok, err := r.st.IntentFor(store.IntentIDOf(&f))
	if err != nil || !ok {
		t.Fatalf("no intent for the copy: %v", err)
	}
	return in
}

// The order the CLOB receives is the very order whose hash the intent journaled, even when a
// second pricing would differ: here the disk is slow, the market metadata expires while the
// intent is written, and meanwhile the market's tick size changed.
func TestTheJournaledOrderIsTheOnePosted(t *testing.T) {
	r := newLiveRig(t, 0, func(r *liveRig) {
		r.w.advance(6 * time.Minute)
		if err := r.srv.SetTickSize(r.token, decimal.RequireFromString("0.001")); err != nil {
			t.Error(err)
		}
	})
	// Leader price 0.5034: the limit is 0.52 on the 0.01 grid, 0.523 on the 0.001 grid.
	in := r.copyBuy(t, 10_000_000, 5_034_000)
	if n := r.srv.Requests(clobsim.RoutePostOrder); n != 1 {
		t.Fatalf("%d orders posted, want 1", n)
	}
	posted, ok := r.srv.Order(in.OrderHash)
	if !ok {
		t.Fatalf("the CLOB never received the order %s the intent journaled", in.OrderHash.Hex())
	}
	if !posted.Price.Equal(decimal.RequireFromString("0.52")) || in.Status != store.StatusFilled {
		t.Fatalf("posted %+v, intent %+v", posted, in)
	}
}

// A market BUY that meets a better book holds the shares that truly traded, more than ordered,
// and its cost includes the taker fee the CLOB charged.
func TestMarketBuyRecordsTheSharesAndFeeThatTraded(t *testing.T) {
	r := newLiveRig(t, 200, nil)
	// 10 shares at the leader's 0.50: a market BUY of 5.20 (the 0.52 limit) that fills at 0.50.
	in := r.copyBuy(t, 10_000_000, 5_000_000)
	posted, _ := r.srv.Order(in.OrderHash)
	res := in.Result
	if in.Status != store.StatusFilled || res.FilledShares != 10_400_000 || res.FilledCollateral != 5_200_000 ||
		res.Fee != uint64(posted.Fee) || res.Fee != 52_000 {
		t.Fatalf("result %+v; the CLOB filled %d shares and charged %d", res, posted.SizeMatched, posted.Fee)
	}
	p, ok, err := r.st.Position(r.token)
	if err != nil || !ok || p.Shares != 10_400_000 || p.Cost != 5_252_000 {
		t.Fatalf("position %+v %v %v, want 10.4 shares that cost 5.252 (fee included)", p, ok, err)
	}
	if held := r.srv.Balance(r.addr).Tokens[r.token]; uint64(held) != p.Shares {
		t.Fatalf("the CLOB account holds %d, polybot's position %d", held, p.Shares)
	}
}

// A copy the CLOB would not take (engine restart, for longer than the client waits) did not
// trade: its intent is completed unfilled, it is sent once, it is not a rejection, and the
// breaker counts it as one CLOB failure.
func TestOrderTheCLOBWillNotTakeIsUnfilledNotPending(t *testing.T) {
	r := newLiveRig(t, 0, nil)
	if err := r.srv.Pause(http.StatusTooEarly, time.Hour); err != nil {
		t.Fatal(err)
	}
	in := r.copyBuy(t, 10_000_000, 5_000_000)
	if in.Status != store.StatusUnfilled {
		t.Fatalf("intent %s, want unfilled (the order never reached the book)", in.Status)
	}
	if n := r.srv.Requests(clobsim.RoutePostOrder); n != 1 {
		t.Fatalf("%d POSTs, want 1", n)
	}
	if s := r.e.Stats(); s.Unresolved != 0 || s.Failed != 1 {
		t.Fatalf("stats %+v", s)
	}
	if b := r.e.Breaker(); b.Failures != 1 {
		t.Fatalf("breaker %+v, want one CLOB failure", b)
	}
}
