package ingesttest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/dedup"
	"github.com/polybot/polybot/internal/monitor"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/faultproxy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(settled{m}, leakOptions...) }

// leakOptions ignores the one goroutine pool go-ethereum starts once per process and never stops
// (polysim's chain starts it): the transaction sender cache.
var leakOptions = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/ethereum/go-ethereum/core.(*txSenderCacher).cache"),
}

// settled gives goroutines that end shortly after polysim's Close (its leveldb drains its memory
// pool for up to a second) up to 5 s before goleak looks.
type settled struct{ m *testing.M }

func (s settled) Run() int {
	code := s.m.Run()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if goleak.Find(leakOptions...) == nil {
			break
		}
	}
	return code
}

var leaders = []common.Address{
	common.HexToAddress("0x1000000000000000000000000000000000000001"),
	common.HexToAddress("0x1000000000000000000000000000000000000002"),
}

// copier stands in for the executor: it records every fill handed to it, when, and every
// removal reported.
type copier struct {
	mu      sync.Mutex
	got     map[string]int
	at      map[string]time.Time
	block   map[string]uint64
	removed map[string]int
}

func newCopier() *copier {
	return &copier{got: map[string]int{}, at: map[string]time.Time{}, block: map[string]uint64{}, removed: map[string]int{}}
}

func (c *copier) handle(_ context.Context, f polymarket.Fill) error {
	now := time.Now()
	k := fillKey(f.TxHash, f.LogIndex)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got[k]++
	if _, ok := c.at[k]; !ok {
		c.at[k], c.block[k] = now, f.Block
	}
	return nil
}

func (c *copier) onRemoved(f polymarket.Fill) {
	c.mu.Lock()
	c.removed[fillKey(f.TxHash, f.LogIndex)]++
	c.mu.Unlock()
}

func (c *copier) has(truth map[string]uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range truth {
		if c.got[k] == 0 {
			return false
		}
	}
	return true
}

// figures compares what was copied with the chain: net copies count a reported removal as a
// cancelled copy.
type figures struct{ emitted, copied, duplicates, missed, extra int }

func (c *copier) figures(truth map[string]uint64) figures {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := figures{emitted: len(truth)}
	for k, n := range c.got {
		net := n - c.removed[k]
		if _, ok := truth[k]; !ok {
			if net != 0 {
				f.extra++
			}
			continue
		}
		if net >= 1 {
			f.copied++
			f.duplicates += net - 1
		}
	}
	for k := range truth {
		if c.got[k]-c.removed[k] < 1 {
			f.missed++
		}
	}
	return f
}

func (f figures) check(t *testing.T, scenario string, st monitor.Stats) {
	t.Helper()
	t.Logf("FIGURES %s: fills emitted %d, copied %d, duplicates %d, missed %d (reconnects %d, removed %d, rate limited %d, polling %v)",
		scenario, f.emitted, f.copied, f.duplicates, f.missed, st.Reconnects, st.Removed, st.RateLimited, st.Polling)
	if f.emitted == 0 || f.missed != 0 || f.duplicates != 0 || f.extra != 0 || f.copied != f.emitted {
		t.Fatalf("%s: %+v, want every fill copied exactly once", scenario, f)
	}
}

type running struct {
	mon    *monitor.Monitor
	subbed chan struct{}
	stop   func()
}

func runMonitor(t testing.TB, c *copier, dial func(context.Context) (chain.Client, error), tweak func(*monitor.Options)) *running {
	t.Helper()
	cache, err := dedup.New(dedup.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &running{subbed: make(chan struct{}, 1000)}
	opts := monitor.Options{
		Dial:         dial,
		Leaders:      leaders,
		Dedup:        cache,
		Handler:      c.handle,
		OnRemoved:    c.onRemoved,
		RPCTimeout:   5 * time.Second,
		MaxBackoff:   time.Second,
		MinBackoff:   100 * time.Millisecond,
		OnSubscribed: func() { r.subbed <- struct{}{} },
		Log:          zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)),
	}
	tweak(&opts)
	r.mon, err = monitor.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.mon.Run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("monitor: %v", err)
			}
		})
	}
	t.Cleanup(r.stop)
	r.waitSubscribed(t)
	return r
}

func (r *running) waitSubscribed(t testing.TB) {
	t.Helper()
	select {
	case <-r.subbed:
	case <-time.After(60 * time.Second):
		t.Fatalf("monitor not subscribed within 60 s: %s", r.mon.State())
	}
}

func dialer(url string) func(context.Context) (chain.Client, error) {
	return func(ctx context.Context) (chain.Client, error) {
		return chain.Dial(ctx, url, devChainID, 5*time.Second)
	}
}

// waitAll waits until every fill on the chain (after a last mined call) was handed on.
func waitAll(t testing.TB, d *driver, c *copier) map[string]uint64 {
	t.Helper()
	tx, err := d.emit(1, leaders)
	if err != nil {
		t.Fatal(err)
	}
	mined := d.receipt(tx).BlockNumber.Uint64()
	for d.head() < mined+2 {
		time.Sleep(100 * time.Millisecond)
	}
	truth := d.truth(leaders)
	deadline := time.Now().Add(60 * time.Second)
	for !c.has(truth) {
		if time.Now().After(deadline) {
			f := c.figures(truth)
			t.Fatalf("not every fill handed on within 60 s: %+v", f)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return truth
}

func until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestGethWebsocketDrops(t *testing.T) {
	g := startGeth(t, false)
	d := newDriver(t, g)
	p, err := faultproxy.New(g.wsAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := newCopier()
	cp := storeCheckpoint(t)
	r := runMonitor(t, c, dialer(p.URL("ws")), func(o *monitor.Options) {
		o.Exchanges = []common.Address{d.exchange}
		o.Checkpoint = cp
		o.StartBlock = 1
	})
	const drops = 20
	for range drops {
		for range 5 {
			if _, err := d.emit(2, leaders); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond) // the fault schedule, not a wait for a result
		}
		until(t, "the monitor to be subscribed before the drop", func() bool { return r.mon.Stats().Subscribed })
		if p.Drop() == 0 {
			t.Fatal("drop found no connection")
		}
	}
	truth := waitAll(t, d, c)
	st := r.mon.Stats()
	c.figures(truth).check(t, fmt.Sprintf("(a) %d websocket drops", drops), st)
	if st.Reconnects < drops {
		t.Fatalf("%d reconnects for %d drops", st.Reconnects, drops)
	}
	// The live checkpoint moves at the next eth_getLogs check (monitor.Options.CheckpointEvery).
	until(t, "the checkpoint to reach the last fill's block", func() bool {
		b, ok, err := cp.Load()
		return err == nil && ok && b >= truth[maxKey(truth)]
	})
}

// storeCheckpoint is the checkpoint of a state store in a temporary directory, kept open for
// the test: every monitor the test starts resumes from it.
func storeCheckpoint(t *testing.T) store.Checkpointer {
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st.Checkpointer()
}

func maxKey(m map[string]uint64) string {
	var best string
	for k, v := range m {
		if best == "" || v > m[best] {
			best = k
		}
	}
	return best
}

func TestGethNodeRestartsAndPolybotRestart(t *testing.T) {
	g := startGeth(t, true)
	d := newDriver(t, g)
	c := newCopier()
	cp := storeCheckpoint(t)
	tweak := func(o *monitor.Options) {
		o.Exchanges = []common.Address{d.exchange}
		o.Checkpoint = cp
		o.StartBlock = 1
	}
	r := runMonitor(t, c, dialer(g.wsURL()), tweak)
	const restarts = 3
	for range restarts {
		for range 5 {
			if _, err := d.emit(2, leaders); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		g.restart()
		d.redial()
		for range 3 { // mined while polybot reconnects
			if _, err := d.emit(2, leaders); err != nil {
				t.Fatal(err)
			}
		}
		r.waitSubscribed(t)
	}
	truth := waitAll(t, d, c)
	st := r.mon.Stats()
	c.figures(truth).check(t, fmt.Sprintf("(b) %d node restarts", restarts), st)

	// polybot itself restarts: a fresh dedup cache, resuming from the checkpoint file.
	r.stop()
	for range 5 {
		if _, err := d.emit(2, leaders); err != nil {
			t.Fatal(err)
		}
	}
	r2 := runMonitor(t, c, dialer(g.wsURL()), tweak)
	truth = waitAll(t, d, c)
	c.figures(truth).check(t, "(b2) a polybot restart from the checkpoint file", r2.mon.Stats())
}

func TestGethHTTPOnly(t *testing.T) {
	g := startGeth(t, false)
	d := newDriver(t, g)
	p, err := faultproxy.New(g.httpAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c := newCopier()
	r := runMonitor(t, c, dialer(p.URL("http")), func(o *monitor.Options) {
		o.Exchanges = []common.Address{d.exchange}
		o.StartBlock = 1
		o.PollInterval = 250 * time.Millisecond
		o.RateLimitBackoff = 500 * time.Millisecond
	})
	for i := range 10 {
		for range 3 {
			if _, err := d.emit(2, leaders); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if i%2 == 0 {
			p.Reject(2)
		} else {
			p.Drop()
		}
	}
	truth := waitAll(t, d, c)
	st := r.mon.Stats()
	c.figures(truth).check(t, "(d) http polling only, with 429s and drops", st)
	if !st.Polling || st.RateLimited == 0 || p.Stats().Rejected == 0 {
		t.Fatalf("want polling with rate-limited polls: %+v %+v", st, p.Stats())
	}
}

// BenchmarkGethDetectionDelay measures, over 1000 leader fills on a real geth, the time from a
// block being announced by the node to its fills reaching the handler, and reports its p50, p99
// and max as metrics (a figure to read, never a pass/fail threshold):
//
//	POLYBOT_GETH=$(scripts/geth.sh path) go test -run '^$' -bench GethDetectionDelay -benchtime 1x ./internal/testing/ingesttest/
//
// Each iteration is one full run of 1000 fills. It still fails if a fill is lost.
func BenchmarkGethDetectionDelay(b *testing.B) {
	g := startGeth(b, false)
	d := newDriver(b, g)
	heads := watchHeads(b, g.wsURL())
	c := newCopier()
	runMonitor(b, c, dialer(g.wsURL()), func(o *monitor.Options) { o.Exchanges = []common.Address{d.exchange} })
	const fills = 1000
	var delays []time.Duration
	for b.Loop() {
		for range fills / 4 {
			if _, err := d.emit(4, leaders); err != nil {
				b.Fatal(err)
			}
			time.Sleep(40 * time.Millisecond) // spread the fills over blocks, as a live chain does
		}
		truth := waitAll(b, d, c)
		c.mu.Lock()
		for k := range truth {
			if at, ok := heads.at(c.block[k]); ok {
				delays = append(delays, c.at[k].Sub(at))
			}
		}
		c.mu.Unlock()
	}
	if len(delays) < fills {
		b.Fatalf("only %d delays measured", len(delays))
	}
	slices.Sort(delays)
	q := func(p float64) time.Duration { return delays[int(p*float64(len(delays)-1))] }
	b.ReportMetric(float64(q(0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(q(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(delays[len(delays)-1].Microseconds())/1000, "max-ms")
}

type headTimes struct {
	mu sync.Mutex
	m  map[uint64]time.Time
}

func (h *headTimes) at(n uint64) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.m[n]
	return t, ok
}

// watchHeads records when each block is announced on a newHeads subscription of its own.
func watchHeads(t testing.TB, url string) *headTimes {
	t.Helper()
	c, err := ethclient.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *types.Header, 256)
	sub, err := c.SubscribeNewHead(context.Background(), ch)
	if err != nil {
		t.Fatal(err)
	}
	h := &headTimes{m: map[uint64]time.Time{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case hd := <-ch:
				now := time.Now()
				h.mu.Lock()
				if _, ok := h.m[hd.Number.Uint64()]; !ok {
					h.m[hd.Number.Uint64()] = now
				}
				h.mu.Unlock()
			case <-sub.Err():
				return
			}
		}
	}()
	t.Cleanup(func() { sub.Unsubscribe(); <-done; c.Close() })
	return h
}
