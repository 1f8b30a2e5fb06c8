package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/store"
)

// now is the clock --since counts back from; tests set it.
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
			raw, path, err := fetchFirst(ctx, paths, "/decisions?"+admin.DecisionsQuery(from, limit))
			var log admin.DecisionLog
			switch {
			case err == nil:
				if err := json.Unmarshal(raw, &log); err != nil {
					return &exitError{code: exFail, err: fmt.Errorf("decode decisions from %s: %w", path, err)}
				}
			case errors.Is(err, admin.ErrNotRunning) && cfg != nil:
				err := readStored(cfg, paths, stderr, func(st *store.Store) error {
					ds, err := st.Decisions(from, limit+1)
					log = admin.DecisionLogOf(from, limit, ds)
					return err
				})
				if err != nil {
					return &exitError{code: exFail, err: err}
				}
			case errors.Is(err, admin.ErrNotRunning):
				return &exitError{code: exFail, err: fmt.Errorf("not running: no daemon answers on %s (without --socket the stored state is read)", paths[0])}
			default:
				return &exitError{code: exFail, err: err}
			}
			if log.Truncated {
				fmt.Fprintf(stderr, "polybot: showing the latest %d decisions since %s; older ones exist (raise --limit or narrow --since)\n",
					log.Limit, log.Since.Format(time.RFC3339))
			}
			if asJSON {
				b := raw
				if b == nil {
					if b, err = admin.Encode(log); err != nil {
						return err
					}
				}
				_, err := stdout.Write(b)
				return err
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
