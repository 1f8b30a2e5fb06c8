package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/app"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/latency"
	"github.com/polybot/polybot/internal/store"
)

func newStatusCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	var (
		socket  string
		asJSON  bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show what the running daemon is doing: leaders, chain head, copies, positions",
		Long: "status asks the running daemon over its admin socket (admin.socket; by default\n" +
			"admin.sock in /run/polybot under systemd, else in state_dir) and prints a summary.\n" +
			"When no daemon answers it prints what the store in state_dir holds (checkpoint, open\n" +
			"positions, copies today, circuit breaker) and exits 1: polybot is not running.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, paths, cfgErr := daemonPaths(g, socket)
			if cfgErr != nil {
				// A broken config on disk does not stop the running daemon, which keeps the
				// config it loaded: ask it where the broken file says (or the defaults).
				_, path, _ := loadConfig(g)
				cfg, paths = nil, admin.ClientPaths(config.Locate(path))
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			raw, path, err := fetchFirst(ctx, paths, "/status")
			if cfgErr != nil {
				if err != nil {
					return cfgErr
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: the config on disk does not load; the daemon runs the config it loaded before, "+
					"and a restart would fail: %v\n\n", cfgErr)
			}
			switch {
			case errors.Is(err, admin.ErrNotRunning):
				notRunning := fmt.Errorf("not running: no daemon answers on %s", strings.Join(paths, " or "))
				if cfg == nil || asJSON {
					return &exitError{code: exFail, err: notRunning}
				}
				err := printStoredStatus(stdout, cfg, paths, time.Now())
				switch {
				case errors.Is(err, store.ErrLocked):
					return &exitError{code: exFail, err: err}
				case err != nil:
					notRunning = fmt.Errorf("%w; and the stored state cannot be read: %w", notRunning, err)
				}
				return &exitError{code: exFail, err: notRunning}
			case err != nil:
				return &exitError{code: exFail, err: err}
			}
			if asJSON {
				_, err := stdout.Write(raw)
				return err
			}
			var st admin.Status
			if err := json.Unmarshal(raw, &st); err != nil {
				return &exitError{code: exFail, err: fmt.Errorf("decode status from %s: %w", path, err)}
			}
			printStatus(stdout, &st, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&socket, "socket", "", "admin socket path (default: from the config)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the daemon's JSON as it sent it")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the daemon")
	return cmd
}

// daemonPaths is where to ask the daemon: the --socket path alone (and no config is read), or
// the sockets of the config (admin.ClientPaths), with the config to find the store by.
func daemonPaths(g *globalFlags, socket string) (*config.Config, []string, error) {
	if socket != "" {
		return nil, []string{socket}, nil
	}
	cfg, _, err := loadConfig(g)
	if err != nil {
		return nil, nil, err
	}
	return cfg, admin.ClientPaths(cfg), nil
}

// fetchFirst asks each socket in turn for target; the first that answers wins. A socket that
// exists but may not be opened is an error at once: a daemon may be behind it.
func fetchFirst(ctx context.Context, paths []string, target string) ([]byte, string, error) {
	for _, p := range paths {
		raw, err := admin.Get(ctx, p, target)
		if errors.Is(err, admin.ErrNotRunning) {
			continue
		}
		return raw, p, err
	}
	return nil, "", admin.ErrNotRunning
}

// openStored opens cfg's store read-only once no daemon answered on paths. Its errors say what
// is wrong in words: no store yet, a store held by a daemon that cannot be asked (wrapping
// store.ErrLocked), a store this user may not read.
func openStored(cfg *config.Config, paths []string) (*store.Store, error) {
	file := store.Path(cfg.StateDir)
	st, err := store.OpenReadOnly(app.StoreOptions(cfg))
	switch {
	case err == nil:
		return st, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no stored state: %s does not exist (polybot has not run with state_dir %s yet)", file, cfg.StateDir)
	case errors.Is(err, store.ErrLocked):
		return nil, fmt.Errorf("no daemon answers on %s, but a polybot process holds %s: it runs without a "+
			"reachable admin socket (admin.enabled false, or another admin.socket: give --socket): %w",
			strings.Join(paths, " or "), file, store.ErrLocked)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("cannot read %s: permission denied (run as root or as polybot's user)", file)
	}
	return nil, err
}

// fromDaemonOrStore asks the daemon on paths for target and decodes its JSON answer into v.
// When no daemon answers and cfg is known (no --socket), it opens the store read-only instead,
// says so on stderr and lets stored fill v. raw is the daemon's answer as sent, nil when v came
// from the store. Errors are the command's exit errors.
func fromDaemonOrStore(ctx context.Context, cfg *config.Config, paths []string, target string, stderr io.Writer,
	v any, stored func(*store.Store) error) (raw []byte, err error) {
	raw, path, err := fetchFirst(ctx, paths, target)
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, v); err != nil {
			return nil, &exitError{code: exFail, err: fmt.Errorf("decode %s from %s: %w", target, path, err)}
		}
		return raw, nil
	case errors.Is(err, admin.ErrNotRunning) && cfg != nil:
		st, err := openStored(cfg, paths)
		if err != nil {
			return nil, &exitError{code: exFail, err: err}
		}
		defer st.Close()
		fmt.Fprintf(stderr, "polybot: the daemon is not running (no answer on %s); showing the state stored in %s\n",
			strings.Join(paths, " or "), st.File())
		if err := stored(st); err != nil {
			return nil, &exitError{code: exFail, err: err}
		}
		return nil, nil
	case errors.Is(err, admin.ErrNotRunning):
		return nil, &exitError{code: exFail, err: fmt.Errorf("not running: no daemon answers on %s (without --socket the stored state is read)", paths[0])}
	default:
		return nil, &exitError{code: exFail, err: err}
	}
}

// writeJSON prints the daemon's answer as it sent it, or v encoded as the daemon would.
func writeJSON(w io.Writer, raw []byte, v any) error {
	if raw == nil {
		b, err := admin.Encode(v)
		if err != nil {
			return err
		}
		raw = b
	}
	_, err := w.Write(raw)
	return err
}

// printStoredStatus prints what the store of cfg holds, for status while the daemon is down.
func printStoredStatus(w io.Writer, cfg *config.Config, paths []string, now time.Time) error {
	st, err := openStored(cfg, paths)
	if err != nil {
		return err
	}
	defer st.Close()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(label, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", label, fmt.Sprintf(format, args...))
	}
	modified := ""
	if fi, err := os.Stat(st.File()); err == nil {
		modified = fmt.Sprintf(" (last written %s)", fi.ModTime().UTC().Format(time.RFC3339))
	}
	row("polybot", "NOT RUNNING; stored state in %s%s", st.File(), modified)
	if fs, err := st.FileStats(); err == nil {
		row("store", "file %s, %s of it data", humanBytes(fs.FileBytes), humanBytes(fs.LiveBytes))
	}

	if block, ok, err := st.Checkpoint(); err != nil {
		row("checkpoint", "unreadable: %v", err)
	} else if ok {
		row("checkpoint", "block %d (logs up to it processed)", block)
	} else {
		row("checkpoint", "none saved yet")
	}
	if ps, err := st.Positions(); err != nil {
		row("positions", "unreadable: %v", err)
	} else {
		cost := decimal.Zero
		for _, p := range ps {
			cost = cost.Add(decimal.NewFromUint64(p.Cost))
		}
		row("positions", "%d open; cost %s USDC", len(ps), cost.Shift(-6))
	}
	if d, err := st.Daily(now); err != nil {
		row("copies", "unreadable: %v", err)
	} else {
		row("copies", "%d today (trading day from %s UTC); realised today %s USDC",
			d.Copies, d.Day.Format("2006-01-02 15:04"), decimal.New(d.Realised, -6))
	}
	if all, err := st.RealisedAllTime(); err == nil {
		row("realised", "all-time %s USDC (polybot pnl: per leader)", decimal.New(all, -6))
	}
	if n, err := st.OrphanedCount(); err == nil && n > 0 {
		row("reorged", "%d decided leader fills removed by a reorg for good (see polybot decisions: orphaned)", n)
	}
	if r, err := st.Redemptions(); err != nil {
		row("redemptions", "unreadable: %v", err)
	} else if r.Paid+r.Waiting+r.Checking+r.Failing > 0 {
		row("redemptions", "%s", admin.Redemptions(r).Line())
	}
	if b, err := st.Breaker(now); err != nil {
		row("breaker", "unreadable: %v", err)
	} else if b.Tripped {
		row("breaker", "TRIPPED at %s (day P&L %s USDC); copying stays stopped until the trading day ends",
			b.TrippedAt.UTC().Format(time.RFC3339), decimal.New(b.PnL, -6))
	} else {
		row("breaker", "not tripped")
	}
	n, err := st.DecisionCount()
	last, lerr := st.Decisions(time.Time{}, 1)
	switch {
	case err != nil || lerr != nil:
		row("decisions", "unreadable: %v", errors.Join(err, lerr))
	case len(last) == 0:
		row("decisions", "none logged")
	default:
		d := last[0]
		row("decisions", "%d in the log; last at %s: %s %s, %s", n, d.Time.UTC().Format(time.RFC3339), d.Action, d.Side, d.Reason)
	}
	return tw.Flush()
}

// printStatus prints st as a two-column table.
func printStatus(w io.Writer, st *admin.Status, path string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(label, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", label, fmt.Sprintf(format, args...))
	}
	uptime := (time.Duration(st.UptimeSeconds) * time.Second).String()
	row("polybot", "%s, %s mode, up %s (since %s)", st.Version, st.Mode, uptime, st.StartedAt.Format(time.RFC3339))
	row("config", "hash %s", st.ConfigHash)
	if st.ReloadError != "" {
		row("", "LAST RELOAD REFUSED, old config in force: %s", st.ReloadError)
	}
	row("socket", "%s", path)

	c := st.Chain
	head := fmt.Sprintf("head %d", c.HeadBlock)
	if c.HeadAgeSeconds != nil {
		head += fmt.Sprintf(", advanced %s ago", time.Duration(*c.HeadAgeSeconds)*time.Second)
	} else {
		head = "no head seen yet"
	}
	health := "healthy"
	if !c.Healthy {
		health = "NOT HEALTHY: " + c.HealthError
	}
	row("chain", "%s; %s", head, health)
	row("", "subscribed %s, reconnects %d", yesNo(c.Subscribed), c.Reconnects)
	row("", "logs %d, fills %d, duplicates %d, malformed %d", c.Logs, c.Fills, c.Duplicates, c.Malformed)
	if c.LastError != "" {
		row("", "last connection error: %s", c.LastError)
	}
	if c.ClockSkewSeconds != nil && (*c.ClockSkewSeconds > 10 || *c.ClockSkewSeconds < -10) {
		row("", "SYSTEM CLOCK OFF: %s against the chain head's time (fill ages are measured in chain time)",
			time.Duration(*c.ClockSkewSeconds)*time.Second)
	}
	if c.CatchUp != nil {
		row("", "%s", c.CatchUp.Line)
	}

	enabled := 0
	for _, l := range st.Leaders {
		if l.Enabled {
			enabled++
		}
	}
	row("leaders", "%d enabled of %d", enabled, len(st.Leaders))
	for _, l := range st.Leaders {
		name := l.Name
		if name == "" {
			name = "-"
		}
		off := ""
		if !l.Enabled {
			off = " (disabled)"
		}
		row("", "%s  %s%s", l.Address, name, off)
	}

	if n := st.Chain.Orphaned; n > 0 {
		row("reorged", "%d decided leader fills removed by a reorg for good (see polybot decisions: orphaned)", n)
	}
	e, p := st.Executor, st.Positions
	row("copies", "%d today; since start %d copied, %d skipped, %d failed", p.CopiesToday, e.Copied, e.Skipped, e.Failed)
	row("positions", "%d open; realised today %s USDC, realised all-time %s USDC", p.Open, p.RealisedTodayUSDC, p.RealisedAllTimeUSDC)
	if p.Open > 0 {
		row("unrealised", "%s USDC (%s)", p.UnrealisedUSDC, admin.PnL{Marked: p.Marked, AtLastFill: p.AtLastFill}.Basis())
	}
	row("locks", "%d markets", e.Locks)
	if e.Paused != "" {
		row("PAUSED", "%s", e.Paused)
	}
	if e.CLOBBreaker != "" {
		row("clob", "%s", e.CLOBBreaker)
	}
	if e.Trading != "" {
		row("TRADING", "%s", e.Trading)
	}
	if e.ExitRetries != "" {
		row("exits", "%s", e.ExitRetries)
	}
	if l := st.DailyLoss; l.Tripped && l.Until != nil {
		row("loss breaker", "TRIPPED: BUYs stopped until %s UTC; day P&L %s USDC, %s past the %s USDC limit",
			l.Until.UTC().Format("2006-01-02 15:04"), l.PnLUSDC, l.OverUSDC, l.LimitUSDC)
	} else {
		row("loss breaker", "not tripped (limit %s USDC of loss a day)", l.LimitUSDC)
	}
	printLatency(row, st.Latency)
	d := st.Dedup
	row("dedup", "%d of %d entries (~%s), %d duplicates dropped", d.Size, d.Capacity, humanBytes(d.Bytes), d.Hits)
	if m := st.Memory; m.RSSBytes > 0 {
		row("memory", "RSS %s: %s anonymous, %s file-backed (the store's file is mapped)",
			humanBytes(m.RSSBytes), humanBytes(m.RSSAnonBytes), humanBytes(m.RSSFileBytes))
	}
	if m := st.Memory; m.StoreFileBytes > 0 {
		row("store", "file %s, %s of it data", humanBytes(m.StoreFileBytes), humanBytes(m.StoreLiveBytes))
	}
	if r := st.Redemptions; r != nil {
		row("redemptions", "%s", r.Line())
	}
	_ = tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// humanBytes renders n in B, KiB or MiB.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}

// printLatency shows the last hour's copies: each stage's p50 and p99, and the slippage.
func printLatency(row func(label, format string, args ...any), l latency.Summary) {
	n := 0
	for _, s := range l.Stages {
		n = max(n, s.Count)
	}
	if n == 0 {
		row("latency", "no filled copy in the last %s", time.Duration(l.WindowSeconds*float64(time.Second)))
		return
	}
	label := "latency"
	for _, s := range l.Stages {
		if s.Count == 0 {
			continue
		}
		row(label, "%-14s p50 %-8s p99 %-8s (%d copies, last %s)", strings.ReplaceAll(s.Stage, "_", " "),
			s.P50.Round(time.Millisecond), s.P99.Round(time.Millisecond), s.Count, time.Duration(l.WindowSeconds*float64(time.Second)))
		label = ""
	}
	if l.SlippageCount > 0 {
		row("slippage", "p50 %s bps, p99 %s bps against the leader's price (positive: worse)", l.SlippageP50, l.SlippageP99)
	}
}
