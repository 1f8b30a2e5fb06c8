package monitor

import (
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
)

// steppingClock is a simulated clock whose every reading is one second after the last, so a
// catch-up of many eth_getLogs calls takes measurable time without sleeping.
type steppingClock struct {
	*mclock.Simulated
	mu sync.Mutex
}

func (c *steppingClock) Now() mclock.AbsTime {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Simulated.Run(time.Second)
	return c.Simulated.Now()
}

// A start that catches up many blocks reports the target, the share done and an ETA while it
// reads, then exactly one "caught up"; the live blocks after it report nothing.
func TestACatchUpReportsItsProgressThenCaughtUpOnce(t *testing.T) {
	node := &fakeNode{}
	for i := range 100 {
		if i%10 == 0 {
			node.mine(leaderLog(leader, 1e6), false)
		} else {
			node.mineEmpty()
		}
	}
	var mu sync.Mutex
	var reports []Progress
	h := newHarness(t, node, func(o *Options) {
		o.BackfillChunk = 10
		o.Clock = &steppingClock{Simulated: new(mclock.Simulated)}
		o.OnProgress = func(p Progress) {
			mu.Lock()
			reports = append(reports, p)
			mu.Unlock()
		}
	})
	h.sink.wait(t, 10)
	node.mine(leaderLog(leader, 1e6), true) // live, after the catch-up
	h.sink.wait(t, 11)
	h.stop(t)

	mu.Lock()
	defer mu.Unlock()
	if len(reports) < 3 {
		t.Fatalf("%d progress reports for a 100-block catch-up in 10-block calls, want one per call: %+v", len(reports), reports)
	}
	caught := 0
	for i, p := range reports {
		if p.From != 1 || p.Target != 100 {
			t.Fatalf("report %d reads blocks %d..%d, want 1..100 (the checkpoint to the head)", i, p.From, p.Target)
		}
		if i > 0 && p.Done <= reports[i-1].Done {
			t.Fatalf("report %d: block %d after %d, want progress", i, p.Done, reports[i-1].Done)
		}
		if p.CaughtUp {
			caught++
			continue
		}
		if (i > 0 && p.ETA <= 0) || p.Percent() <= 0 || p.Percent() >= 100 {
			t.Fatalf("report %d while catching up: %s, want a share below 100%% and an ETA", i, p)
		}
	}
	last := reports[len(reports)-1]
	if caught != 1 || !last.CaughtUp || last.Done != 100 {
		t.Fatalf("%d caught-up reports, last %+v; want exactly one, at the end", caught, last)
	}
	// The ETA is the time left at the speed so far: unknown after the first call; after the
	// second, 80 blocks left at the pace of one 10-block call.
	if first := reports[0]; first.Done != 10 || first.ETA != 0 {
		t.Fatalf("first report %s, want block 10 with the ETA not known yet", first)
	}
	second := reports[1]
	perCall := second.Elapsed
	if want := 8 * perCall; second.Done != 20 || second.ETA < want-time.Second || second.ETA > want+time.Second {
		t.Fatalf("second report %s after %s, want block 20 with an ETA of 8 calls (%s)", second, perCall, want)
	}
	if p, ok := h.mon.CatchUp(); !ok || !p.CaughtUp || p.Target != 100 {
		t.Fatalf("CatchUp() = %+v %v, want the finished catch-up to block 100", p, ok)
	}
}

// A short gap that one eth_getLogs call covers is not a catch-up: no progress is reported.
func TestAShortBackfillReportsNoProgress(t *testing.T) {
	node := &fakeNode{}
	for range 5 {
		node.mine(leaderLog(leader, 1e6), false)
	}
	called := make(chan Progress, 10)
	h := newHarness(t, node, func(o *Options) { o.OnProgress = func(p Progress) { called <- p } })
	h.sink.wait(t, 5)
	h.stop(t)
	if len(called) != 0 {
		t.Fatalf("a 5-block backfill reported progress: %+v", <-called)
	}
	if _, ok := h.mon.CatchUp(); ok {
		t.Fatal("CatchUp() reports a catch-up after a 5-block backfill")
	}
}
