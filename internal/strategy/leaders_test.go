package strategy

import (
	"math/big"
	"testing"

	"github.com/polybot/polybot/internal/polymarket"
)

func leaderFill(side polymarket.Side, shares uint64) polymarket.Fill {
	return polymarket.Fill{Maker: leaderAddr, Side: side, TokenID: big.NewInt(123), Shares: shares, Collateral: shares / 2}
}

func TestLeaderBookTracksTheLeaderPosition(t *testing.T) {
	type step struct {
		fill   polymarket.Fill
		before uint64
		known  bool
		after  uint64
	}
	removed := leaderFill(polymarket.Buy, 5*usdc)
	removed.Removed = true
	tests := []struct {
		name  string
		steps []step
	}{
		{"buys add up and a sell reports the position before it", []step{
			{leaderFill(polymarket.Buy, 60*usdc), 0, true, 60 * usdc},
			{leaderFill(polymarket.Buy, 40*usdc), 60 * usdc, true, 100 * usdc},
			{leaderFill(polymarket.Sell, 25*usdc), 100 * usdc, true, 75 * usdc},
		}},
		{"selling exactly the position closes it", []step{
			{leaderFill(polymarket.Buy, 10*usdc), 0, true, 10 * usdc},
			{leaderFill(polymarket.Sell, 10*usdc), 10 * usdc, true, 0},
		}},
		{"selling one base unit more than seen is unknown and forgets the position", []step{
			{leaderFill(polymarket.Buy, 10*usdc), 0, true, 10 * usdc},
			{leaderFill(polymarket.Sell, 10*usdc+1), 10 * usdc, false, 0},
			{leaderFill(polymarket.Sell, 1), 0, false, 0},
		}},
		{"a sell never seen bought is unknown", []step{
			{leaderFill(polymarket.Sell, 10*usdc), 0, false, 0},
		}},
		{"a removed fill changes nothing", []step{
			{leaderFill(polymarket.Buy, 10*usdc), 0, true, 10 * usdc},
			{removed, 0, false, 10 * usdc},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewLeaderBook()
			for i, s := range tt.steps {
				before, known := b.Apply(s.fill)
				if before != s.before || known != s.known {
					t.Fatalf("step %d: Apply = %d, %v; want %d, %v", i, before, known, s.before, s.known)
				}
				if got, _ := b.Position(leaderAddr, "123"); got != s.after {
					t.Fatalf("step %d: position %d, want %d", i, got, s.after)
				}
			}
			if _, open := b.Position(leaderAddr, "123"); open != (tt.steps[len(tt.steps)-1].after > 0) || b.Len() != map[bool]int{true: 1, false: 0}[open] {
				t.Fatalf("closed positions must be forgotten: Len %d", b.Len())
			}
		})
	}
}

func TestLeaderBookFeedsSellFractions(t *testing.T) {
	// A leader buys 100, we copy 10; it sells 40 then the rest.
	b := NewLeaderBook()
	b.Apply(leaderFill(polymarket.Buy, 100*usdc))
	held := uint64(10 * usdc)
	for _, sold := range []uint64{40 * usdc, 60 * usdc} {
		f := leaderFill(polymarket.Sell, sold)
		before, known := b.Apply(f)
		in := base()
		in.Fill, in.State.Held, in.State.LeaderHeld, in.State.LeaderKnown = f, held, before, known
		in.Rules.MinShares = ShareStep
		d := Decide(in)
		if d.Action != Copy {
			t.Fatalf("sell of %s: %s (%s)", Units(sold), d.Action, d.Reason)
		}
		held -= d.Shares
	}
	if held != 0 {
		t.Fatalf("the leader sold out but we still hold %s", Units(held))
	}
}

func TestMarkedPnL(t *testing.T) {
	tests := []struct {
		name     string
		realised int64
		holdings []Holding
		want     int64
	}{
		{"realised only", -50 * usdc, nil, -50 * usdc},
		{"a marked position adds value less cost", -50 * usdc,
			[]Holding{{Shares: 10 * usdc, Cost: 5 * usdc, Mark: 200_000, Marked: true}}, -53 * usdc},
		{"a gain offsets a loss", 0, []Holding{
			{Shares: 10 * usdc, Cost: 5 * usdc, Mark: 900_000, Marked: true},
			{Shares: 10 * usdc, Cost: 5 * usdc, Mark: 100_000, Marked: true},
		}, 0},
		{"an unmarked position counts at cost", 7, []Holding{{Shares: 10 * usdc, Cost: 5 * usdc}}, 7},
		{"a huge loss saturates", -1 << 62, []Holding{
			{Shares: 0, Cost: 1 << 63, Marked: true},
		}, -1 << 63},
		{"a huge gain saturates", 1 << 62, []Holding{
			{Shares: ^uint64(0), Mark: ^uint64(0), Marked: true},
		}, 1<<63 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MarkedPnL(tt.realised, tt.holdings); got != tt.want {
				t.Fatalf("MarkedPnL = %d, want %d", got, tt.want)
			}
		})
	}
}
