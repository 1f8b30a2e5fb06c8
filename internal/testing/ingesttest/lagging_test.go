package ingesttest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/monitor"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/faultproxy"
	"github.com/polybot/polybot/internal/testing/sim"
)

// A provider whose log backend lags its head (faultproxy.Lagging) answers the first question
// about each of its newest blocks without their logs. These tests run every path that moves the
// checkpoint against polysim and against a real geth node behind such a provider: each leader
// fill must be handed on exactly once all the same.

// lagDepth is how many of the newest blocks the log backend lags: at least the one block the
// issue measured; three so that a geth --dev node, which mines every second on its own, still
// has the block of interest among the lagging ones when the monitor asks.
const lagDepth = 3

// lagChain is a node under test: polysim (blocks mined on demand) or geth --dev.
type lagChain struct {
	name      string
	httpURL   string
	wsURL     string
	chainID   uint64
	exchanges []common.Address
	leaders   []common.Address
	fill      func(t *testing.T) uint64 // mines a block with a leader fill; its number
	tick      func(t *testing.T)        // lets one more block be mined
	head      func(t *testing.T) uint64
	truth     func(t *testing.T) map[string]uint64
}

func simChain(t *testing.T) *lagChain {
	s, err := sim.New(sim.Options{Leaders: 2, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	commit := func(t *testing.T) uint64 {
		n, err := s.Commit()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	var head uint64
	return &lagChain{name: "polysim", httpURL: s.HTTPURL(), wsURL: s.WSURL(), chainID: s.ChainID(), exchanges: s.Exchanges(),
		leaders: s.LeaderAddresses(),
		fill: func(t *testing.T) uint64 {
			if _, _, err := s.EmitRandomFill(); err != nil {
				t.Fatal(err)
			}
			head = commit(t)
			return head
		},
		tick:  func(t *testing.T) { head = commit(t) },
		head:  func(*testing.T) uint64 { return head },
		truth: func(*testing.T) map[string]uint64 { return truthOf(s) },
	}
}

func gethChain(t *testing.T) *lagChain {
	g := startGeth(t, false)
	d := newDriver(t, g)
	return &lagChain{name: "geth", httpURL: g.httpURL(), wsURL: g.wsURL(), chainID: devChainID,
		exchanges: []common.Address{d.exchange}, leaders: leaders,
		fill: func(t *testing.T) uint64 {
			tx, err := d.emit(1, leaders)
			if err != nil {
				t.Fatal(err)
			}
			return d.receipt(tx).BlockNumber.Uint64()
		},
		tick: func(t *testing.T) {
			n := d.head()
			until(t, "the next block", func() bool { return d.head() > n })
		},
		head:  func(*testing.T) uint64 { return d.head() },
		truth: func(*testing.T) map[string]uint64 { return d.truth(leaders) },
	}
}

// eachChain runs f against polysim and, when a geth binary is configured, against geth.
func eachChain(t *testing.T, f func(t *testing.T, c *lagChain)) {
	t.Run("polysim", func(t *testing.T) { f(t, simChain(t)) })
	t.Run("geth", func(t *testing.T) { f(t, gethChain(t)) })
}

func lagProxy(t *testing.T, c *lagChain) *faultproxy.Lagging {
	p, err := faultproxy.NewLagging(c.httpURL, c.wsURL, lagDepth)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func (c *lagChain) run(t *testing.T, cp *copier, url string, ckpt store.Checkpointer, tweak func(*monitor.Options)) *running {
	return runMonitor(t, cp, func(ctx context.Context) (chain.Client, error) {
		return chain.Dial(ctx, url, c.chainID, 5*time.Second)
	}, func(o *monitor.Options) {
		o.Exchanges, o.Leaders = c.exchanges, c.leaders
		o.Checkpoint, o.StartBlock = ckpt, 1
		o.PollInterval, o.CheckpointEvery = 50*time.Millisecond, 20*time.Millisecond
		if tweak != nil {
			tweak(o)
		}
	})
}

// settle makes blocks and waits until every leader fill on the chain was handed on,
// or 20 s; then checks each was handed on exactly once and that the proxy did lag.
//
// With restarts, a fill can be handed on again by the next run: the checkpoint stays before a
// block whose logs could not be read bound to it when polybot stopped, and fills after it that
// were already handed on come again. The executor's stored intents drop those (internal/app's
// drill counts decisions); here restarts allows them, and they are counted.
func (c *lagChain) settle(t *testing.T, cp *copier, p *faultproxy.Lagging, scenario string, mon *monitor.Monitor, restarts bool) {
	t.Helper()
	c.tick(t)
	truth := c.truth(t)
	// The chain goes on as a real one does (polysim mines only when told): the monitor's
	// periodic checks run on new heads.
	for deadline := time.Now().Add(20 * time.Second); !cp.has(truth) && time.Now().Before(deadline); {
		c.tick(t)
		time.Sleep(100 * time.Millisecond)
	}
	ls := p.Stats()
	t.Logf("lagging proxy withheld: %d logs of range answers, %d blockHash answers emptied, %d receipts nulled", ls.Omitted, ls.Emptied, ls.Nulled)
	if ls.Omitted+ls.Emptied+ls.Nulled == 0 {
		t.Fatalf("%s: the proxy never lagged; the test proves nothing", scenario)
	}
	b := mon.BoundStats()
	t.Logf("bound reads: %d blocks, %d proven empty by bloom, %d read by hash, %d from receipts, %d held; %d calls; checkpoint %d head %d",
		b.Blocks, b.BloomEmpty, b.ByHash, b.ByReceipts, b.Held, b.Calls, mon.Stats().Checkpoint, mon.Stats().Head)
	f := cp.figures(truth)
	if restarts {
		t.Logf("FIGURES %s: %s: fills emitted %d, handed on %d, missed %d, handed on again after a restart %d",
			c.name, scenario, f.emitted, f.copied, f.missed, f.duplicates)
		if f.emitted == 0 || f.missed != 0 || f.extra != 0 || f.copied != f.emitted {
			t.Fatalf("%s: %+v, want every fill handed on", scenario, f)
		}
		return
	}
	f.check(t, c.name+": "+scenario, mon.Stats())
}

// Polling mode: the poll's range eth_getLogs that first covers a fill's block lacks it.
func TestLaggingLogBackendPolling(t *testing.T) {
	eachChain(t, func(t *testing.T, c *lagChain) {
		p := lagProxy(t, c)
		cp := newCopier()
		r := c.run(t, cp, p.URL("http"), storeCheckpoint(t), nil)
		for range 6 {
			b := c.fill(t)
			until(t, "the checkpoint to reach the fill's block", func() bool { return r.mon.Stats().Head >= b })
			c.tick(t)
		}
		c.settle(t, cp, p, "polling behind a lagging log backend", r.mon, false)
	})
}

// The catch-up after a (re)start: fills mined while polybot was down, the newest of them in
// the blocks the log backend lags.
func TestLaggingLogBackendCatchUp(t *testing.T) {
	eachChain(t, func(t *testing.T, c *lagChain) {
		p := lagProxy(t, c)
		cp := newCopier()
		ckpt := storeCheckpoint(t)
		r := c.run(t, cp, p.URL("ws"), ckpt, nil)
		r.stop()
		for range 3 {
			c.fill(t)
		}
		r2 := c.run(t, cp, p.URL("ws"), ckpt, nil)
		c.settle(t, cp, p, "catch-up after a restart behind a lagging log backend", r2.mon, false)
	})
}

// The websocket path's periodic checkpoint check, with a subscription that delivers no logs:
// only the check can find the fills.
func TestLaggingLogBackendWebsocketCheck(t *testing.T) {
	eachChain(t, func(t *testing.T, c *lagChain) {
		p := lagProxy(t, c)
		p.SetDropLogs(true)
		cp := newCopier()
		everyHead := func(o *monitor.Options) { o.CheckpointEvery = time.Nanosecond } // each head runs the check
		r := c.run(t, cp, p.URL("ws"), storeCheckpoint(t), everyHead)
		for range 4 {
			b := c.fill(t)
			// New heads, one at a time, until the checkpoint passed the fill's block: the
			// checks run while the block is among the newest, as on a chain that mines at its
			// own pace.
			for r.mon.Stats().Checkpoint < b {
				c.tick(t)
				until(t, "the monitor to see the new head", func() bool { return r.mon.Stats().Head >= c.head(t) })
			}
		}
		c.settle(t, cp, p, "websocket checkpoint check behind a lagging log backend", r.mon, false)
		if st := r.mon.Stats(); st.Polling {
			t.Fatalf("want the websocket path: %+v", st)
		}
	})
}

// The final check at shutdown: a fill the subscription missed is in the newest block when
// polybot stops; the next start must still hand it on.
func TestLaggingLogBackendShutdownCheck(t *testing.T) {
	eachChain(t, func(t *testing.T, c *lagChain) {
		p := lagProxy(t, c)
		p.SetDropLogs(true)
		cp := newCopier()
		ckpt := storeCheckpoint(t)
		slow := func(o *monitor.Options) { o.CheckpointEvery = time.Hour }
		r := c.run(t, cp, p.URL("ws"), ckpt, slow)
		b := c.fill(t)
		until(t, "the monitor to see the fill's block", func() bool { return r.mon.Stats().Head >= b })
		r.stop()
		p.SetDropLogs(false)
		r2 := c.run(t, cp, p.URL("ws"), ckpt, nil)
		c.settle(t, cp, p, "final check at shutdown behind a lagging log backend", r2.mon, false)
	})
}

// The drill: the monitor restarted again and again (a fresh dedup cache each time, resuming from
// the checkpoint file) while leaders trade, behind a lagging log backend, in polling and in
// websocket mode: no leader fill is lost. (internal/app's drill counts the decisions.)
func TestLaggingLogBackendDrill(t *testing.T) {
	for _, scheme := range []string{"http", "ws"} {
		t.Run(scheme, func(t *testing.T) {
			eachChain(t, func(t *testing.T, c *lagChain) {
				p := lagProxy(t, c)
				cp := newCopier()
				ckpt := storeCheckpoint(t)
				const restarts = 4
				var r *running
				for i := range restarts {
					r = c.run(t, cp, p.URL(scheme), ckpt, nil)
					for range 4 {
						c.fill(t)
					}
					if i < restarts-1 {
						r.stop()  // SIGTERM
						c.fill(t) // mined while polybot is down
						c.fill(t)
					}
				}
				c.settle(t, cp, p, fmt.Sprintf("%s drill, %d restarts, lagging log backend", scheme, restarts-1), r.mon, true)
			})
		})
	}
}

// TestBoundReadCost measures what the bound reads of a long catch-up cost: 500 blocks on
// polysim, one in 20 with a leader fill, read from the checkpoint after a restart. It logs the
// figures (run with -v; docs/design.md quotes them) and checks only that every fill came.
func TestBoundReadCost(t *testing.T) {
	c := simChain(t)
	const blocks, every = 500, 20
	for i := range blocks {
		if i%every == every-1 {
			c.fill(t)
		} else {
			c.tick(t)
		}
	}
	cp := newCopier()
	start := time.Now()
	r := c.run(t, cp, c.wsURL, storeCheckpoint(t), nil)
	truth := c.truth(t)
	until(t, "every fill of the catch-up", func() bool { return cp.has(truth) && r.mon.Stats().Checkpoint >= c.head(t)-1 })
	took := time.Since(start)
	b := r.mon.BoundStats()
	t.Logf("FIGURES bound catch-up of %d blocks (%d with a leader fill) in %s: %d calls in %d requests (%.2f calls per block), %d blocks proven empty by bloom, %d read by hash, %d from receipts",
		b.Blocks, len(truth), took.Round(time.Millisecond), b.Calls, b.Requests, float64(b.Calls)/float64(b.Blocks), b.BloomEmpty, b.ByHash, b.ByReceipts)
	cp.figures(truth).check(t, "bound catch-up", r.mon.Stats())
}

// A backend that answers every eth_getLogs{blockHash} with []: only the block's receipts,
// checked against the header's receiptsRoot, can prove what a block holds. The receipts root
// polybot computes from the node's JSON receipts must be the node's own.
func TestBoundReadFromReceipts(t *testing.T) {
	eachChain(t, func(t *testing.T, c *lagChain) {
		p := lagProxy(t, c)
		p.SetEmptyByHash(true)
		cp := newCopier()
		r := c.run(t, cp, p.URL("http"), storeCheckpoint(t), nil)
		for range 4 {
			b := c.fill(t)
			until(t, "the monitor to see the fill's block", func() bool { return r.mon.Stats().Head >= b })
		}
		c.settle(t, cp, p, "bound reads from receipts", r.mon, false)
		if b := r.mon.BoundStats(); b.ByReceipts == 0 {
			t.Fatalf("no block read from its receipts: %+v", b)
		}
	})
}
