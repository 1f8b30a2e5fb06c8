package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/store"
)

// decisionsNow is the clock --since counts back from; tests set it.
var decisionsNow = time.Now

func newDecisionsCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		socket  string
		since   string
		limit   int
		asJSON  bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "decisions",
		Short: "Print the decision log: each leader fill copied, reduced or skipped, and why",
		Long: "decisions prints the decisions logged at or after --since (a duration back from now,\n" +
			"or an RFC 3339 time), oldest first; with more than --limit, the latest --limit of them.\n" +
			"It asks the running daemon over its admin socket; when no daemon answers, it reads the\n" +
			"store in state_dir, opened read-only, and says so on stderr. Times are UTC.",
		Example: "  polybot decisions --since 1h\n  polybot decisions --since 2026-12-01T09:00:00Z --limit 50 --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := admin.ParseSince(since, decisionsNow())
			if err != nil {
				return &exitError{code: exFail, err: fmt.Errorf("--since: %w", err)}
			}
			if limit < 1 || limit > admin.MaxDecisionsLimit {
				return &exitError{code: exFail, err: fmt.Errorf("--limit %d: want 1 to %d", limit, admin.MaxDecisionsLimit)}
			}
			cfg, paths, err := daemonPaths(g, socket)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			var log admin.DecisionLog
			raw, err := fromDaemonOrStore(ctx, cfg, paths, "/decisions?"+admin.DecisionsQuery(from, limit), stderr, &log,
				func(st *store.Store) error {
					ds, err := st.Decisions(from, limit+1)
					log = admin.DecisionLogOf(from, limit, ds)
					return err
				})
			if err != nil {
				return err
			}
			if log.Truncated {
				fmt.Fprintf(stderr, "polybot: showing the latest %d decisions since %s; older ones exist (raise --limit or narrow --since)\n",
					log.Limit, log.Since.Format(time.RFC3339))
			}
			if asJSON {
				return writeJSON(stdout, raw, log)
			}
			if len(log.Decisions) == 0 {
				fmt.Fprintf(stderr, "polybot: no decision logged since %s\n", log.Since.Format(time.RFC3339))
			}
			ds, err := log.Records()
			if err != nil {
				return &exitError{code: exFail, err: err}
			}
			return store.WriteDecisionsTable(stdout, ds)
		},
	}
	cmd.Flags().StringVar(&socket, "socket", "", "admin socket path (default: from the config)")
	cmd.Flags().StringVar(&since, "since", "24h", "a duration back from now (1h, 30m) or an RFC 3339 time")
	cmd.Flags().IntVar(&limit, "limit", admin.DefaultDecisionsLimit, fmt.Sprintf("at most this many decisions, the latest (1 to %d)", admin.MaxDecisionsLimit))
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the admin endpoint's /decisions) instead of a table")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the daemon")
	return cmd
}
