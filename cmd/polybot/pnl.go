package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/store"
)

func newPnLCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var (
		socket  string
		asJSON  bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "pnl",
		Short: "Show the P&L per leader: realised, unrealised, fees, redeemed, copies",
		Long: "pnl asks the running daemon over its admin socket for the P&L of each leader's copies.\n" +
			"When no daemon answers, it reads the store in state_dir, opened read-only, and says so on\n" +
			"stderr. Realised is all-time (since the store's per-leader ledger began): SELL proceeds\n" +
			"net of fees less cost, and payout less cost of resolved markets. Unrealised values the\n" +
			"leader's open lots at the resolution watcher's marks (book midpoint or latest trade) when\n" +
			"known, else at polybot's last fill price; the store alone knows only the last fill price.\n" +
			"Amounts are exact decimals in USDC.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, paths, err := daemonPaths(g, socket)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			var p admin.PnL
			raw, err := fromDaemonOrStore(ctx, cfg, paths, "/pnl", stderr, &p, func(st *store.Store) error {
				b, err := st.PnLBook(time.Now())
				p = admin.PnLOf(admin.PnLInput{PnLBook: b})
				return err
			})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(stdout, raw, p)
			}
			return writePnLTable(stdout, p)
		},
	}
	cmd.Flags().StringVar(&socket, "socket", "", "admin socket path (default: from the config)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the admin endpoint's /pnl) instead of a table")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the daemon")
	return cmd
}

// writePnLTable writes p as `polybot pnl` shows it: one line per leader, a total line, then
// the day's realised P&L and what the open positions were valued at.
func writePnLTable(w io.Writer, p admin.PnL) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "LEADER\tREALISED USDC\tUNREALISED USDC\tFEES USDC\tREDEEMED USDC\tCOPIES\tOPEN COST USDC\t")
	for _, l := range p.Leaders {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t\n", l.Leader, l.RealisedAllTimeUSDC, l.UnrealisedUSDC,
			l.FeesUSDC, l.RedeemedUSDC, l.Copies, l.OpenCostUSDC)
	}
	fmt.Fprintf(tw, "%d leaders\t%s\t%s\t%s\t%s\t%d\t\t\n", len(p.Leaders), p.RealisedAllTimeUSDC, p.UnrealisedUSDC,
		p.FeesUSDC, p.RedeemedUSDC, p.Copies)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "realised all-time %s USDC; realised today %s USDC (trading day from %s UTC)\nunrealised %s USDC: %s\n",
		p.RealisedAllTimeUSDC, p.RealisedTodayUSDC, p.Day.Format("2006-01-02 15:04"), p.UnrealisedUSDC, p.Basis())
	return err
}
