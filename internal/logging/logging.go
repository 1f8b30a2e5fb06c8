// Package logging builds polybot's root zap logger and the helpers around it.
//
// There is no global logger: main builds one with New and hands it down;
// each component takes log.Named("component").
package logging

import (
	"fmt"
	"io"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
)

// Formats New accepts.
const (
	FormatConsole = "console"
	FormatJSON    = "json"
)

// Options configures New. The zero value logs at info level, in console
// format, to os.Stderr, detecting journald from the environment.
type Options struct {
	// Level is debug, info, warn or error; "" means info.
	Level string
	// Format is console (human-readable) or json; "" means console.
	Format string
	// Output receives the log lines; nil means os.Stderr.
	Output io.Writer
	// Journald forces journald mode on or off; nil detects it from the
	// JOURNAL_STREAM environment variable systemd sets for its services.
	Journald *bool
}

// New builds the root logger. The returned AtomicLevel changes its level at
// runtime (on reload) without rebuilding it.
//
// Under journald, lines carry no timestamp of their own (the journal adds
// one) and start with their syslog priority in sd-daemon form (<3> error,
// <4> warn, <6> info, <7> debug), so `journalctl -p warning` selects them.
func New(opts Options) (*zap.Logger, zap.AtomicLevel, error) {
	level, err := ParseLevel(opts.Level)
	if err != nil {
		return nil, zap.AtomicLevel{}, err
	}
	out := opts.Output
	if out == nil {
		out = os.Stderr
	}
	journald := UnderJournald()
	if opts.Journald != nil {
		journald = *opts.Journald
	}

	encCfg := zapcore.EncoderConfig{
		TimeKey:        "ts",
		LevelKey:       "level",
		NameKey:        "logger",
		CallerKey:      "caller",
		MessageKey:     "msg",
		StacktraceKey:  "stacktrace",
		LineEnding:     zapcore.DefaultLineEnding,
		EncodeLevel:    zapcore.LowercaseLevelEncoder,
		EncodeTime:     zapcore.ISO8601TimeEncoder,
		EncodeDuration: zapcore.StringDurationEncoder,
		EncodeCaller:   zapcore.ShortCallerEncoder,
		EncodeName:     zapcore.FullNameEncoder,
	}
	if journald {
		encCfg.TimeKey = ""
	}

	var enc zapcore.Encoder
	zopts := []zap.Option{zap.ErrorOutput(nil), zap.AddStacktrace(zapcore.DPanicLevel)}
	switch strings.ToLower(opts.Format) {
	case "", FormatConsole:
		// Lines for people (a terminal, journalctl): no source file and line, which say
		// nothing to an operator and push the message to the right.
		encCfg.CallerKey = ""
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	case FormatJSON:
		zopts = append(zopts, zap.AddCaller()) // for log pipelines: where each line comes from
		enc = zapcore.NewJSONEncoder(encCfg)
	default:
		return nil, zap.AtomicLevel{}, fmt.Errorf("log format %q: want %s or %s", opts.Format, FormatConsole, FormatJSON)
	}
	if journald {
		enc = priorityEncoder{enc}
	}

	atom := zap.NewAtomicLevelAt(level)
	ws := zapcore.Lock(zapcore.AddSync(out))
	core := zapcore.NewCore(enc, ws, atom)
	zopts[0] = zap.ErrorOutput(ws)
	log := zap.New(core, zopts...)
	return log, atom, nil
}

// ParseLevel accepts debug, info, warn or error ("" means info).
func ParseLevel(s string) (zapcore.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return zapcore.DebugLevel, nil
	case "", "info":
		return zapcore.InfoLevel, nil
	case "warn":
		return zapcore.WarnLevel, nil
	case "error":
		return zapcore.ErrorLevel, nil
	default:
		return zapcore.InfoLevel, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
}

// UnderJournald reports whether systemd connected our output to the
// journal, which it announces by setting JOURNAL_STREAM.
func UnderJournald() bool {
	return os.Getenv("JOURNAL_STREAM") != ""
}

// Priority returns the syslog priority journald should file a line at.
func Priority(l zapcore.Level) int {
	switch {
	case l <= zapcore.DebugLevel:
		return 7 // LOG_DEBUG
	case l == zapcore.InfoLevel:
		return 6 // LOG_INFO
	case l == zapcore.WarnLevel:
		return 4 // LOG_WARNING
	case l == zapcore.ErrorLevel:
		return 3 // LOG_ERR
	default:
		return 2 // LOG_CRIT: dpanic, panic, fatal
	}
}

// priorityEncoder prefixes each encoded line with "<N>", the sd-daemon
// priority prefix that journald strips and files the line under.
type priorityEncoder struct {
	zapcore.Encoder
}

func (e priorityEncoder) Clone() zapcore.Encoder {
	return priorityEncoder{e.Encoder.Clone()}
}

var pool = buffer.NewPool()

func (e priorityEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	line, err := e.Encoder.EncodeEntry(ent, fields)
	if err != nil {
		return nil, err
	}
	out := pool.Get()
	out.AppendByte('<')
	out.AppendInt(int64(Priority(ent.Level)))
	out.AppendByte('>')
	_, _ = out.Write(line.Bytes())
	line.Free()
	return out, nil
}
