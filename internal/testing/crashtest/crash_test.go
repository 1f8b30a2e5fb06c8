package crashtest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/shopspring/decimal"
	"golang.org/x/time/rate"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/executor"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/secrets"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "polybot-crashtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// crashParams shape one crash test.
type crashParams struct {
	live    bool
	fills   int     // leader fills polysim emits, then stops trading (--max-fills)
	kills   int     // SIGKILLs and SIGTERMs (about half each), each followed by a restart
	rate    float64 // leader fills per second
	leaders int
	markets int
	seed    uint64        // polysim's trading and the kill points
	stall   time.Duration // how long the catch-up may go without progress
}

// seedFromEnv returns $POLYBOT_CRASH_SEED when set (to replay a failure), else def.
func seedFromEnv(t *testing.T, def uint64) uint64 {
	if s := os.Getenv("POLYBOT_CRASH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("POLYBOT_CRASH_SEED=%q: %v", s, err)
		}
		return v
	}
	return def
}

// TestCrashPaper: polybot in paper mode copies a stream of 2,000 leader fills while it is
// SIGKILLed or SIGTERMed at 50 random points and restarted each time; every fill is decided
// exactly once, every copy placed once, and the positions are the sum of the copies.
func TestCrashPaper(t *testing.T) {
	crash(t, crashParams{fills: 2000, kills: 50, rate: 40, leaders: 3, markets: 8,
		seed: seedFromEnv(t, 1), stall: time.Minute})
}

// TestCrashLive: the same in live mode, with signed orders to polysim's fake CLOB behind a proxy
// that counts every order by salt and hash; the CLOB's balances must equal the positions.
func TestCrashLive(t *testing.T) {
	crash(t, crashParams{live: true, fills: 2000, kills: 50, rate: 40, leaders: 3, markets: 8,
		seed: seedFromEnv(t, 1), stall: time.Minute})
}

// figures are what a crash test reports.
type figures struct {
	mode                          string
	seed                          uint64
	fills, kills, runs            int
	sigkills, sigterms            int // the kills of each kind
	graceRanOut                   int // SIGTERMs after which executor.shutdown_grace ran out (exit 1)
	cutOffByGrace                 int // copies whose outcome those runs left unknown (resolved at the next start)
	killsInWindow, pendingIntents int // kills that left an intent pending; distinct such intents
	resolved                      int // "pending copy resolved" lines
	copies, unfilled, skips       int // decisions: filled copies, copies that filled nothing, skips
	duplicatesCaught              int // fills handed to the executor again and refused by their intent
	missed, twice, placedTwice    int // fills with no decision; with more than one; placed more than once
	logged, unlogged              int // copies with a placement line in the logs; without (killed first)
	posts, accepted, dupPosts     int // live: POST /order seen by the proxy; accepted; refused as duplicate
	neverSent                     int // live: copy intents whose order never reached the CLOB in any run
	openPositions                 int
	storeBytes                    int64
	duration, streamDuration      time.Duration
	killPoints                    []string

	// Copy intents a kill left before their order's POST, as the next start settled them:
	// sent then as their journaled order, recorded unfilled as too old, or without a journal.
	resent, tooOld, noJournal int
	resentFilled              int // re-sent copies that filled (a FAK may find nothing at its limit)
	lostNeverSent             int // fills young enough to copy whose copy's order never reached the CLOB

	// Exit retries (executor/exits.go): attempts decided, on how many leader SELLs; of the
	// attempts, those that filled, placed an order that filled nothing, or were skipped; exits
	// still queued when the last run stopped.
	retries, exitsRetried                  int
	retryFilled, retryUnfilled, retrySkips int
	retriesQueued                          int
}

func (f *figures) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "crash test, %s mode, seed %d (POLYBOT_CRASH_SEED=%d go test -run Crash ./internal/crashtest/)\n", f.mode, f.seed, f.seed)
	fmt.Fprintf(&b, "  leader fills in the stream:     %d (stream %s)\n", f.fills, f.streamDuration.Round(time.Second))
	fmt.Fprintf(&b, "  SIGKILLs / SIGTERMs / restarts / runs: %d / %d / %d / %d\n", f.sigkills, f.sigterms, f.kills, f.runs)
	fmt.Fprintf(&b, "  SIGTERMs whose queued copies outlasted executor.shutdown_grace (exit 1): %d (%d copies cut off, resolved at the next start)\n",
		f.graceRanOut, f.cutOffByGrace)
	fmt.Fprintf(&b, "  lost / duplicated: %d / %d\n", f.missed, f.twice)
	fmt.Fprintf(&b, "  kills that left an intent open: %d (%d intents), resolved at restart: %d log lines\n", f.killsInWindow, f.pendingIntents, f.resolved)
	fmt.Fprintf(&b, "  decisions: %d copies filled, %d copies unfilled, %d skips (sum %d)\n", f.copies, f.unfilled, f.skips, f.copies+f.unfilled+f.skips)
	fmt.Fprintf(&b, "  missed: %d, decided twice: %d, placed twice (logs): %d\n", f.missed, f.twice, f.placedTwice)
	fmt.Fprintf(&b, "  re-delivered fills refused by their intent: %d\n", f.duplicatesCaught)
	fmt.Fprintf(&b, "  exits retried: %d attempts on %d leader SELLs (%d filled, %d unfilled, %d skipped); %d exits still queued at the end\n",
		f.retries, f.exitsRetried, f.retryFilled, f.retryUnfilled, f.retrySkips, f.retriesQueued)
	fmt.Fprintf(&b, "  copies with a placement log line: %d; completed by a run killed before it logged: %d\n", f.logged, f.unlogged)
	if f.mode == "live" {
		fmt.Fprintf(&b, "  POST /order: %d, accepted %d (one per copy intent with an order), refused as duplicate %d\n", f.posts, f.accepted, f.dupPosts)
		fmt.Fprintf(&b, "  intents never sent (killed before the POST): re-sent / too old: %d / %d (re-sent and filled %d; no journal %d); lost %d; never reached the CLOB in the end: %d\n",
			f.resent, f.tooOld, f.resentFilled, f.noJournal, f.lostNeverSent, f.neverSent)
	}
	fmt.Fprintf(&b, "  open positions: %d, store %d bytes, no pending intent, bbolt check clean\n", f.openPositions, f.storeBytes)
	fmt.Fprintf(&b, "  duration: %s\n", f.duration.Round(time.Second))
	fmt.Fprintf(&b, "  kill points (run:signal@when (a delay, or #n: after the nth outcome):outcomes logged:intents pending after): %s\n", strings.Join(f.killPoints, " "))
	return b.String()
}

func crash(t *testing.T, p crashParams) {
	if testing.Short() {
		t.Skip("the crash test runs polysim and polybot for a few minutes; skipped with -short")
	}
	botBin, simBin := binaries(t)
	started := time.Now()
	fig := &figures{mode: "paper", seed: p.seed, kills: p.kills}
	if p.live {
		fig.mode = "live"
	}
	t.Logf("seed %d: replay with POLYBOT_CRASH_SEED=%d", p.seed, p.seed)

	dir := t.TempDir()
	logDir := filepath.Join(dir, "logs")
	if err := os.Mkdir(logDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("POLYBOT_CRASH_KEEP") != "" {
		keep, err := os.MkdirTemp("", "polybot-crash-logs-")
		if err != nil {
			t.Fatal(err)
		}
		logDir = keep
		t.Logf("logs (kept) in %s", logDir)
	} else {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("rerun with POLYBOT_CRASH_KEEP=1 (and the seed above) to keep polysim's and every polybot run's log")
			}
		})
	}
	recordPath := filepath.Join(dir, "record.jsonl")
	credsDir := filepath.Join(dir, "creds")
	args := []string{"--ws-port", "0", "--http-port", "0", "--leaders", strconv.Itoa(p.leaders), "--markets", strconv.Itoa(p.markets),
		"--rate", strconv.FormatFloat(p.rate, 'f', -1, 64), "--block-interval", "200ms", "--seed", strconv.FormatUint(p.seed, 10),
		"--max-fills", strconv.Itoa(p.fills), "--record", recordPath}
	if p.live {
		args = append(args, "--clob-port", "0", "--clob-creds-dir", credsDir)
	}
	ps := startPolysim(t, simBin, filepath.Join(logDir, "polysim.log"), p.markets, p.live, args...)
	streamStart := time.Now()
	watched := map[common.Address]bool{polymarket.CTFExchangeV2: true, polymarket.NegRiskCTFExchangeV2: true}
	for ex := range ps.exchanges {
		if !watched[ex] {
			t.Fatalf("polysim trades on %s, which the config does not watch", ex)
		}
	}
	var proxy *clobProxy
	if p.live {
		proxy = startCLOBProxy(t, ps.clob)
	}
	stateDir := filepath.Join(dir, "state")
	configPath := writeConfig(t, dir, ps, proxy, credsDir, stateDir)

	leaders := map[common.Address]bool{}
	for _, l := range ps.leaders {
		leaders[l] = true
	}
	rec := &recordReader{path: recordPath, leaders: leaders, exchanges: watched}

	// The kill phase: start, wait a random while, SIGKILL or SIGTERM, check the store, again.
	rng := rand.New(rand.NewPCG(p.seed, 0x6372617368)) // "crash"
	var runs []*botRun
	pendingSeen := map[store.IntentID]bool{}
	var last storeView
	for k := 1; k <= p.kills; k++ {
		r := startBot(t, botBin, configPath, filepath.Join(logDir, fmt.Sprintf("run-%02d.log", k)), k)
		runs = append(runs, r)
		var when string
		if rng.IntN(2) == 0 {
			d := time.Duration(rng.Int64N(int64(1500 * time.Millisecond)))
			when = d.Round(time.Millisecond).String()
			select {
			case <-time.After(d):
			case <-r.done:
			}
		} else {
			n := 1 + rng.IntN(40)
			when = fmt.Sprintf("#%d", n)
			r.waitOutcomes(n, 5*time.Second)
		}
		if r.exited() {
			t.Fatalf("polybot run %d exited by itself before its kill (%v); see %s", k, r.waitErr, r.logPath)
		}
		// Half the kill points are a SIGTERM (a systemctl restart), which lets polybot shut
		// down: it must stop cleanly, and neither lose nor repeat a fill either.
		sig := "KILL"
		if rng.IntN(2) == 0 {
			sig = "TERM"
			fig.sigterms++
			if err := r.terminate(t); err != nil && !killedBy(err, syscall.SIGTERM) {
				if !graceRanOut(r) {
					t.Fatalf("polybot run %d did not stop cleanly on SIGTERM (%s): %v; see %s", k, when, err, r.logPath)
				}
				fig.graceRanOut++
			}
		} else {
			fig.sigkills++
			r.kill(t)
		}
		when = sig + "@" + when
		v, err := inspect(stateDir)
		if err != nil {
			t.Fatalf("after kill %d (%s): the store does not open cleanly: %v", k, when, err)
		}
		for _, in := range v.pending {
			pendingSeen[in.ID] = true
		}
		if len(v.pending) > 0 {
			fig.killsInWindow++
		}
		if dup := decidedTwice(v.decisions); dup != "" {
			t.Fatalf("after kill %d (%s): fill %s decided twice; see %s", k, when, dup, logDir)
		}
		r.mu.Lock()
		outcomes := r.outcomes
		r.mu.Unlock()
		fig.killPoints = append(fig.killPoints, fmt.Sprintf("%d:%s:%d:%d", k, when, outcomes, len(v.pending)))
		last = v
	}
	fig.pendingIntents = len(pendingSeen)

	// The last run catches up; it is done when the stream has ended (all fills mined) and every
	// fill of the record has a decision: in the store before it started, or logged by it.
	before := map[fillKey]bool{}
	for _, d := range last.decisions {
		before[decisionKey(&d)] = true
	}
	final := startBot(t, botBin, configPath, filepath.Join(logDir, "run-final.log"), p.kills+1)
	runs = append(runs, final)
	// No fixed deadline: the wait fails when nothing moves (no new fill in the record, no new
	// decision) for p.stall, which a slow machine does not reach and a stuck polybot does.
	stalled := time.Now().Add(p.stall)
	progress := -1
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	streamEnded := false
	for {
		if err := rec.read(); err != nil {
			t.Fatalf("polysim's record: %v", err)
		}
		if !streamEnded && len(rec.fills) >= p.fills {
			streamEnded = true
			fig.streamDuration = time.Since(streamStart)
		}
		seen := map[fillKey]bool{}
		for _, l := range final.snapshot() {
			if k, ok := l.fill(); ok && decided(l.Msg) {
				seen[k] = true
			}
		}
		var missing []string
		for _, f := range rec.fills {
			if k := keyOf(&f); !before[k] && !seen[k] {
				missing = append(missing, k.String())
			}
		}
		if streamEnded && len(missing) == 0 {
			break
		}
		if now := len(rec.fills) + len(seen); now != progress {
			progress, stalled = now, time.Now().Add(p.stall)
		}
		if final.exited() {
			t.Fatalf("the last polybot run exited by itself (%v); see %s", final.waitErr, final.logPath)
		}
		if time.Now().After(stalled) {
			// The checks below say what is missing.
			t.Errorf("no progress for %s: %d of %d leader fills in the record, %d not decided (first: %v)",
				p.stall, len(rec.fills), p.fills, len(missing), missing[:min(3, len(missing))])
			break
		}
		<-tick.C
	}
	if err := final.terminate(t); err != nil {
		t.Fatalf("the last polybot run did not stop cleanly on SIGTERM: %v; see %s", err, final.logPath)
	}
	fig.runs = len(runs)
	if len(rec.fills) != p.fills {
		t.Errorf("the record holds %d leader fills, want %d (--max-fills)", len(rec.fills), p.fills)
	}
	fig.fills = len(rec.fills)

	intents := checkStore(t, stateDir, rec.fills, fig)
	neverSent := checkLogs(t, runs, intents, fig)
	if p.live {
		checkCLOB(t, ps, proxy, credsDir, stateDir, intents, fig)
		checkNeverSent(t, rec.fills, proxy, intents, neverSent, fig)
	}
	fig.duration = time.Since(started)
	t.Logf("\n%s", fig)
	if path := os.Getenv("POLYBOT_CRASH_FIGURES"); path != "" && !t.Failed() {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = fmt.Fprintf(f, "%s %s", time.Now().UTC().Format(time.RFC3339), fig)
			err = errors.Join(err, f.Close())
		}
		if err != nil {
			t.Errorf("write figures: %v", err)
		}
	}
}

func keyOf(f *polymarket.Fill) fillKey { return fillKey{tx: f.TxHash, idx: f.LogIndex} }

// decisionKey is the fill and attempt d decided.
func decisionKey(d *store.Decision) fillKey { return fillKey{d.Tx, d.LogIndex, d.Attempt} }

// graceRanOut reports whether r exited because the copies queued at its SIGTERM did not finish
// within executor.shutdown_grace: a reported failure (exit status 1) that loses nothing, since
// the copies cut off stay pending or in flight for the next start.
func graceRanOut(r *botRun) bool {
	for _, l := range r.snapshot() {
		if l.Msg == "polybot failed" && strings.Contains(l.Error, "in-flight copies did not finish within") {
			return true
		}
	}
	return false
}

// killedBy reports whether err is the exit of a process that sig killed (a SIGTERM that came
// before polybot installed its handler, early in its start).
func killedBy(err error, sig syscall.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// decidedTwice names a fill with more than one decision, or "".
func decidedTwice(ds []store.Decision) string {
	n := map[fillKey]int{}
	for _, d := range ds {
		k := decisionKey(&d)
		if n[k]++; n[k] > 1 {
			return k.String()
		}
	}
	return ""
}

// writeConfig writes polybot's config: the stream's leaders, limits wide enough that most fills
// are copied, JSON logs (the test reads them), the state in stateDir.
func writeConfig(t *testing.T, dir string, ps *polysimProc, proxy *clobProxy, credsDir, stateDir string) string {
	t.Helper()
	var b strings.Builder
	mode := "paper"
	if proxy != nil {
		mode = "live"
	}
	fmt.Fprintf(&b, "mode: %s\nchain:\n  chain_id: 1337\n  rpc_url: %s\n  start_block: 1\n", mode, ps.ws)
	fmt.Fprintf(&b, "  exchanges:\n    ctf: %s\n    neg_risk: %s\nleaders:\n", polymarket.CTFExchangeV2.Hex(), polymarket.NegRiskCTFExchangeV2.Hex())
	for i, l := range ps.leaders {
		fmt.Fprintf(&b, "  - address: %s\n    name: leader-%d\n", l.Hex(), i+1)
	}
	ratio, minShares := "0.5", "0.01"
	if proxy != nil {
		ratio, minShares = "1", "5" // the fake CLOB's minimum order is 5 shares
	}
	fmt.Fprintf(&b, `copy:
  copy_ratio: %s
  max_trade_usdc: 100
  min_order_shares: %s
  max_fill_age: 1h
risk:
  max_market_exposure_usdc: 1000000
  max_leader_exposure_usdc: 1000000
  max_total_exposure_usdc: 1000000
  max_daily_spend_usdc: 1000000
  daily_loss_limit_usdc: 1000000
  max_open_positions: 1000
maintenance:
  interval: 2s
executor:
  shutdown_grace: 2s # a SIGTERM kill point waits at most this for the queued copies
log:
  level: info
  format: json
`, ratio, minShares)
	if proxy != nil {
		fmt.Fprintf(&b, `live:
  clob_url: %s
  key_file: %s
  credentials_file: %s
  signature_type: 0
  slippage: 0.02
  order_type: FAK
`, proxy.url, filepath.Join(credsDir, secrets.KeyCredential), filepath.Join(credsDir, secrets.APICredential))
	}
	fmt.Fprintf(&b, "state_dir: %s\n", stateDir)
	path := filepath.Join(dir, "polybot.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkStore checks the store after the last run against the record: every leader fill decided
// exactly once, an intent for exactly the decisions that place an order, none pending, no stray
// intent, and positions, lots and daily counters equal to the sum of the completed intents. It
// returns the intents by fill.
func checkStore(t *testing.T, stateDir string, fills []polymarket.Fill, fig *figures) map[fillKey]store.Intent {
	t.Helper()
	path := store.Path(stateDir)
	if err := checkBolt(path); err != nil {
		t.Fatalf("bbolt consistency check after the last run: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	fig.storeBytes = fi.Size()
	nIntents, err := countKeys(path, "intents")
	if err != nil {
		t.Fatal(err)
	}
	// Opened read-write, as the daemon opens it at start.
	st, err := store.Open(store.Options{Dir: stateDir})
	if err != nil {
		t.Fatalf("the store does not open: %v", err)
	}
	defer st.Close()

	decisions, err := st.Decisions(time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	byFill := map[fillKey][]store.Decision{}
	for _, d := range decisions {
		k := decisionKey(&d)
		byFill[k] = append(byFill[k], d)
	}
	inRecord := map[fillKey]bool{}
	missed, twice := 0, 0
	intents := map[fillKey]store.Intent{}
	for i := range fills {
		f := &fills[i]
		k := keyOf(f)
		inRecord[k] = true
		ds := byFill[k]
		switch {
		case len(ds) == 0:
			missed++
			if missed <= 5 {
				t.Errorf("MISSED: leader fill %s (block %d, %s %s) has no decision", k, f.Block, f.Maker.Hex(), f.Side)
			}
			continue
		case len(ds) > 1:
			twice++
			if twice <= 5 {
				t.Errorf("DUPLICATED: leader fill %s has %d decisions: %+v", k, len(ds), ds)
			}
		}
		d := ds[0]
		in, ok, err := st.IntentFor(store.IntentIDOf(f))
		if err != nil {
			t.Fatal(err)
		}
		places := d.Action == strategy.Copy.String() || d.Action == strategy.Reduce.String()
		switch {
		case places && !ok:
			t.Errorf("fill %s: decision %s without an intent", k, d.Action)
		case !places && ok:
			t.Errorf("fill %s: decision %s (%s) with an intent %+v", k, d.Action, d.Reason, in)
		case ok:
			if in.Status == store.StatusPending {
				t.Errorf("fill %s: intent still pending", k)
			}
			if in.Leader != f.Maker || in.Side != f.Side || in.Token != f.Market() || in.Shares != d.Shares {
				t.Errorf("fill %s: intent %+v does not match the fill or its decision %+v", k, in, d)
			}
			if in.Salt != order.SaltForAttempt(f.TxHash, f.LogIndex, 0).Uint64() {
				t.Errorf("fill %s: intent salt %d is not the fill's", k, in.Salt)
			}
			intents[k] = in
			if in.Result.FilledShares > 0 {
				fig.copies++
			} else {
				fig.unfilled++
			}
		default:
			fig.skips++
		}
	}
	for k := range byFill {
		if !inRecord[k.fill()] {
			t.Errorf("decision for %s, which is not a leader fill in the record", k)
		}
	}
	checkRetries(t, st, fills, byFill, intents, fig)
	fig.missed, fig.twice = missed, twice
	if missed > 0 || twice > 0 {
		t.Errorf("%d leader fills missed, %d decided more than once", missed, twice)
	}
	if nIntents != len(intents) {
		t.Errorf("the store holds %d intents, the decisions account for %d", nIntents, len(intents))
	}
	pending, err := st.PendingIntents()
	if err != nil || len(pending) != 0 {
		t.Errorf("pending intents after the last run: %d (%v)", len(pending), err)
	}
	checkPositions(t, st, intents, fig)
	return intents
}

// checkPositions: per token, the open position's shares are the filled BUYs less the filled
// SELLs; over the token's open and closed position records, cost less realised P&L is the
// collateral paid less the collateral received, and the fills counted are the filled intents;
// the lots add up to the position; the daily counters add up to the intents.
func checkPositions(t *testing.T, st *store.Store, intents map[fillKey]store.Intent, fig *figures) {
	t.Helper()
	type sum struct {
		shares, net int64 // shares held; collateral paid less received
		fills       int
	}
	want := map[string]*sum{}
	var spent uint64
	var filled uint64
	days := map[time.Time]bool{}
	for _, in := range intents {
		r := in.Result
		if r.FilledShares == 0 {
			continue
		}
		s := want[in.Token]
		if s == nil {
			s = &sum{}
			want[in.Token] = s
		}
		s.fills++
		filled++
		days[store.DayStart(in.CompletedAt, 0)] = true
		// Fees are paid on top of a BUY and come out of a SELL's proceeds.
		if in.Side == polymarket.Buy {
			s.shares += int64(r.FilledShares)
			s.net += int64(r.FilledCollateral + r.Fee)
			spent += r.FilledCollateral + r.Fee
		} else {
			s.shares -= int64(r.FilledShares)
			s.net -= int64(r.FilledCollateral) - int64(r.Fee)
		}
	}
	open, err := st.Positions()
	if err != nil {
		t.Fatal(err)
	}
	closed, err := st.ClosedPositions(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	fig.openPositions = len(open)
	got := map[string]*sum{}
	held := map[string]uint64{}
	var realised int64
	for _, p := range append(append([]store.Position(nil), open...), closed...) {
		s := got[p.Token]
		if s == nil {
			s = &sum{}
			got[p.Token] = s
		}
		// Shares written off (a rest below 0.01 share no order can sell) were filled all the same.
		s.shares += int64(p.Shares + p.WrittenOff)
		s.net += int64(p.Cost) - p.Realised
		s.fills += p.Fills
		realised += p.Realised
		if p.ClosedAt.IsZero() {
			held[p.Token] = p.Shares
		}
	}
	for token, w := range want {
		g := got[token]
		if g == nil {
			g = &sum{}
		}
		if *g != *w {
			t.Errorf("token %s: positions hold %d shares, cost-realised %d, %d fills; the intents sum to %d, %d, %d",
				short(token), g.shares, g.net, g.fills, w.shares, w.net, w.fills)
		}
	}
	for token := range got {
		if want[token] == nil {
			t.Errorf("token %s: a position no intent filled", short(token))
		}
	}
	lots, err := st.Lots()
	if err != nil {
		t.Fatal(err)
	}
	lotShares := map[string]uint64{}
	for _, l := range lots {
		lotShares[l.Token] += l.Shares
	}
	for token, h := range held {
		if lotShares[token] != h {
			t.Errorf("token %s: lots hold %d shares, the position %d", short(token), lotShares[token], h)
		}
	}
	var d store.Daily
	for day := range days {
		x, err := st.Daily(day)
		if err != nil {
			t.Fatal(err)
		}
		d.Copies += x.Copies
		d.Spent += x.Spent
		d.Realised += x.Realised
	}
	if d.Copies != filled || d.Spent != spent || d.Realised != realised {
		t.Errorf("daily counters: %d copies, %d spent, %d realised; the intents: %d, %d, %d",
			d.Copies, d.Spent, d.Realised, filled, spent, realised)
	}
}

func short(token string) string {
	if len(token) > 12 {
		return token[:6] + "…" + token[len(token)-4:]
	}
	return token
}

// checkLogs reads every run's log, independently of the store: no fill placed twice (a
// "copied" or "copy not filled" line, or a pending copy resolved at a restart, is one
// placement), every placement an intent's, with the intent's result; no executor failure.
func checkLogs(t *testing.T, runs []*botRun, intents map[fillKey]store.Intent, fig *figures) (neverSent map[fillKey]string) {
	t.Helper()
	placed := map[fillKey][]string{}
	neverSent = map[fillKey]string{}
	for _, r := range runs {
		// A run whose SIGTERM outlasted executor.shutdown_grace cut its last copies off: their
		// outcome is unknown, and the next start resolves them (checked in the store).
		cutOff := graceRanOut(r)
		for _, l := range r.snapshot() {
			k, ok := l.fill()
			switch {
			case cutOff && strings.HasPrefix(l.Msg, msgOutcomeUnkn) && strings.Contains(l.Error, context.Canceled.Error()):
				fig.cutOffByGrace++
			case l.Msg == msgDuplicate:
				fig.duplicatesCaught++
			case l.Msg == msgResolved:
				fig.resolved++
			case strings.HasPrefix(l.Msg, msgCopyFailed), strings.HasPrefix(l.Msg, msgOutcomeUnkn), strings.HasPrefix(l.Msg, msgManual),
				strings.HasPrefix(l.Msg, "copy placed but"):
				t.Errorf("run %d: %s: %s (%s)", r.n, l.Msg, k, l.Error)
			}
			if !ok {
				continue
			}
			if l.NeverSent != "" {
				// A re-send killed before its POST is sent again at the next start: the
				// fill's last word counts.
				neverSent[k] = l.NeverSent
			}
			var shares string
			switch l.Msg {
			case msgCopied:
				shares = l.Shares
			case msgNotFilled:
				shares = "0"
			case msgResolved:
				shares = l.Filled
			default:
				continue
			}
			placed[k] = append(placed[k], fmt.Sprintf("run %d: %s, %s shares", r.n, l.Msg, shares))
			in, ok := intents[k]
			if !ok {
				t.Errorf("run %d logged %q for %s, which has no intent", r.n, l.Msg, k)
				continue
			}
			if want := strategy.Units(in.Result.FilledShares); shares != want {
				t.Errorf("run %d logged %q for %s with %s shares; its intent filled %s", r.n, l.Msg, k, shares, want)
			}
		}
	}
	keys := make([]fillKey, 0, len(placed))
	for k := range placed {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, k := range keys {
		if len(placed[k]) > 1 {
			fig.placedTwice++
			t.Errorf("PLACED TWICE: fill %s: %s", k, strings.Join(placed[k], "; "))
		}
	}
	fig.logged = len(placed)
	fig.unlogged = len(intents) - len(placed)
	return neverSent
}

// checkNeverSent checks the copies whose order a kill stopped before its POST (a restart's
// "never_sent" log lines): each young enough to copy was sent at the next start, as the order
// its intent journaled, and none was lost, i.e. recorded unfilled without its order ever reaching
// the CLOB while its fill was younger than copy.max_fill_age (1h here, far longer than the test:
// a "too old" here is a loss too) or an exit (copied at any age).
func checkNeverSent(t *testing.T, fills []polymarket.Fill, proxy *clobProxy, intents map[fillKey]store.Intent,
	neverSent map[fillKey]string, fig *figures) {
	t.Helper()
	const maxFillAge = time.Hour // copy.max_fill_age in writeConfig
	blockTime := map[fillKey]uint64{}
	for i := range fills {
		blockTime[keyOf(&fills[i])] = fills[i].BlockTime
	}
	pc := proxy.counts()
	for k, what := range neverSent {
		in, ok := intents[k]
		if !ok {
			t.Errorf("fill %s: a restart settled its unsent copy (%s), but it has no intent", k, what)
			continue
		}
		switch what {
		case executor.NeverSentResent:
			fig.resent++
			if in.Result.FilledShares > 0 {
				fig.resentFilled++
			}
			// (a FAK that found nothing to match is refused: not accepted, and unfilled)
			so := pc.bySalt[k.salt()]
			if so.posts == 0 || len(so.accepted) > 1 || (len(so.accepted) == 1 && so.accepted[0] != in.OrderHash) {
				t.Errorf("fill %s: re-sent, yet the CLOB saw %d posts for it and accepted %v, not at most once its journaled order %s",
					k, so.posts, so.accepted, in.OrderHash.Hex())
			}
		case executor.NeverSentTooOld:
			fig.tooOld++
		default:
			fig.noJournal++
		}
	}
	for k, in := range intents {
		so := pc.bySalt[k.salt()]
		if so.posts > 0 || in.Result.FilledShares > 0 {
			continue
		}
		bt := blockTime[k.fill()] // 0: unknown, so not shown to be too old
		young := in.Side == polymarket.Sell || bt == 0 || time.Since(time.Unix(int64(bt), 0)) < maxFillAge
		if young {
			fig.lostNeverSent++
			if fig.lostNeverSent <= 5 {
				t.Errorf("LOST: fill %s (%s, restart said %q): its copy's order never reached the CLOB, and its fill was young enough to copy",
					k, in.Side, neverSent[k])
			}
		}
	}
	if fig.lostNeverSent > 0 {
		t.Errorf("%d copies whose order never left were not copied while their fill was young enough", fig.lostNeverSent)
	}
}

// checkCLOB checks what the fake CLOB saw: at most one accepted order per fill (salt) and per
// hash, the accepted order of each intent is the one it recorded, the CLOB's matched size is the
// intent's result, no order without an intent, and the account's token balances equal the
// positions.
func checkCLOB(t *testing.T, ps *polysimProc, proxy *clobProxy, credsDir, stateDir string, intents map[fillKey]store.Intent, fig *figures) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	key, err := secrets.LoadKey(secrets.KeyOptions{KeyFile: filepath.Join(credsDir, secrets.KeyCredential)})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := secrets.LoadCredentials(filepath.Join(credsDir, secrets.APICredential))
	if err != nil {
		t.Fatal(err)
	}
	c, err := clob.NewClient(clob.Options{BaseURL: ps.clob, ChainID: 1337, Key: key, Creds: &creds, RateLimit: rate.Inf})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	pc := proxy.counts()
	fig.posts, fig.dupPosts = pc.posts, pc.dupes
	if pc.failures > 0 {
		t.Errorf("the proxy could not carry %d requests to the CLOB", pc.failures)
	}
	for h, n := range pc.byHash {
		fig.accepted += n
		if n > 1 {
			t.Errorf("ORDER TWICE: the CLOB accepted order %s %d times", h.Hex(), n)
		}
	}
	salts := map[string]bool{}
	trades := &tradeBook{c: c}
	for k, in := range intents {
		salt := k.salt()
		salts[salt] = true
		so := pc.bySalt[salt]
		if so.posts == 0 {
			fig.neverSent++
		}
		if in.OrderHash == (common.Hash{}) {
			t.Errorf("fill %s: live intent without an order hash", k)
			continue
		}
		if len(so.accepted) > 1 {
			t.Errorf("ORDER TWICE: fill %s: the CLOB accepted %d orders: %v", k, len(so.accepted), so.accepted)
		}
		if len(so.accepted) == 1 && so.accepted[0] != in.OrderHash {
			t.Errorf("fill %s: the CLOB accepted order %s, the intent recorded %s", k, so.accepted[0].Hex(), in.OrderHash.Hex())
		}
		oo, err := c.GetOrder(ctx, in.OrderHash.Hex())
		if errors.Is(err, clob.ErrOrderNotFound) {
			oo, err = trades.order(ctx, in.Token, in.OrderHash)
		}
		switch {
		case errors.Is(err, clob.ErrOrderNotFound):
			if len(so.accepted) != 0 || in.Result.FilledShares != 0 {
				t.Errorf("fill %s: order %s unknown to the CLOB, yet accepted %d times, intent filled %d", k, in.OrderHash.Hex(),
					len(so.accepted), in.Result.FilledShares)
			}
		case err != nil:
			t.Fatalf("look up order %s: %v", in.OrderHash.Hex(), err)
		default:
			matched := oo.SizeMatched.Shift(6)
			if !matched.Equal(decimal.NewFromUint64(in.Result.FilledShares)) {
				t.Errorf("fill %s: the CLOB matched %s shares of order %s, the intent records %d base units", k, oo.SizeMatched,
					in.OrderHash.Hex(), in.Result.FilledShares)
			}
		}
	}
	for salt, so := range pc.bySalt {
		if !salts[salt] && len(so.accepted) > 0 {
			t.Errorf("ORDER WITHOUT INTENT: salt %s, orders %v", salt, so.accepted)
		}
	}
	st, err := store.OpenReadOnly(store.Options{Dir: stateDir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	writtenOff := map[string]uint64{}
	all, err := st.Positions()
	if err != nil {
		t.Fatal(err)
	}
	closed, err := st.ClosedPositions(time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(all, closed...) {
		writtenOff[p.Token] += p.WrittenOff
	}
	for _, token := range ps.markets {
		ba, err := c.BalanceAllowance(ctx, clob.AssetConditional, token, 0)
		if err != nil {
			t.Fatalf("balance of %s: %v", short(token), err)
		}
		p, _, err := st.Position(token)
		if err != nil {
			t.Fatal(err)
		}
		// The wallet also keeps the rests written off at no value (below 0.01 share).
		held := p.Shares + writtenOff[token]
		if !ba.Balance.Equal(decimal.NewFromUint64(held)) {
			t.Errorf("token %s: the CLOB holds %s base units, the store's position %d (+%d written off)", short(token), ba.Balance, p.Shares, writtenOff[token])
		}
	}
}
