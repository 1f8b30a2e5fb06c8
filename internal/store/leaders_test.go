package store

import (
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/polybot/polybot/internal/polymarket"
)

// leaderDecision is the skip decision of a leader fill n.
func leaderDecision(n int, side, token string, shares uint64) Decision {
	return Decision{Leader: alice, Token: token, Side: side, Action: "skip", Reason: "test",
		Tx: id(n).Tx, LogIndex: id(n).LogIndex, LeaderShares: shares}
}

func leaderPos(t *testing.T, s *Store, token string, next int) (uint64, bool) {
	t.Helper()
	v, ok, err := s.LeaderPosition(alice, token, id(next))
	if err != nil {
		t.Fatal(err)
	}
	return v, ok
}

func TestTheLeaderBookSurvivesARestartAndCountsEachFillOnce(t *testing.T) {
	dir, c := t.TempDir(), &clock{t0}
	s := openAt(t, dir, c, nil)
	for _, d := range []Decision{
		leaderDecision(1, "BUY", "7", 1000*usdc),
		leaderDecision(2, "BUY", "7", 10*usdc),
		leaderDecision(2, "BUY", "7", 10*usdc), // decided again after a crash
		leaderDecision(3, "SELL", "8", 5*usdc), // a position polybot never saw
	} {
		if err := s.Record(d, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, dir, c, nil)
	defer s.Close()
	if v, ok := leaderPos(t, s, "7", 9); !ok || v != 1010*usdc {
		t.Fatalf("leader position after a restart: %d known %v, want 1010 shares", v, ok)
	}
	if v, ok := leaderPos(t, s, "7", 2); !ok || v != 1000*usdc {
		t.Fatalf("position before fill 2, asked again: %d known %v, want the 1000 it found", v, ok)
	}
	if _, ok := leaderPos(t, s, "8", 9); ok {
		t.Fatal("a sell of a position never seen left a position behind")
	}
	// Selling out forgets the position.
	if err := s.Record(leaderDecision(4, "SELL", "7", 1010*usdc), nil); err != nil {
		t.Fatal(err)
	}
	if all, err := s.LeaderPositions(); err != nil || len(all) != 0 {
		t.Fatalf("leader book after the leader sold out: %v (%v), want empty", all, err)
	}
}

func TestTheLeaderBookIsPrunedOnResolutionAndCompaction(t *testing.T) {
	s, c := tempStore(t)
	for n, token := range []string{"7", "8"} {
		if err := s.Record(leaderDecision(n, "BUY", token, 10*usdc), nil); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.PruneLeaderToken("7"); err != nil || n != 1 {
		t.Fatalf("PruneLeaderToken = %d, %v; want 1 position removed", n, err)
	}
	all, err := s.LeaderPositions()
	if err != nil || len(all) != 1 || all["8"][alice] != 10*usdc {
		t.Fatalf("leader book after pruning token 7: %v (%v), want only token 8", all, err)
	}
	c.advance(DefaultIntentsMaxAge + time.Hour)
	got, err := s.Compact(c.now())
	if err != nil || got.LeaderFills != 2 {
		t.Fatalf("Compact = %+v, %v; want 2 leader fill marks dropped", got, err)
	}
	if all, _ := s.LeaderPositions(); all["8"][alice] != 10*usdc {
		t.Fatal("compaction dropped an open leader position")
	}
}

// A copied fill moves the leader book once and leaves no mark: its intent stops it from being
// decided again, so the mark would never be read.
func TestACopiedFillMovesTheLeaderBookOnceWithoutAMark(t *testing.T) {
	s, _ := tempStore(t)
	defer s.Close()
	d := leaderDecision(5, "BUY", "7", 40*usdc)
	d.Action = "copy"
	in := intent(5, alice, "7", polymarket.Buy, 10*usdc, 5*usdc)
	if err := s.Record(d, &in); err != nil {
		t.Fatal(err)
	}
	if err := s.Record(d, &in); !errors.Is(err, ErrIntentExists) {
		t.Fatalf("recording the copied fill again: %v, want ErrIntentExists", err)
	}
	if v, ok := leaderPos(t, s, "7", 9); !ok || v != 40*usdc {
		t.Fatalf("leader position: %d known %v, want 40 shares, counted once", v, ok)
	}
	marks := 0
	_ = s.db.View(func(tx *bolt.Tx) error { marks = tx.Bucket(bucketLeaderFills).Stats().KeyN; return nil })
	if marks != 0 {
		t.Errorf("%d leader fill marks for a copied fill, want none", marks)
	}
}
