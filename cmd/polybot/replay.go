package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/logging"
	"github.com/polybot/polybot/internal/replay"
)

func newReplayCmd(g *globalFlags, stdout, stderr io.Writer) *cobra.Command {
	var logsPath string
	var asJSON, verbose bool
	cmd := &cobra.Command{
		Use:   "replay --logs FILE",
		Short: "Backtest the leaders: run recorded logs through the strategy with the paper broker, offline",
		Long: `Replay runs recorded Polygon logs (one eth_getLogs JSON log object, or one JSON array of them,
a line, as "polysim --record FILE" writes them) through the daemon's executor, strategy and state
store with the paper broker, and prints what polybot would have done: leader fills seen, copied,
reduced and skipped by reason, the positions left marked at each token's last price, and the P&L.

It reads the config (leaders, chain.exchanges, copy, risk) and nothing else: no chain RPC, no CLOB,
and a temporary state store instead of state_dir. Each fill is decided at its block's time, in file
order. Lines that cannot be read are counted and listed, not fatal. FILE "-" reads standard input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if logsPath == "" {
				return &exitError{code: exFail, err: errors.New("replay: --logs FILE is required")}
			}
			cfg, _, err := loadConfig(g)
			if err != nil {
				return err
			}
			log := zap.NewNop()
			if verbose {
				l, _, err := logging.New(logging.Options{Level: cfg.Log.Level, Format: cfg.Log.Format, Output: stderr})
				if err != nil {
					return &exitError{code: exConfig, err: err}
				}
				defer func() { _ = l.Sync() }()
				log = l.Named("replay")
			}
			in, name := io.Reader(os.Stdin), "standard input"
			if logsPath != "-" {
				f, err := os.Open(logsPath)
				if err != nil {
					return &exitError{code: exFail, err: fmt.Errorf("replay: %w", err)}
				}
				defer f.Close()
				in, name = f, logsPath
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			s, err := replay.Run(ctx, replay.Options{Config: cfg, Input: in, Name: name, Log: log})
			if err != nil {
				return &exitError{code: exFail, err: err}
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			return replay.WriteTable(stdout, s)
		},
	}
	cmd.Flags().StringVar(&logsPath, "logs", "", `recorded logs, JSON lines as eth_getLogs returns them ("-": standard input)`)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "log each decision to standard error (at log.level)")
	return cmd
}
