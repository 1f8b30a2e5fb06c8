package app

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// startNotes is a systemd notifier that records, in order, what a start tells systemd.
type startNotes struct {
	mu   sync.Mutex
	msgs []string
}

func (n *startNotes) add(m string) error {
	n.mu.Lock()
	n.msgs = append(n.msgs, m)
	n.mu.Unlock()
	return nil
}
func (n *startNotes) Ready() error                    { return n.add("READY=1") }
func (n *startNotes) Reloading() error                { return nil }
func (n *startNotes) Stopping() error                 { return nil }
func (n *startNotes) Watchdog() error                 { return nil }
func (n *startNotes) WatchdogInterval() time.Duration { return 0 }
func (n *startNotes) Status(line string) error        { return n.add("STATUS=" + line) }
func (n *startNotes) ExtendTimeout(d time.Duration) error {
	return n.add("EXTEND_TIMEOUT_USEC")
}

func (n *startNotes) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.msgs...)
}

// A start that catches up many blocks asks systemd for more start-up time while it reads (so
// TimeoutStartSec does not kill it), says in STATUS= and `polybot status` the target block,
// the share done and the ETA, then "caught up" once, and only then READY=1.
func TestALongCatchUpExtendsTheStartTimeoutAndReportsProgress(t *testing.T) {
	s := startSim(t)
	var head uint64
	for range 120 {
		n, err := s.Commit()
		if err != nil {
			t.Fatal(err)
		}
		head = n
	}
	cfg := demoConfig(t, s)
	cfg.Chain.StartBlock = 1
	cfg.Chain.BackfillChunk = 10
	notes := &startNotes{}
	r := start(t, Options{Config: cfg, Notifier: notes})
	st := r.app.adminStatus()
	r.stop(t)

	msgs := notes.all()
	ready := -1
	extends, progress, caught := 0, 0, 0
	for i, m := range msgs {
		switch {
		case m == "READY=1" && ready < 0:
			ready = i
		case m == "EXTEND_TIMEOUT_USEC":
			if ready >= 0 {
				t.Fatalf("start timeout extended after READY=1: %q", msgs)
			}
			extends++
		case strings.Contains(m, "catching up: block ") && strings.Contains(m, " of ") && strings.Contains(m, "ETA"):
			progress++
		case strings.HasPrefix(m, "STATUS=caught up to block "):
			caught++
		}
	}
	if extends == 0 || progress == 0 || caught != 1 || ready < 0 {
		t.Fatalf("%d extensions, %d progress lines, %d caught-up lines, READY at %d; want each, one caught up: %q",
			extends, progress, caught, ready, msgs)
	}
	c := st.Chain.CatchUp
	if c == nil || !c.CaughtUp || c.Target < head || c.From != 1 || !strings.HasPrefix(c.Line, "caught up to block") {
		t.Fatalf("polybot status catch-up = %+v, want the finished catch-up from block 1 to at least %d", c, head)
	}
}
