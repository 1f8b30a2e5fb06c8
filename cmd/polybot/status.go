package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/config"
)

// offlineStatus, when set, prints what polybot knows while the daemon is not running.
//
// TODO(store): read the last positions and processed block from the store in state_dir, so that
// `polybot status` still says something useful while the daemon is down. Either way a daemon
// that does not answer is reported as not running, exit 1.
var offlineStatus func(cfg *config.Config, w io.Writer) error

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
			"It exits 1 when no daemon answers.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cfg *config.Config
			paths := []string{socket}
			if socket == "" {
				c, _, err := loadConfig(g)
				if err != nil {
					return err
				}
				cfg, paths = c, admin.ClientPaths(c)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			raw, path, err := fetchStatus(ctx, paths)
			switch {
			case errors.Is(err, admin.ErrNotRunning):
				notRunning := fmt.Errorf("not running: no daemon answers on %s", strings.Join(paths, " or "))
				if offlineStatus != nil && cfg != nil {
					if err := offlineStatus(cfg, stdout); err != nil {
						notRunning = fmt.Errorf("%w; and the stored state cannot be read: %w", notRunning, err)
					}
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

// fetchStatus asks each socket in turn; the first that answers wins. A socket that exists but may
// not be opened is an error at once: a daemon may be behind it.
func fetchStatus(ctx context.Context, paths []string) ([]byte, string, error) {
	for _, p := range paths {
		raw, err := admin.FetchRaw(ctx, p)
		if errors.Is(err, admin.ErrNotRunning) {
			continue
		}
		return raw, p, err
	}
	return nil, "", admin.ErrNotRunning
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

	e, p := st.Executor, st.Positions
	row("copies", "%d today; since start %d copied, %d skipped, %d failed", p.CopiesToday, e.Copied, e.Skipped, e.Failed)
	row("positions", "%d open; realised %s USDC", p.Open, p.RealisedUSDC)
	row("locks", "%d markets", e.Locks)
	d := st.Dedup
	row("dedup", "%d of %d entries (~%s), %d duplicates dropped", d.Size, d.Capacity, humanBytes(d.Bytes), d.Hits)
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
