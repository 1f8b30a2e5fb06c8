// Package crashtest holds the crash test of polybot's exactly-once copying: the real polybot
// binary against the real polysim binary, SIGKILLed at random points and restarted, then checked
// fill by fill against polysim's record of the chain. It has no code outside its tests.
package crashtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/order"
)

// binDir holds the binaries, built once per test binary run (TestMain removes it).
var (
	binDir    string
	buildOnce sync.Once
	buildErr  error
)

// binaries builds polybot and polysim into binDir, once, and returns their paths.
func binaries(t *testing.T) (polybot, polysim string) {
	t.Helper()
	buildOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		for _, name := range []string{"polybot", "polysim"} {
			cmd := exec.Command(goBin, "build", "-o", filepath.Join(binDir, name), "github.com/polybot/polybot/cmd/"+name)
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %w\n%s", name, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "polybot"), filepath.Join(binDir, "polysim")
}

// childEnv is the environment of the child processes, without what systemd sets: a child that
// thought it ran under systemd would log for journald or notify a socket that is not there.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "JOURNAL_STREAM", "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "CREDENTIALS_DIRECTORY",
			"RUNTIME_DIRECTORY", "STATE_DIRECTORY", "INVOCATION_ID", "LISTEN_FDS", "LISTEN_PID":
			continue
		}
		if strings.HasPrefix(k, "POLYBOT_") {
			continue // the config file is the whole config
		}
		env = append(env, kv)
	}
	return env
}

// polysimProc is a running polysim.
type polysimProc struct {
	cmd       *exec.Cmd
	ws        string
	clob      string
	leaders   []common.Address
	exchanges map[common.Address]bool
	markets   []string
	done      chan struct{}
	waitErr   error
}

// startPolysim starts polysim with args and waits until it has printed where it listens (and its
// fake CLOB, when live): its markets, leaders and URLs. stderr goes to logPath.
func startPolysim(t *testing.T, bin, logPath string, markets int, live bool, args ...string) *polysimProc {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = childEnv()
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &polysimProc{cmd: cmd, exchanges: map[common.Address]bool{}, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok || signalled {
				continue
			}
			v = strings.TrimSpace(v)
			switch k {
			case "ws":
				p.ws = v
			case "leader":
				p.leaders = append(p.leaders, common.HexToAddress(v))
			case "market":
				token, ex, _ := strings.Cut(v, " on ")
				p.markets = append(p.markets, token)
				p.exchanges[common.HexToAddress(ex)] = true
			case "clob":
				p.clob = v
			}
			if (!live && len(p.markets) == markets) || (live && k == "account") {
				signalled = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() {
		p.waitErr = cmd.Wait()
		_ = logf.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t) })
	select {
	case <-ready:
	case <-p.done:
		t.Fatalf("polysim exited before it was ready: %v (log %s)", p.waitErr, logPath)
	case <-time.After(2 * time.Minute):
		t.Fatalf("polysim did not print its addresses within 2 minutes (log %s)", logPath)
	}
	return p
}

// stop interrupts polysim and waits for it.
func (p *polysimProc) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("polysim did not stop within 30 s of SIGINT")
	}
}

// logLine is one JSON log line of polybot, the fields the test reads.
type logLine struct {
	Level    string `json:"level"`
	Logger   string `json:"logger"`
	Msg      string `json:"msg"`
	Tx       string `json:"tx"`
	LogIndex *uint  `json:"log_index"`
	Shares   string `json:"shares"`
	Filled   string `json:"filled_shares"`
	Status   string `json:"status"`
	Side     string `json:"side"`
	Error    string `json:"error"`
	Reason   string `json:"reason"`
	// NeverSent is what a restart did with a copy whose order never reached the CLOB:
	// executor.NeverSentResent, NeverSentTooOld or NeverSentNoJournal.
	NeverSent string `json:"never_sent"`
	// ExitAttempt is the exit retry a line is about (store.IntentID.Attempt); 0 for the copy
	// of the leader fill itself.
	ExitAttempt uint `json:"exit_attempt"`
}

// fillKey is the key of a leader fill, its transaction and log index, and of the attempt at
// copying it: 0 for the copy itself, n for the nth retry of an exit that did not sell.
type fillKey struct {
	tx      common.Hash
	idx     uint
	attempt uint
}

func (k fillKey) String() string {
	if k.attempt > 0 {
		return fmt.Sprintf("%s:%d retry %d", k.tx.Hex(), k.idx, k.attempt)
	}
	return fmt.Sprintf("%s:%d", k.tx.Hex(), k.idx)
}

// fill is the key of the leader fill k is an attempt at.
func (k fillKey) fill() fillKey { return fillKey{tx: k.tx, idx: k.idx} }

// salt is the salt of the order of k's attempt.
func (k fillKey) salt() string { return order.SaltForAttempt(k.tx, k.idx, k.attempt).String() }

func (l *logLine) fill() (fillKey, bool) {
	if l.Tx == "" || l.LogIndex == nil {
		return fillKey{}, false
	}
	return fillKey{common.HexToHash(l.Tx), *l.LogIndex, l.ExitAttempt}, true
}

// Executor outcomes, by their log message: a fill decided (and its decision recorded).
const (
	msgCopied      = "copied"
	msgNotFilled   = "copy not filled"
	msgSkipped     = "copy skipped"
	msgDuplicate   = "copy skipped: already copied"
	msgResolved    = "pending copy resolved after a restart"
	msgStarting    = "polybot starting"
	msgManual      = "MANUAL REVIEW"
	msgCopyFailed  = "copy failed"
	msgOutcomeUnkn = "copy outcome unknown"
	msgRejected    = "copy failed: the order was rejected"
	msgNotRecorded = "copy placed but its result not recorded"
	msgDustHeld    = "dust held" // a skip: a leader SELL that would leave a rest too small to sell
)

// decided reports whether a log line says its fill was decided and its decision recorded: the
// outcomes, and the failures after the intent was recorded (which checkLogs reports).
func decided(msg string) bool {
	switch msg {
	case msgCopied, msgNotFilled, msgSkipped, msgDuplicate, msgRejected:
		return true
	}
	return strings.HasPrefix(msg, msgOutcomeUnkn) || strings.HasPrefix(msg, msgNotRecorded) || strings.HasPrefix(msg, msgDustHeld)
}

// botRun is one polybot process, from start to its end (SIGKILL or SIGTERM).
type botRun struct {
	n       int
	cmd     *exec.Cmd
	logPath string

	mu       sync.Mutex
	lines    []logLine
	outcomes int           // executor outcome lines so far
	notify   chan struct{} // closed and replaced on each new outcome line
	done     chan struct{} // closed once the process is waited for and its output read
	waitErr  error
}

// startBot starts polybot run --config config; its stderr is copied to logPath and parsed.
func startBot(t *testing.T, bin, config, logPath string, n int) *botRun {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", config)
	cmd.Env = childEnv()
	cmd.Stdout = logf
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	r := &botRun{n: n, cmd: cmd, logPath: logPath, notify: make(chan struct{}), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // a test that failed half-way leaves no polybot behind
		if !r.exited() {
			_ = cmd.Process.Kill()
			<-r.done
		}
	})
	go func() {
		sc := bufio.NewScanner(errPipe)
		sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = logf.Write(append(line, '\n'))
			var l logLine
			if json.Unmarshal(line, &l) != nil {
				continue // not a log line (a panic's trace would be in the file)
			}
			r.mu.Lock()
			r.lines = append(r.lines, l)
			if decided(l.Msg) {
				r.outcomes++
				close(r.notify)
				r.notify = make(chan struct{})
			}
			r.mu.Unlock()
		}
		r.waitErr = cmd.Wait()
		_ = logf.Close()
		close(r.done)
	}()
	return r
}

// waitOutcomes waits until the run has logged at least n outcomes, or d passed, or it exited.
func (r *botRun) waitOutcomes(n int, d time.Duration) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		got, ch := r.outcomes, r.notify
		r.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			return
		case <-r.done:
			return
		}
	}
}

func (r *botRun) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// kill SIGKILLs the process and waits for it.
func (r *botRun) kill(t *testing.T) {
	t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("polybot run %d did not die within 30 s of SIGKILL", r.n)
	}
}

// terminate sends SIGTERM and waits for a clean exit.
func (r *botRun) terminate(t *testing.T) error {
	t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
		return r.waitErr
	case <-time.After(60 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
		return fmt.Errorf("polybot run %d did not stop within 60 s of SIGTERM", r.n)
	}
}

// snapshot returns the lines parsed so far.
func (r *botRun) snapshot() []logLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]logLine(nil), r.lines...)
}
