package app

import (
	"strings"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/sim"
)

// TestClosedOnlyMidRunShowsInStatus: the account enters closed-only mode while polybot runs in
// live mode. The first BUY the CLOB refuses for it turns the systemd STATUS= line and the admin
// status (`polybot status`) to say BUYs stopped, exits going on.
func TestClosedOnlyMidRunShowsInStatus(t *testing.T) {
	s := startSim(t)
	c, cfg := liveOnPolysim(t, s, sim.CLOBOptions{})
	r := startLive(t, cfg)
	if line := r.app.StatusLine(); strings.Contains(line, "BUYs stopped") {
		t.Fatalf("status before closed-only mode: %q", line)
	}
	c.Server().SetClosedOnly(c.Address(), true)
	if _, err := s.EmitMatch(sim.Match{Leader: s.LeaderAddresses()[0], Side: polymarket.Buy, TokenID: s.Markets()[0],
		Shares: 10 * sim.Unit, Price: 40 * sim.Unit / 100}); err != nil {
		t.Fatal(err)
	}
	commit(t, s)
	waitFor(t, "the refused copy", 30*time.Second, func() bool { return r.app.Executor().Stats().Failed >= 1 })
	line := r.app.StatusLine()
	if !strings.Contains(line, "BUYs stopped") || !strings.Contains(line, "closed-only") || !strings.Contains(line, "exits go on") {
		t.Fatalf("STATUS= %q, want it to say BUYs stopped for closed-only mode", line)
	}
	if tr := r.app.adminStatus().Executor.Trading; !strings.Contains(tr, "closed-only") {
		t.Fatalf("admin status trading %q", tr)
	}
}

// TestAnUnknownOrderVersionMidRunShowsInStatus: the CLOB starts announcing an order version
// polybot cannot sign while it runs. The BUY it refuses for its version turns the STATUS= line
// and the admin status to say BUYs stopped, naming the version.
func TestAnUnknownOrderVersionMidRunShowsInStatus(t *testing.T) {
	s := startSim(t)
	c, cfg := liveOnPolysim(t, s, sim.CLOBOptions{})
	r := startLive(t, cfg)
	c.Server().SetVersion(9)
	if _, err := s.EmitMatch(sim.Match{Leader: s.LeaderAddresses()[0], Side: polymarket.Buy, TokenID: s.Markets()[0],
		Shares: 10 * sim.Unit, Price: 40 * sim.Unit / 100}); err != nil {
		t.Fatal(err)
	}
	commit(t, s)
	waitFor(t, "the refused copy", 30*time.Second, func() bool { return r.app.Executor().Stats().Failed >= 1 })
	line := r.app.StatusLine()
	if !strings.Contains(line, "BUYs stopped") || !strings.Contains(line, "order version 9") {
		t.Fatalf("STATUS= %q, want it to say BUYs stopped for order version 9", line)
	}
	if tr := r.app.adminStatus().Executor.Trading; !strings.Contains(tr, "order version 9") {
		t.Fatalf("admin status trading %q", tr)
	}
}

// TestClosedOnlyAtStartStaysUpWithBUYsStopped: a daemon whose account is in closed-only mode
// when it starts does not fail (its exits can still trade): it runs, and its STATUS= line says
// BUYs are stopped from the start.
func TestClosedOnlyAtStartStaysUpWithBUYsStopped(t *testing.T) {
	s := startSim(t)
	c, cfg := liveOnPolysim(t, s, sim.CLOBOptions{})
	c.Server().SetClosedOnly(c.Address(), true)
	r := startLive(t, cfg)
	if line := r.app.StatusLine(); !strings.Contains(line, "BUYs stopped") || !strings.Contains(line, "closed-only") {
		t.Fatalf("STATUS= %q, want BUYs stopped for closed-only mode", line)
	}
}

// TestAnUnknownOrderVersionAtStartStaysUpWithBUYsStopped: the CLOB announces an order version
// polybot cannot sign when the daemon starts. polybot does not exit (systemd would restart it
// forever): it runs, its STATUS= line and the admin status (`polybot status`) say BUYs are
// stopped and why. Once the CLOB announces version 2, the next leader BUY is copied.
func TestAnUnknownOrderVersionAtStartStaysUpWithBUYsStopped(t *testing.T) {
	s := startSim(t)
	c, cfg := liveOnPolysim(t, s, sim.CLOBOptions{})
	c.Server().SetVersion(9)
	r := startLive(t, cfg)
	line := r.app.StatusLine()
	if !strings.Contains(line, "BUYs stopped") || !strings.Contains(line, "order version 9") {
		t.Fatalf("STATUS= %q, want BUYs stopped for order version 9", line)
	}
	if tr := r.app.adminStatus().Executor.Trading; !strings.Contains(tr, "order version 9") {
		t.Fatalf("admin status trading %q", tr)
	}
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup, which waits for it
		t.Fatalf("polybot stopped: %v", err)
	default:
	}
	c.Server().SetVersion(2)
	if _, err := s.EmitMatch(sim.Match{Leader: s.LeaderAddresses()[0], Side: polymarket.Buy, TokenID: s.Markets()[0],
		Shares: 10 * sim.Unit, Price: 40 * sim.Unit / 100}); err != nil {
		t.Fatal(err)
	}
	commit(t, s)
	waitFor(t, "the BUY copied", 30*time.Second, func() bool { return r.app.Executor().Stats().Copied >= 1 })
	if line := r.app.StatusLine(); strings.Contains(line, "BUYs stopped") {
		t.Fatalf("STATUS= %q after the CLOB announced version 2", line)
	}
}
