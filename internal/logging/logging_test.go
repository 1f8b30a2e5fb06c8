package logging

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func newTestLogger(t *testing.T, opts Options) (*zap.Logger, zap.AtomicLevel, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	opts.Output = &buf
	log, lvl, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	return log, lvl, &buf
}

func lines(buf *bytes.Buffer) []string {
	s := strings.TrimRight(buf.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

var timestamp = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}`)

func TestJournaldLinesCarryPriorityAndNoTimestamp(t *testing.T) {
	on := true
	for _, format := range []string{FormatConsole, FormatJSON} {
		t.Run(format, func(t *testing.T) {
			log, _, buf := newTestLogger(t, Options{Level: "debug", Format: format, Journald: &on})
			log.Named("monitor").Debug("polled head", zap.Uint64("block", 7))
			log.Info("started")
			log.Warn("head is stale")
			log.Error("subscribe logs failed")
			got := lines(buf)
			want := []string{"<7>", "<6>", "<4>", "<3>"}
			if len(got) != len(want) {
				t.Fatalf("got %d lines, want %d:\n%s", len(got), len(want), buf)
			}
			for i, line := range got {
				if !strings.HasPrefix(line, want[i]) {
					t.Errorf("line %d = %q, want prefix %s", i, line, want[i])
				}
				if timestamp.MatchString(line) {
					t.Errorf("line %d has a timestamp: %q", i, line)
				}
				if format == FormatJSON {
					var m map[string]any
					if err := json.Unmarshal([]byte(strings.TrimPrefix(line, want[i])), &m); err != nil {
						t.Errorf("line %d after its prefix is not JSON: %v", i, err)
					}
				}
			}
			if !strings.Contains(got[0], "monitor") || !strings.Contains(got[0], `"block": 7`) && !strings.Contains(got[0], `"block":7`) {
				t.Errorf("debug line lacks name or field: %q", got[0])
			}
		})
	}
}

func TestJournaldDetectedFromEnvironment(t *testing.T) {
	t.Setenv("JOURNAL_STREAM", "8:12345")
	log, _, buf := newTestLogger(t, Options{})
	log.Warn("head is stale")
	if !strings.HasPrefix(buf.String(), "<4>") {
		t.Fatalf("JOURNAL_STREAM set, line = %q, want <4> prefix", buf)
	}

	t.Setenv("JOURNAL_STREAM", "")
	log, _, buf = newTestLogger(t, Options{})
	log.Warn("head is stale")
	if strings.HasPrefix(buf.String(), "<") || !timestamp.MatchString(buf.String()) {
		t.Fatalf("JOURNAL_STREAM unset, line = %q, want a timestamp and no prefix", buf)
	}

	off := false
	t.Setenv("JOURNAL_STREAM", "8:12345")
	log, _, buf = newTestLogger(t, Options{Journald: &off})
	log.Warn("head is stale")
	if strings.HasPrefix(buf.String(), "<") {
		t.Fatalf("Journald forced off, line = %q", buf)
	}
}

func TestJSONFormatParses(t *testing.T) {
	off := false
	log, _, buf := newTestLogger(t, Options{Format: FormatJSON, Journald: &off})
	log.Named("executor").Info("order placed", zap.String("market", "0xabc"), zap.Int("n", 2))
	got := lines(buf)
	if len(got) != 1 {
		t.Fatalf("got %d lines: %s", len(got), buf)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(got[0]), &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, got[0])
	}
	for k, want := range map[string]any{"msg": "order placed", "level": "info", "logger": "executor", "market": "0xabc", "n": 2.0} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	if _, ok := m["ts"]; !ok {
		t.Error("no timestamp outside journald")
	}
}

func TestConsoleFormatIsReadable(t *testing.T) {
	off := false
	log, _, buf := newTestLogger(t, Options{Journald: &off})
	log.Info("started", zap.String("mode", "paper"))
	line := buf.String()
	for _, want := range []string{"INFO", "started", `"mode": "paper"`} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
	if strings.HasPrefix(line, "{") {
		t.Errorf("console line is JSON: %q", line)
	}
}

func TestLevelChangesAtRuntime(t *testing.T) {
	off := false
	log, lvl, buf := newTestLogger(t, Options{Level: "warn", Journald: &off})
	log.Info("hidden")
	lvl.SetLevel(zapcore.DebugLevel)
	log.Debug("shown")
	got := lines(buf)
	if len(got) != 1 || !strings.Contains(got[0], "shown") {
		t.Fatalf("got %q, want only the debug line written after the change", got)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []Options{{Level: "verbose"}, {Format: "logfmt"}}
	for _, o := range tests {
		if _, _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted it", o)
		}
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in   string
		want zapcore.Level
	}{
		{"", zapcore.InfoLevel}, {"debug", zapcore.DebugLevel}, {"info", zapcore.InfoLevel},
		{"WARN", zapcore.WarnLevel}, {"error", zapcore.ErrorLevel},
	}
	for _, tt := range tests {
		if got, err := ParseLevel(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseLevel("fatal"); err == nil {
		t.Error("ParseLevel(fatal) accepted it")
	}
}

func TestPriority(t *testing.T) {
	tests := map[zapcore.Level]int{
		zapcore.DebugLevel: 7, zapcore.InfoLevel: 6, zapcore.WarnLevel: 4,
		zapcore.ErrorLevel: 3, zapcore.DPanicLevel: 2, zapcore.FatalLevel: 2,
	}
	for l, want := range tests {
		if got := Priority(l); got != want {
			t.Errorf("Priority(%v) = %d, want %d", l, got, want)
		}
	}
}

// Console lines (a terminal, journalctl) are for people: no source file and line. JSON lines,
// for log pipelines, keep them.
func TestConsoleLinesCarryNoSourceFile(t *testing.T) {
	for _, c := range []struct {
		format string
		caller bool
	}{{FormatConsole, false}, {FormatJSON, true}} {
		var out bytes.Buffer
		no := false
		log, _, err := New(Options{Format: c.format, Output: &out, Journald: &no})
		if err != nil {
			t.Fatal(err)
		}
		log.Info("copied")
		if got := strings.Contains(out.String(), "logging_test.go"); got != c.caller {
			t.Errorf("%s: line %q has the source file: %v, want %v", c.format, out.String(), got, c.caller)
		}
	}
}
