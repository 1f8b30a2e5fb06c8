// Command testsum reads `go test -json` on stdin and prints what a plain `go test` would: the
// output of failed tests and each package's closing "ok"/"FAIL" line, then one line counting the
// skipped tests and why, so that no skip in `make test` goes unseen. It exits 1 when a test or a
// package failed (or the stream ended inside a test), 0 otherwise.
//
//	go test -json ./... | go run ./scripts/testsum
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
)

type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output events
}

type key struct{ pkg, test string }

// summary accumulates the stream.
type summary struct {
	out     io.Writer
	buf     map[key][]string // output of tests still running
	skips   map[string]int   // reason → count
	skipped int
	failed  bool
}

var fileLine = regexp.MustCompile(`^\s*[\w.-]+\.go:\d+: `)

func (s *summary) event(e event) {
	k := key{e.Package, e.Test}
	switch e.Action {
	case "build-output":
		fmt.Fprint(s.out, e.Output)
	case "build-fail":
		s.failed = true
	case "output":
		if e.Test == "" {
			if e.Output != "PASS\n" { // a plain go test prints only the "ok" line of a passing package
				fmt.Fprint(s.out, e.Output)
			}
			return
		}
		s.buf[k] = append(s.buf[k], e.Output)
	case "pass":
		delete(s.buf, k)
	case "skip":
		if e.Test != "" {
			s.skipped++
			s.skips[reason(s.buf[k])]++
		}
		delete(s.buf, k)
	case "fail":
		s.failed = true
		if e.Test != "" {
			s.flush(k)
			return
		}
		// The package failed: print what its unfinished tests said (a panic, a timeout).
		var open []key
		for o := range s.buf {
			if o.pkg == e.Package {
				open = append(open, o)
			}
		}
		sort.Slice(open, func(i, j int) bool { return open[i].test < open[j].test })
		for _, o := range open {
			s.flush(o)
		}
	}
}

func (s *summary) flush(k key) {
	for _, line := range s.buf[k] {
		fmt.Fprint(s.out, line)
	}
	delete(s.buf, k)
}

// reason is the message a skipped test logged last before its --- SKIP line.
func reason(lines []string) string {
	r := "no reason given"
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		r = fileLine.ReplaceAllString(l, "")
	}
	return strings.TrimSpace(r)
}

func (s *summary) line() string {
	if s.skipped == 0 {
		return "make test: 0 tests skipped"
	}
	reasons := make([]string, 0, len(s.skips))
	for r := range s.skips {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if s.skips[reasons[i]] != s.skips[reasons[j]] {
			return s.skips[reasons[i]] > s.skips[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%d× %q", s.skips[r], r)
	}
	return fmt.Sprintf("make test: %d tests skipped: %s", s.skipped, strings.Join(parts, "; "))
}

func run(in io.Reader, out io.Writer) (failed bool) {
	s := &summary{out: out, buf: map[key][]string{}, skips: map[string]int{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Fprintln(out, sc.Text()) // not an event: pass it on
			continue
		}
		s.event(e)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(out, "testsum: reading go test -json: %v\n", err)
		s.failed = true
	}
	if len(s.buf) > 0 { // the stream ended inside tests: show them
		s.failed = true
		for k := range s.buf {
			s.flush(k)
		}
	}
	fmt.Fprintln(out, s.line())
	return s.failed
}

func main() {
	if run(os.Stdin, os.Stdout) {
		os.Exit(1)
	}
}
