package store

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/polybot/polybot/internal/polymarket"
)

// Without a CLOB (plain paper mode) polybot never learns that a market resolved, so the
// leader book is bounded by age: Compact forgets a leader position that has not moved for
// ClosedPositionsMaxAge (30 days) unless polybot still holds a lot copied from that leader in
// that token. A position from before stamps were kept ages from the first compaction.
func TestCompactForgetsLeaderPositionsUnmovedForTheMaxAge(t *testing.T) {
	s, c := tempStore(t)
	for _, d := range []Decision{
		leaderDecision(1, "BUY", "6", 5*usdc), // its stamp is taken away below: an older store
		leaderDecision(2, "BUY", "7", 10*usdc),
		leaderDecision(3, "BUY", "8", 10*usdc),
		leaderDecision(4, "BUY", "9", 10*usdc),
	} {
		if err := s.Record(d, nil); err != nil {
			t.Fatal(err)
		}
	}
	copyFill(t, s, intent(30, alice, "8", polymarket.Buy, 2*usdc, usdc)) // polybot holds alice's lot in 8
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLeaderMoved).Delete(lotKey("6", alice))
	}); err != nil {
		t.Fatal(err)
	}
	c.advance(20 * 24 * time.Hour)
	if err := s.Record(leaderDecision(5, "BUY", "9", usdc), nil); err != nil { // 9 moves on day 20
		t.Fatal(err)
	}
	held := func() map[string]bool {
		t.Helper()
		all, err := s.LeaderPositions()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for token := range all {
			out[token] = true
		}
		return out
	}
	for _, step := range []struct {
		day    int
		pruned int
		left   map[string]bool
	}{
		{29, 0, map[string]bool{"6": true, "7": true, "8": true, "9": true}},
		{31, 1, map[string]bool{"6": true, "8": true, "9": true}}, // 7 unmoved for 31 days
		{51, 1, map[string]bool{"6": true, "8": true}},            // 9 unmoved since day 20
		{62, 1, map[string]bool{"8": true}},                       // 6 aged from day 29
	} {
		c.t = t0.Add(time.Duration(step.day) * 24 * time.Hour)
		got, err := s.Compact(c.t)
		if err != nil {
			t.Fatal(err)
		}
		if left := held(); got.LeaderPositions != step.pruned || len(left) != len(step.left) {
			t.Fatalf("day %d: forgot %d, book %v; want %d forgotten, %v left", step.day, got.LeaderPositions, left, step.pruned, step.left)
		} else {
			for token := range step.left {
				if !left[token] {
					t.Fatalf("day %d: book %v; want %v", step.day, left, step.left)
				}
			}
		}
	}
	// Polybot's lot gone, alice's position in 8 goes too.
	copyFill(t, s, intent(31, alice, "8", polymarket.Sell, 2*usdc, usdc))
	if got, err := s.Compact(c.t); err != nil || got.LeaderPositions != 1 || len(held()) != 0 {
		t.Fatalf("after polybot sold its lot: %+v %v, book %v; want it forgotten", got, err, held())
	}
	n := 0
	_ = s.db.View(func(tx *bolt.Tx) error { n = tx.Bucket(bucketLeaderMoved).Stats().KeyN; return nil })
	if n != 0 {
		t.Fatalf("%d stamps left with an empty book", n)
	}
}
