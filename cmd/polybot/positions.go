package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/store"
)

func newPositionsCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		socket  string
		asJSON  bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "positions",
		Short: "List the open positions: shares, cost, last price, realised P&L, dust",
		Long: "positions asks the running daemon over its admin socket for the open positions. When\n" +
			"no daemon answers, it reads them from the store in state_dir, opened read-only, and says\n" +
			"so on stderr. Amounts are exact decimals: shares, and USDC (prices in USDC per share).\n" +
			"A position below copy.min_order_shares is marked DUST: no partial copy can sell it; it is\n" +
			"sold whole, as a market order (FAK/FOK), when its leader exits.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, paths, err := daemonPaths(g, socket)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			var book admin.PositionBook
			raw, err := fromDaemonOrStore(ctx, cfg, paths, "/positions", stderr, &book, func(st *store.Store) error {
				b, err := st.PnLBook(time.Now())
				book = admin.PositionBookOf(b.Positions)
				p := admin.PnLOf(admin.PnLInput{PnLBook: b})
				book.RealisedTodayUSDC, book.RealisedAllTimeUSDC = p.RealisedTodayUSDC, p.RealisedAllTimeUSDC
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(stdout, raw, book)
			}
			ps, err := book.Records()
			if err != nil {
				return &exitError{code: exFail, err: err}
			}
			if cfg == nil { // --socket: the config is read only for the dust mark, when it loads
				cfg, _, _ = loadConfig(g)
			}
			if err := store.WritePositionsTable(stdout, ps, minOrderShares(cfg)); err != nil {
				return err
			}
			if book.RealisedTodayUSDC != "" {
				_, err = fmt.Fprintf(stdout, "realised today %s USDC, realised all-time %s USDC (REALISED above: each position since it opened)\n",
					book.RealisedTodayUSDC, book.RealisedAllTimeUSDC)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&socket, "socket", "", "admin socket path (default: from the config)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the admin endpoint's /positions) instead of a table")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the daemon")
	return cmd
}

// minOrderShares is copy.min_order_shares in base units: positions below it are dust. Without
// a config nothing is marked.
func minOrderShares(cfg *config.Config) uint64 {
	if cfg == nil {
		return 0
	}
	return uint64(cfg.Copy.MinOrderShares.Shift(6).IntPart())
}
