package executor

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
)

// A leader selling 10 of 1,010 shares after polybot restarted sells 1% of polybot's
// position, whatever the sizing mode: the leader book is in the store, not in memory. (In
// mode proportional the fallback, copy_ratio x the leader's shares, happens to agree.)
func TestALeaderPartialExitAfterARestartSellsTheSameFraction(t *testing.T) {
	const usdc = 1_000_000
	for _, mode := range []strategy.Mode{strategy.FixedUSDC, strategy.PercentBalance} {
		t.Run(string(mode), func(t *testing.T) {
			dir := t.TempDir()
			p := policy("0.1", 0)
			l := p.Leaders[alice]
			l.Mode, l.Fixed, l.Percent = mode, 101*usdc, decimal.NewFromInt(20) // 202 shares at 0.5
			p.Leaders[alice] = l
			buy := fill(alice, polymarket.Buy, 7, 1010*usdc, 505*usdc, 0)
			sell := fill(alice, polymarket.Sell, 7, 10*usdc, 5*usdc, 1)
			rec := &recorder{}
			for i, f := range []polymarket.Fill{buy, sell} { // one process each, on the same store
				st, err := store.Open(store.Options{Dir: dir})
				if err != nil {
					t.Fatal(err)
				}
				e, err := New(Options{Broker: rec, Store: st, Strategy: p,
					Balance: func(context.Context) (uint64, error) { return 505 * usdc, nil }})
				if err != nil {
					t.Fatal(err)
				}
				stop := run(t, e, 5*time.Second)
				submitAll(t, e, f)
				if err := stop(); err != nil {
					t.Fatal(err)
				}
				if err := st.Close(); err != nil {
					t.Fatal(err)
				}
				if rec.count() != i+1 {
					t.Fatalf("after fill %d the broker saw %d orders, want %d", i, rec.count(), i+1)
				}
			}
			bought, sold := rec.orders[0].Shares, rec.orders[1].Shares
			if bought != 202*usdc || sold != 2*usdc {
				t.Fatalf("bought %s and sold %s shares; want 202 bought and 2 (10/1010 of them) sold",
					strategy.Units(bought), strategy.Units(sold))
			}
		})
	}
}

// A fill decided twice (a skip is decided again when it is read again after a crash) moves
// the leader book once, and is decided again on the position it first found.
func TestALeaderFillMovesTheLeaderBookOnce(t *testing.T) {
	const usdc = 1_000_000
	st := openStore(t, t.TempDir())
	rec := &recorder{}
	p := policy("0.1", 0)
	l := p.Leaders[alice]
	l.MinTrade = 1000 * usdc // every BUY is skipped: no intent marks the fill as done
	p.Leaders[alice] = l
	buy := fill(alice, polymarket.Buy, 7, 100*usdc, 50*usdc, 0)
	for range 2 {
		e := newOn(t, st, rec, p)
		stop := run(t, e, 5*time.Second)
		submitAll(t, e, buy)
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
	if ds := decisions(t, st); len(ds) != 2 || ds[1].Action != "skip" {
		t.Fatalf("decisions %+v, want the buy skipped twice", ds)
	}
	id := store.IntentIDOf(&buy)
	before, known, err := st.LeaderPosition(alice, "7", id)
	if err != nil || before != 0 || known {
		t.Fatalf("position before the buy: %d %v %v, want 0 unknown", before, known, err)
	}
	next := fill(alice, polymarket.Sell, 7, 10*usdc, 5*usdc, 1)
	if held, known, err := st.LeaderPosition(alice, "7", store.IntentIDOf(&next)); err != nil || !known || held != 100*usdc {
		t.Fatalf("leader position after the buy decided twice: %s known %v (%v), want 100", strategy.Units(held), known, err)
	}
}

// Dust (a position below the minimum order) is kept while the leader only reduces, and sold
// whole, marked so for the broker, when the leader exits.
func TestDustIsSoldWholeWhenTheLeaderExits(t *testing.T) {
	const usdc = 1_000_000
	rec := &recorder{}
	e, st := newTestExecutor(t, rec, "0.1", 0)
	stop := run(t, e, 5*time.Second)
	submitAll(t, e, fill(alice, polymarket.Buy, 7, 30*usdc, 15*usdc, 0)) // 3 shares, no minimum yet
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	p := policy("0.1", 0)
	p.Rules.MinShares = 5 * usdc
	e = newOn(t, st, rec, p)
	stop = run(t, e, 5*time.Second)
	submitAll(t, e,
		fill(alice, polymarket.Sell, 7, 10*usdc, 5*usdc, 1),  // 1 share: below the minimum
		fill(alice, polymarket.Sell, 7, 20*usdc, 10*usdc, 2), // the leader is out
	)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	ds := decisions(t, st)
	if len(ds) != 3 || ds[1].Action != "skip" || ds[1].Limit != strategy.LimitMinShares {
		t.Fatalf("decisions %+v; want the partial exit skipped as dust", ds)
	}
	if rec.count() != 2 {
		t.Fatalf("%d orders, want the buy and one sale of the whole remainder", rec.count())
	}
	if o := rec.orders[1]; o.Side != polymarket.Sell || o.Shares != 3*usdc || !o.Whole {
		t.Fatalf("exit order %+v; want a whole-position SELL of 3 shares", o)
	}
	if _, open, err := st.Position("7"); err != nil || open {
		t.Fatalf("position still open after the exit (%v)", err)
	}
}

// A leader's exit read hours late (after an outage) is still mirrored while polybot holds
// the token; a BUY as old is not copied.
func TestAnExitReadLateIsStillMirrored(t *testing.T) {
	const usdc = 1_000_000
	rec := &recorder{}
	e, st := newTestExecutor(t, rec, "0.5", 0) // copy.max_fill_age 1h
	stop := run(t, e, 5*time.Second)
	late := uint64(time.Now().Add(-6 * time.Hour).Unix())
	oldBuy := fill(alice, polymarket.Buy, 8, 20*usdc, 10*usdc, 1)
	oldBuy.BlockTime = late
	exit := fill(alice, polymarket.Sell, 7, 20*usdc, 10*usdc, 2)
	exit.BlockTime = late
	submitAll(t, e, fill(alice, polymarket.Buy, 7, 20*usdc, 10*usdc, 0), oldBuy, exit)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	byTx := map[uint]store.Decision{}
	for _, d := range decisions(t, st) {
		byTx[d.LogIndex] = d
	}
	if d := byTx[1]; d.Action != "skip" || d.Limit != strategy.LimitMaxFillAge {
		t.Fatalf("old BUY decided %+v; want skipped by %s", d, strategy.LimitMaxFillAge)
	}
	if d := byTx[2]; d.Action != "copy" {
		t.Fatalf("old exit decided %+v; want copied", d)
	}
	if _, open, err := st.Position("7"); err != nil || open {
		t.Fatalf("position still open after the leader's late exit (%v)", err)
	}
}
