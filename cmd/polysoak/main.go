// Command polysoak soak-tests the real polybot binary against polysim's fast mode: it starts
// polysim --fast, measures polybot's time from exec to READY=1 and from SIGTERM to exit, runs
// polybot in paper mode for a number of leader fills while sampling its memory, goroutines and
// open files, and writes a CSV, a PNG plot and a verdict. scripts/soak.sh builds the binaries
// and runs it.
//
// Time-dependent behaviour is compressed by short TTLs: with dedup.ttl and executor.lock_ttl of a
// few seconds, entries and locks expire thousands of times over in a run, which is what a day of
// 30-minute TTLs does to a long-running daemon. The trading day (daily counters and spend
// limit, the loss breaker's reset at risk.reset_hour_utc, store compaction by age) runs on
// polybot's hidden --time-scale clock: at the default 1440 a day passes every minute, and the
// verdict reads the trading days back from the store.
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/store"
)

// options are polysoak's flags.
type options struct {
	bin         string // directory holding polybot and polysim
	out         string // directory for the CSV, PNG, config and logs
	fills       uint64
	every       uint64
	rate        float64
	short       bool
	check       bool
	dedupSize   int
	dedupTTL    time.Duration
	lockTTL     time.Duration
	startups    int
	baseline    uint64 // fills of the comparison run
	maxDuration time.Duration
	timeScale   int    // polybot run --time-scale
	maxRSS      uint64 // bound on the total RSS after warm-up, bytes (0: none)
	goMemLimit  string // GOMEMLIMIT polybot runs with ("": unset)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "polysoak:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("polysoak", flag.ContinueOnError)
	fs.StringVar(&o.bin, "bin", "bin", "directory with the polybot and polysim binaries")
	fs.StringVar(&o.out, "out", "", "directory for soak.csv, soak.png, the config and the logs (default: a new temporary directory)")
	fs.Uint64Var(&o.fills, "fills", 10_000_000, "leader fills to process")
	fs.Uint64Var(&o.every, "every", 0, "sample every this many fills (default: fills/200)")
	fs.Float64Var(&o.rate, "rate", 600, "fills per second polysim emits; polybot must keep up (its websocket client drops a subscription 20,000 notifications behind): every copy waits for two fsynced store commits, and polybot sustains about 600 fills/s on 2 shared cores")
	fs.BoolVar(&o.short, "short", false, "CI mode: 20,000 fills unless --fills is given, 2 startups, and --check")
	fs.BoolVar(&o.check, "check", false, "exit 1 unless coarse bounds hold: RSS at the end ≤ 4× RSS after warm-up, goroutines and open files at the end within 5 of after warm-up")
	fs.IntVar(&o.dedupSize, "dedup-size", 50_000, "polybot dedup.size")
	fs.DurationVar(&o.dedupTTL, "dedup-ttl", 10*time.Second, "polybot dedup.ttl (--short: 2s): above dedup-size/rate the cache stays full and evicts, below it entries expire")
	fs.DurationVar(&o.lockTTL, "lock-ttl", 3*time.Second, "polybot executor.lock_ttl")
	fs.IntVar(&o.startups, "startups", 5, "startup/shutdown timings to take before the soak")
	fs.Uint64Var(&o.baseline, "baseline-fills", 300_000, "fills of the comparison run with half the dedup.size, at most --fills (0: skip)")
	fs.IntVar(&o.timeScale, "time-scale", 1440, "polybot's trading-day clock runs this many times faster (1440: a day a minute; 1: real time)")
	fs.StringVar(&o.goMemLimit, "gomemlimit", "32MiB", "GOMEMLIMIT polybot runs with, as deploy/polybot.service sets it (\"\": unset, the Go default)")
	maxRSSMiB := fs.Uint64("max-rss", 64, "exit 1 unless polybot's total RSS (VmRSS: anonymous + file-backed, the mapped state store included) stays at or below this many MiB after warm-up (0: no bound)")
	replot := fs.String("plot", "", "only redraw the PNG of this soak.csv (next to it, as soak.png) and exit")
	fs.DurationVar(&o.maxDuration, "max-duration", 0, "stop the soak after this long even if fewer fills were processed (0: no limit); SIGINT also ends it early, with a verdict")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	o.maxRSS = *maxRSSMiB << 20
	if *replot != "" {
		samples, err := readCSV(*replot)
		if err != nil {
			return err
		}
		return plotSoak(filepath.Join(filepath.Dir(*replot), "soak.png"), samples, o.maxRSS)
	}
	if o.short {
		o.check = true
		if !explicit(fs, "fills") {
			o.fills = 20_000
		}
		if !explicit(fs, "startups") {
			o.startups = 2
		}
		if !explicit(fs, "dedup-ttl") {
			o.dedupTTL = 2 * time.Second
		}
		if !explicit(fs, "rate") {
			o.rate = 500 // well below what polybot with its fsynced store sustains on a busy CI machine
		}
		if !explicit(fs, "baseline-fills") {
			o.baseline = 10_000
		}
	}
	o.baseline = min(o.baseline, o.fills)
	if o.every == 0 {
		o.every = max(o.fills/200, 1)
	}
	if o.out == "" {
		dir, err := os.MkdirTemp("", "polysoak-")
		if err != nil {
			return err
		}
		o.out = dir
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	s := &soak{o: o, stdout: stdout}
	return s.run(ctx)
}

func explicit(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

type soak struct {
	days   string // the verdict's line on trading days
	o      options
	stdout io.Writer
	wsURL  string
}

// sample is one row of soak.csv.
type sample struct {
	elapsed      time.Duration
	fills        uint64
	rss          uint64 // VmRSS
	rssAnon      uint64 // RssAnon: the process's own memory
	rssFile      uint64 // RssFile: mostly the state store's file, which bbolt maps
	heapInuse    uint64 // go_memstats_heap_inuse_bytes
	liveHeap     uint64 // live heap after the last GC (gctrace)
	goroutines   int
	fds          int
	dedupEntries uint64
	dedupBytes   uint64
	storeBytes   uint64 // size of the state store's file (polybot.db)
}

func (s *soak) logf(format string, a ...any) {
	fmt.Fprintf(s.stdout, "polysoak: "+format+"\n", a...)
}

func (s *soak) run(ctx context.Context) error {
	s.logf("output in %s", s.o.out)
	simCtx, stopSim := context.WithCancel(ctx)
	defer stopSim()
	simDone, err := s.startSim(simCtx)
	if err != nil {
		return err
	}
	defer func() { stopSim(); <-simDone }()

	// Startup and shutdown timings, with an empty state directory each time.
	var readies, exits []time.Duration
	for i := range s.o.startups {
		p, err := s.startBot(ctx, fmt.Sprintf("startup-%d", i), s.o.dedupSize)
		if err != nil {
			return err
		}
		time.Sleep(500 * time.Millisecond) // let it settle into its subscriptions
		exit, err := p.terminate()
		if err != nil {
			return err
		}
		readies, exits = append(readies, p.ready), append(exits, exit)
	}

	// The comparison run: the same load with half the dedup cache. (A one-entry cache is no
	// baseline: without deduplication a resubscription's backfill is copied again, and polybot
	// falls behind.)
	var base []sample
	if s.o.baseline > 0 {
		p, err := s.startBot(ctx, "baseline", max(s.o.dedupSize/2, 1))
		if err != nil {
			return err
		}
		base, err = s.sampleUntil(ctx, p, s.o.baseline, max(s.o.baseline/100, 1))
		if _, terr := p.terminate(); err == nil {
			err = terr
		}
		if err != nil {
			return fmt.Errorf("baseline run: %w", err)
		}
	}

	p, err := s.startBot(ctx, "soak", s.o.dedupSize)
	if err != nil {
		return err
	}
	readies = append(readies, p.ready)
	samples, err := s.sampleUntil(ctx, p, s.o.fills, s.o.every)
	if err != nil {
		_, _ = p.terminate()
		return err
	}
	finalExit, err := p.terminate()
	if err != nil {
		return err
	}
	exits = append(exits, finalExit)
	s.days = s.tradingDays(p.store)
	if err := writeCSV(filepath.Join(s.o.out, "soak.csv"), samples); err != nil {
		return err
	}
	png := filepath.Join(s.o.out, "soak.png")
	if err := plotSoak(png, samples, s.o.maxRSS); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return s.verdict(samples, base, readies, exits, finalExit, png)
}

// startSim starts polysim --fast and reads its websocket URL.
func (s *soak) startSim(ctx context.Context) (<-chan struct{}, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(s.o.bin, "polysim"), "--fast",
		"--rate", strconv.FormatFloat(s.o.rate, 'f', -1, 64), "--ws-port", "0", "--http-port", "0",
		"--leaders", "3", "--markets", "64", "--seed", "1")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	logf, err := os.Create(filepath.Join(s.o.out, "polysim.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start polysim: %w", err)
	}
	done := make(chan struct{})
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "ws:" {
			s.wsURL = f[1]
			break
		}
	}
	go func() {
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
		_ = logf.Close()
		close(done)
	}()
	if s.wsURL == "" {
		<-done
		return nil, errors.New("polysim did not print its websocket URL; see polysim.log")
	}
	s.logf("polysim --fast at %s, %.0f fills/s", s.wsURL, s.o.rate)
	return done, nil
}

// bot is a running polybot.
type bot struct {
	cmd      *exec.Cmd
	metrics  string
	ready    time.Duration // exec to READY=1
	exited   chan struct{}
	gctrace  *gcTrace
	notifyLn *net.UnixConn
	store    string // the state store's file
}

// startBot writes a config for name, starts polybot with NOTIFY_SOCKET and waits for READY=1.
func (s *soak) startBot(ctx context.Context, name string, dedupSize int) (*bot, error) {
	dir := filepath.Join(s.o.out, name)
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "state"), 0o700); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// The admin socket lives in a short temporary directory: socket paths are limited to 107 bytes.
	sockDir, err := os.MkdirTemp("", "psk")
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "polybot.yaml")
	if err := os.WriteFile(cfgPath, []byte(s.botConfig(dir, sockDir, port, dedupSize)), 0o600); err != nil {
		return nil, err
	}
	notifyPath := filepath.Join(sockDir, "notify.sock")
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	logf, err := os.Create(filepath.Join(dir, "polybot.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(s.o.bin, "polybot"), "run", "--config", cfgPath, "--time-scale", strconv.Itoa(s.o.timeScale))
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notifyPath, "GODEBUG=gctrace=1")
	if s.o.goMemLimit != "" {
		cmd.Env = append(cmd.Env, "GOMEMLIMIT="+s.o.goMemLimit)
	}
	trace := &gcTrace{w: logf}
	cmd.Stdout, cmd.Stderr = logf, trace
	b := &bot{cmd: cmd, metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", port), exited: make(chan struct{}), gctrace: trace, notifyLn: ln,
		store: filepath.Join(dir, "state", "polybot.db")}

	readyCh := readReady(ln)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start polybot: %w", err)
	}
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		_ = ln.Close()
		_ = os.RemoveAll(sockDir)
		close(b.exited)
	}()
	if err := b.waitReady(ctx, name, readyCh, logf.Name()); err != nil {
		return nil, err
	}
	b.ready = time.Since(start)
	s.logf("polybot %s: READY=1 %v after exec", name, b.ready.Round(time.Millisecond))
	return b, nil
}

// botConfig is the paper-mode config of a polybot that keeps its state under dir and its
// sockets under sockDir, and serves metrics on port.
func (s *soak) botConfig(dir, sockDir string, port, dedupSize int) string {
	return fmt.Sprintf(`mode: paper
chain:
  chain_id: 1337
  rpc_url: %s
leaders:
  - address: "0x1000000000000000000000000000000000000001"
  - address: "0x1000000000000000000000000000000000000002"
  - address: "0x1000000000000000000000000000000000000003"
dedup:
  size: %d
  ttl: %s
executor:
  lock_ttl: %s
copy:
  max_fill_age: 8760h # the trading day's clock runs ahead of the fills' block times
log:
  level: warn
metrics:
  listen: 127.0.0.1:%d
admin:
  enabled: true
  socket: %s
state_dir: %s
`, s.wsURL, dedupSize, s.o.dedupTTL, s.o.lockTTL, port, filepath.Join(sockDir, "admin.sock"), filepath.Join(dir, "state"))
}

// readReady reads the notify socket until polybot exits (its later STATUS messages must not
// fill the socket); the channel receives nil at READY=1, or the read error before it.
func readReady(ln *net.UnixConn) <-chan error {
	readyCh := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		ready := false
		for {
			n, err := ln.Read(buf)
			if err != nil {
				if !ready {
					readyCh <- err
				}
				return
			}
			if !ready && slices.Contains(strings.Split(string(buf[:n]), "\n"), "READY=1") {
				ready = true
				readyCh <- nil
			}
		}
	}()
	return readyCh
}

// waitReady waits for READY=1 on readyCh, for 30s at most; it terminates a polybot that is
// not ready. logName is polybot's log, named when it exits first.
func (b *bot) waitReady(ctx context.Context, name string, readyCh <-chan error, logName string) error {
	select {
	case err := <-readyCh:
		if err != nil {
			_, _ = b.terminate()
			return fmt.Errorf("polybot %s: notify socket: %w", name, err)
		}
		return nil
	case <-b.exited:
		return fmt.Errorf("polybot %s exited before READY=1; see %s", name, logName)
	case <-time.After(30 * time.Second):
		_, _ = b.terminate()
		return fmt.Errorf("polybot %s: no READY=1 within 30s", name)
	case <-ctx.Done():
		_, _ = b.terminate()
		return ctx.Err()
	}
}

// terminate sends SIGTERM and returns the time until the process exited.
func (b *bot) terminate() (time.Duration, error) {
	start := time.Now()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	select {
	case <-b.exited:
		return time.Since(start), nil
	case <-time.After(30 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
		return time.Since(start), errors.New("polybot did not exit within 30s of SIGTERM")
	}
}

// mean averages live-heap readings; gctrace reports whole MB, and averaging many of them
// recovers the fraction.
func mean(xs []uint64) uint64 {
	var sum uint64
	for _, x := range xs {
		sum += x
	}
	return sum / uint64(max(len(xs), 1))
}

// sampleUntil polls polybot until it has processed target fills, taking a sample every every
// fills.
func (s *soak) sampleUntil(ctx context.Context, b *bot, target, every uint64) ([]sample, error) {
	start := time.Now()
	var out []sample
	next := uint64(0)
	lastFills, lastProgress := uint64(0), time.Now()
	for ctx.Err() == nil {
		select {
		case <-b.exited:
			return out, errors.New("polybot exited during the soak")
		case <-time.After(100 * time.Millisecond):
		}
		m, err := scrape(b.metrics)
		if err != nil {
			return out, err
		}
		fills := uint64(m["polybot_fills_total"])
		if fills > lastFills {
			lastFills, lastProgress = fills, time.Now()
		} else if time.Since(lastProgress) > 30*time.Second {
			return out, fmt.Errorf("no fills processed for 30s (at %d)", fills)
		}
		done := fills >= target || (s.o.maxDuration > 0 && time.Since(start) > s.o.maxDuration)
		if fills < next && !done {
			continue
		}
		pid := b.cmd.Process.Pid
		rss, err := procMem(pid)
		if err != nil {
			return out, err
		}
		fds, err := openFDs(pid)
		if err != nil {
			return out, err
		}
		var storeBytes uint64
		if fi, err := os.Stat(b.store); err == nil {
			storeBytes = uint64(fi.Size())
		}
		out = append(out, sample{
			elapsed: time.Since(start), fills: fills, rss: rss.total, rssAnon: rss.anon, rssFile: rss.file,
			heapInuse: uint64(m["go_memstats_heap_inuse_bytes"]), liveHeap: b.gctrace.last(),
			goroutines: int(m["go_goroutines"]), fds: fds,
			dedupEntries: uint64(m["polybot_dedup_entries"]), dedupBytes: uint64(m["polybot_dedup_bytes"]),
			storeBytes: storeBytes,
		})
		if len(out)%20 == 0 || done {
			last := out[len(out)-1]
			s.logf("%d fills in %v (%.0f/s): RSS %.1f MiB, live heap %.1f MiB, %d goroutines, %d fds, dedup %d entries, store %.1f MiB",
				last.fills, last.elapsed.Round(time.Second), float64(last.fills)/last.elapsed.Seconds(),
				mib(last.rss), mib(last.liveHeap), last.goroutines, last.fds, last.dedupEntries, mib(last.storeBytes))
		}
		if done {
			return out, nil
		}
		for next <= fills {
			next += every
		}
	}
	if len(out) >= 3 {
		s.logf("interrupted: stopping the soak at %d fills", out[len(out)-1].fills)
		return out, nil
	}
	return out, ctx.Err()
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// verdict prints the summary lines and, with --check, fails on the coarse bounds.
func (s *soak) verdict(samples, base []sample, readies, exits []time.Duration, finalExit time.Duration, png string) error {
	if len(samples) < 3 {
		return fmt.Errorf("only %d samples", len(samples))
	}
	last := samples[len(samples)-1]
	// Warm-up: the first 10% of the fills (and at least one full cache's worth in long runs).
	warm := sampleAt(samples, last.fills/10)
	mark := sampleAt(samples, min(1_000_000, last.fills/10))
	markName := "1M fills"
	if mark.fills < 1_000_000 {
		markName = fmt.Sprintf("%d fills (10%%)", mark.fills)
	}
	var after []sample
	for _, x := range samples {
		if x.fills >= warm.fills {
			after = append(after, x)
		}
	}
	slope := regress(after, func(x sample) float64 { return float64(x.rss) })
	liveSlope := regress(after, func(x sample) float64 { return float64(x.liveHeap) })
	rate := float64(last.fills) / last.elapsed.Seconds()

	fmt.Fprintf(s.stdout, "\n## polysoak verdict\n\n")
	fmt.Fprintf(s.stdout, "fills processed: %d in %v (%.0f fills/s; polysim --fast --rate %.0f), dedup.size %d, dedup.ttl %v, executor.lock_ttl %v, GOMEMLIMIT %q\n",
		last.fills, last.elapsed.Round(time.Second), rate, s.o.rate, s.o.dedupSize, s.o.dedupTTL, s.o.lockTTL, s.o.goMemLimit)
	fmt.Fprintf(s.stdout, "RSS at %s: %.1f MiB; at the end: %.1f MiB; max after warm-up: %.1f MiB\n",
		markName, mib(mark.rss), mib(last.rss), mib(maxOf(after, func(x sample) uint64 { return x.rss })))
	fmt.Fprintf(s.stdout, "RSS slope after warm-up: %+.0f KiB per million fills; live heap slope: %+.0f KiB per million fills\n",
		slope*1e6/1024, liveSlope*1e6/1024)
	fmt.Fprintf(s.stdout, "goroutines after warm-up / at the end: %d / %d; open fds: %d / %d\n",
		warm.goroutines, last.goroutines, warm.fds, last.fds)
	fmt.Fprintf(s.stdout, "of which anonymous (RssAnon) at %s: %.1f MiB; at the end: %.1f MiB; slope after warm-up %+.0f KiB per million fills; file-backed (RssFile, the mapped store) at the end: %.1f MiB\n",
		markName, mib(mark.rssAnon), mib(last.rssAnon), regress(after, func(x sample) float64 { return float64(x.rssAnon) })*1e6/1024, mib(last.rssFile))
	fmt.Fprintln(s.stdout, rssVerdict(after, s.o.maxRSS))
	fmt.Fprintf(s.stdout, "state store file: %.2f MiB after warm-up, %.2f MiB at the end, max %.2f MiB; slope after warm-up %+.0f KiB per million fills\n",
		mib(warm.storeBytes), mib(last.storeBytes), mib(maxOf(after, func(x sample) uint64 { return x.storeBytes })),
		regress(after, func(x sample) float64 { return float64(x.storeBytes) })*1e6/1024)
	fmt.Fprintln(s.stdout, s.days)
	fmt.Fprintf(s.stdout, "exec to READY=1: %s; SIGTERM to exit: %s (last, with full caches: %v)\n",
		spread(readies), spread(exits), finalExit.Round(time.Millisecond))
	if len(base) > 0 {
		// Both runs over the same window of fills: the second half of the comparison run.
		lo, hi := base[len(base)-1].fills/2, base[len(base)-1].fills
		window := func(xs []sample, f func(sample) uint64) uint64 {
			var in []uint64
			for _, x := range xs {
				if x.fills >= lo && x.fills <= hi && x.liveHeap > 0 {
					in = append(in, f(x))
				}
			}
			return mean(in)
		}
		live := func(x sample) uint64 { return x.liveHeap }
		reported := func(x sample) uint64 { return x.dedupBytes }
		entries := func(x sample) uint64 { return x.dedupEntries }
		full, half := window(samples, entries), window(base, entries)
		if float64(full) < 0.9*float64(s.o.dedupSize) || float64(half) < 0.9*float64(max(s.o.dedupSize/2, 1)) {
			fmt.Fprintf(s.stdout, "dedup memory: not compared, the caches were not full (%d of %d and %d of %d entries; raise --rate or --dedup-ttl)\n",
				full, s.o.dedupSize, half, max(s.o.dedupSize/2, 1))
			fmt.Fprintf(s.stdout, "csv: %s\nplot: %s\n", filepath.Join(s.o.out, "soak.csv"), png)
			return s.check(warm, last, after)
		}
		measured := float64(window(samples, live)) - float64(window(base, live))
		estimated := float64(window(samples, reported)) - float64(window(base, reported))
		ratio := estimated / measured
		agree := "agrees"
		if ratio < 0.8 || ratio > 1.2 {
			agree = "DOES NOT agree"
		}
		fmt.Fprintf(s.stdout, "dedup memory, fills %d to %d, dedup.size %d vs %d (%d vs %d entries): polybot_dedup_bytes differs by %.2f MiB, the mean live heap by %.2f MiB (%.2f vs %.2f MiB): ratio %.2f, %s within ±20%%\n",
			lo, hi, s.o.dedupSize, max(s.o.dedupSize/2, 1), window(samples, entries), window(base, entries),
			estimated/(1<<20), measured/(1<<20), mib(window(samples, live)), mib(window(base, live)), ratio, agree)
	}
	fmt.Fprintf(s.stdout, "csv: %s\nplot: %s\n", filepath.Join(s.o.out, "soak.csv"), png)

	return s.check(warm, last, after)
}

// rssVerdict is the verdict's line on the total RSS after warm-up against bound: the figure a
// user sees in top, anonymous and file-backed memory together (bbolt maps the state store's
// file, so its pages count).
func rssVerdict(after []sample, bound uint64) string {
	peak := slices.MaxFunc(after, func(a, b sample) int { return cmpUint(a.rss, b.rss) })
	line := fmt.Sprintf("total RSS after warm-up: max %.1f MiB (anonymous %.1f + file-backed %.1f MiB at that sample), mean %.1f MiB",
		mib(peak.rss), mib(peak.rssAnon), mib(peak.rssFile), mib(mean(mapSamples(after, func(x sample) uint64 { return x.rss }))))
	switch {
	case bound == 0:
		return line + "; no bound (--max-rss 0)"
	case peak.rss <= bound:
		return line + fmt.Sprintf("; within the bound of %.0f MiB: PASS", mib(bound))
	default:
		return line + fmt.Sprintf("; ABOVE the bound of %.0f MiB: FAIL", mib(bound))
	}
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func mapSamples(xs []sample, f func(sample) uint64) []uint64 {
	out := make([]uint64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

// tradingDays reads the trading days back from the stopped soak's store: with --time-scale each
// one is a fresh daily budget and set of counters, and compaction keeps only the recent ones.
func (s *soak) tradingDays(file string) string {
	st, err := store.OpenReadOnly(store.Options{Dir: filepath.Dir(file)})
	if err != nil {
		return "trading days: the store cannot be read: " + err.Error()
	}
	defer st.Close()
	days, err := st.Days()
	if err != nil || len(days) == 0 {
		return fmt.Sprintf("trading days: none read (%v)", err)
	}
	var spent, copies []uint64
	for _, d := range days {
		spent, copies = append(spent, d.Spent), append(copies, d.Copies)
	}
	usdc := func(v uint64) string { return decimal.NewFromUint64(v).Shift(-6).String() }
	return fmt.Sprintf("trading days with copies in the store (--time-scale %d): %d, %s to %s; spent per day %s to %s USDC (risk.max_daily_spend_usdc resets each day); copies per day %d to %d",
		s.o.timeScale, len(days), days[0].Day.Format(time.DateOnly), days[len(days)-1].Day.Format(time.DateOnly),
		usdc(slices.Min(spent)), usdc(slices.Max(spent)), slices.Min(copies), slices.Max(copies))
}

// check fails unless the total RSS after warm-up stays within --max-rss and, with --check, the
// coarse bounds hold between the sample after warm-up and the last.
func (s *soak) check(warm, last sample, after []sample) error {
	var fails []string
	if peak := maxOf(after, func(x sample) uint64 { return x.rss }); s.o.maxRSS > 0 && peak > s.o.maxRSS {
		fails = append(fails, fmt.Sprintf("total RSS reached %.1f MiB after warm-up, above the bound of %.0f MiB (--max-rss)", mib(peak), mib(s.o.maxRSS)))
	}
	if !s.o.check {
		if len(fails) > 0 {
			return fmt.Errorf("check failed: %s", strings.Join(fails, "; "))
		}
		return nil
	}
	if last.rss > 4*warm.rss {
		fails = append(fails, fmt.Sprintf("RSS grew from %.1f MiB after warm-up to %.1f MiB, more than 4×", mib(warm.rss), mib(last.rss)))
	}
	if d := last.goroutines - warm.goroutines; d > 5 || d < -5 {
		fails = append(fails, fmt.Sprintf("goroutines went from %d to %d", warm.goroutines, last.goroutines))
	}
	if d := last.fds - warm.fds; d > 5 || d < -5 {
		fails = append(fails, fmt.Sprintf("open fds went from %d to %d", warm.fds, last.fds))
	}
	if len(fails) > 0 {
		return fmt.Errorf("check failed: %s", strings.Join(fails, "; "))
	}
	fmt.Fprintf(s.stdout, "check: passed (total RSS ≤ %.0f MiB after warm-up, RSS ≤ 4× warm-up, goroutines and fds within ±5)\n", mib(s.o.maxRSS))
	return nil
}

// sampleAt returns the first sample at or past fills.
func sampleAt(samples []sample, fills uint64) sample {
	for _, x := range samples {
		if x.fills >= fills {
			return x
		}
	}
	return samples[len(samples)-1]
}

func maxOf(samples []sample, f func(sample) uint64) uint64 {
	var m uint64
	for _, x := range samples {
		m = max(m, f(x))
	}
	return m
}

// regress returns the least-squares slope of f against fills, per fill.
func regress(samples []sample, f func(sample) float64) float64 {
	var n, sx, sy, sxx, sxy float64
	for _, x := range samples {
		fx, fy := float64(x.fills), f(x)
		n++
		sx += fx
		sy += fy
		sxx += fx * fx
		sxy += fx * fy
	}
	d := n*sxx - sx*sx
	if n < 2 || d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// spread formats durations as "median (min–max) over n".
func spread(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	r := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	return fmt.Sprintf("median %s (%s–%s, %d runs)", r(s[len(s)/2]), r(s[0]), r(s[len(s)-1]), len(s))
}

func writeCSV(path string, samples []sample) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"elapsed_s", "fills", "rss_bytes", "heap_inuse_bytes", "live_heap_bytes", "goroutines", "open_fds", "dedup_entries", "dedup_bytes", "store_bytes", "rss_anon_bytes", "rss_file_bytes"})
	for _, x := range samples {
		_ = w.Write([]string{
			strconv.FormatFloat(x.elapsed.Seconds(), 'f', 3, 64), strconv.FormatUint(x.fills, 10),
			strconv.FormatUint(x.rss, 10), strconv.FormatUint(x.heapInuse, 10), strconv.FormatUint(x.liveHeap, 10),
			strconv.Itoa(x.goroutines), strconv.Itoa(x.fds),
			strconv.FormatUint(x.dedupEntries, 10), strconv.FormatUint(x.dedupBytes, 10),
			strconv.FormatUint(x.storeBytes, 10), strconv.FormatUint(x.rssAnon, 10), strconv.FormatUint(x.rssFile, 10),
		})
	}
	w.Flush()
	return errors.Join(w.Error(), f.Close())
}

func readCSV(path string) ([]sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	var out []sample
	for _, r := range rows[min(1, len(rows)):] {
		u := func(i int) uint64 {
			if i >= len(r) { // a CSV from before the column existed
				return 0
			}
			v, _ := strconv.ParseUint(r[i], 10, 64)
			return v
		}
		secs, _ := strconv.ParseFloat(r[0], 64)
		out = append(out, sample{elapsed: time.Duration(secs * float64(time.Second)), fills: u(1), rss: u(2),
			heapInuse: u(3), liveHeap: u(4), goroutines: int(u(5)), fds: int(u(6)), dedupEntries: u(7), dedupBytes: u(8), storeBytes: u(9),
			rssAnon: u(10), rssFile: u(11)})
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("%s: fewer than two samples", path)
	}
	return out, nil
}

// scrape fetches a Prometheus text page and returns its unlabelled samples (and labelled ones
// under their full name with labels).
func scrape(url string) (map[string]float64, error) {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return nil, fmt.Errorf("scrape metrics: %w", err)
	}
	defer resp.Body.Close()
	out := make(map[string]float64)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil || math.IsNaN(v) {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// rssOf is a process's resident memory: in all, anonymous, and file-backed (bbolt maps the
// state store's file, so the pages of it polybot touched count in VmRSS).
type rssOf struct{ total, anon, file uint64 }

func procMem(pid int) (rssOf, error) {
	var r rssOf
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return r, err
	}
	found := false
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		var dst *uint64
		switch f[0] {
		case "VmRSS:":
			dst, found = &r.total, true
		case "RssAnon:":
			dst = &r.anon
		case "RssFile:":
			dst = &r.file
		default:
			continue
		}
		kb, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return r, err
		}
		*dst = kb * 1024
	}
	if !found {
		return r, errors.New("no VmRSS")
	}
	return r, nil
}

func openFDs(pid int) (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents), err
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// gcTrace passes polybot's stderr through to w and remembers the live heap of the last garbage
// collection from GODEBUG=gctrace=1 lines ("gc 12 @3.1s 2%: … 9->10->5 MB, …": the third
// figure is the heap marked live).
type gcTrace struct {
	w    io.Writer
	buf  []byte
	mu   sync.Mutex
	live uint64
}

var gcLine = regexp.MustCompile(`^gc \d+ @.* (\d+)->(\d+)->(\d+) MB`)

func (g *gcTrace) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.buf = append(g.buf, p...)
	for {
		i := slices.Index(g.buf, '\n')
		if i < 0 {
			break
		}
		line := g.buf[:i]
		if m := gcLine.FindSubmatch(line); m != nil {
			if v, err := strconv.ParseUint(string(m[3]), 10, 64); err == nil {
				g.live = v << 20
			}
		} else {
			_, _ = g.w.Write(g.buf[:i+1])
		}
		g.buf = g.buf[i+1:]
	}
	return len(p), nil
}

func (g *gcTrace) last() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.live
}
