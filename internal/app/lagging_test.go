package app

import (
	"testing"
	"time"

	"github.com/polybot/polybot/internal/testing/faultproxy"
)

// The lagging-backend drill: polybot (paper, three leaders, wide limits) behind a provider whose
// log backend lags its head (faultproxy.Lagging: the first answer about each of the newest
// blocks lacks their logs), stopped and started again four times while the leaders trade, in
// polling and in websocket mode. Every leader fill is decided exactly once: one decision each in
// the store, no copy placed twice. Before the checkpoint moved only over blocks read bound to
// them, polling mode decided none of them.
func TestLaggingLogBackendDrill(t *testing.T) {
	for _, scheme := range []string{"http", "ws"} {
		t.Run(scheme, func(t *testing.T) {
			s := startSim(t)
			p, err := faultproxy.NewLagging(s.HTTPURL(), s.WSURL(), 1)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Close() })
			cfg := demoConfig(t, s)
			cfg.Chain.RPCURL = p.URL(scheme)
			cfg.Chain.PollInterval = 50 * time.Millisecond
			cfg.Chain.StartBlock = 1
			cl := &copyLog{}
			var r *running
			stopped := true
			// emit mines n blocks of one leader fill each; while polybot runs, each block is
			// the newest one when polybot first asks about it (what the lag hits).
			emit := func(n int) {
				for range n {
					if _, _, err := s.EmitRandomFill(); err != nil {
						t.Fatal(err)
					}
					b, err := s.Commit()
					if err != nil {
						t.Fatal(err)
					}
					if !stopped {
						waitFor(t, "polybot to see the new block", 30*time.Second, func() bool { return r.app.Monitor().Stats().Head >= b })
					}
				}
			}
			const runs = 4
			t.Cleanup(func() { // a failed test still stops polybot before polysim and the proxy
				if !stopped {
					r.cancel()
					<-r.done
				}
			})
			for i := range runs {
				r, stopped = start(t, Options{Config: cfg, Broker: cl}), false
				emit(5)
				if i < runs-1 {
					r.stop(t) // SIGTERM
					stopped = true
					emit(3) // while polybot is down
				}
			}
			emitted := s.Emitted()
			decided := func() int {
				n, err := r.app.Store().DecisionCount()
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			// The chain goes on, as a real one does: the checks run on new heads.
			for deadline := time.Now().Add(60 * time.Second); decided() < len(emitted) && time.Now().Before(deadline); {
				commit(t, s)
				time.Sleep(200 * time.Millisecond)
			}
			st := p.Stats()
			n := decided()
			t.Logf("FIGURES %s drill, %d restarts: %d leader fills, %d decided; the proxy withheld %d range logs, emptied %d blockHash answers, nulled %d receipts",
				scheme, runs-1, len(emitted), n, st.Omitted, st.Emptied, st.Nulled)
			if st.Omitted+st.Emptied+st.Nulled == 0 {
				t.Fatal("the proxy never lagged; the drill proves nothing")
			}
			if n != len(emitted) {
				t.Fatalf("%d decisions for %d leader fills, want one each", n, len(emitted))
			}
			for k, c := range cl.snapshot() {
				if c != 1 {
					t.Errorf("fill %v copied %d times", k, c)
				}
			}
			r.stop(t)
			stopped = true
		})
	}
}
