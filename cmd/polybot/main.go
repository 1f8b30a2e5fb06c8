// Command polybot copies the Polymarket trades of chosen leader wallets as they happen on chain.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/app"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/logging"
	"github.com/polybot/polybot/internal/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes. exConfig is sysexits' EX_CONFIG: the unit's RestartPreventExitStatus=78 keeps
// systemd from restarting into the same bad config. exDataErr is sysexits' EX_DATAERR, for a
// damaged state file (store.ErrCorrupt): RestartPreventExitStatus=65 keeps systemd from
// restarting into it; the message says how to recover from the backup copy.
const (
	exOK      = 0
	exFail    = 1
	exDataErr = 65
	exConfig  = 78
)

// exitError carries an exit code up to main, the only place that exits.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "polybot:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "polybot:", err)
	return exFail
}

type globalFlags struct {
	configPath string
	logFormat  string
	logLevel   string
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	var g globalFlags
	root := &cobra.Command{
		Use:           "polybot",
		Short:         "Copy the Polymarket trades of leader wallets, as they happen on chain",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	// `polybot --version` prints what `polybot version` prints.
	root.SetVersionTemplate("polybot {{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.configPath, "config", "", "config file (default ./polybot.yaml, then /etc/polybot/polybot.yaml)")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "", "console or json (overrides log.format)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "debug, info, warn or error (overrides log.level)")
	root.AddCommand(newRunCmd(&g, stderr), newCheckConfigCmd(&g, stdout), newVersionCmd(stdout))
	root.AddCommand(newStatusCmd(&g, stdout))
	root.AddCommand(newPositionsCmd(&g, stdout, stderr), newDecisionsCmd(&g, stdout, stderr))
	root.AddCommand(newPnLCmd(&g, stdout, stderr))
	root.AddCommand(newReplayCmd(&g, stdout, stderr))
	root.AddCommand(newAuthCmd(&g, stdout, stderr), newOrderCmd(stdout), newPreflightCmd(&g, stdout))
	root.AddCommand(newSetupCmd(&g, stdout, stderr))
	return root
}

// loadConfig loads and validates the config; any problem is an EX_CONFIG exit.
func loadConfig(g *globalFlags) (*config.Config, string, error) {
	cfg, path, err := config.Load(g.configPath)
	if err != nil {
		return nil, path, &exitError{code: exConfig, err: fmt.Errorf("invalid config: %w", err)}
	}
	if g.logFormat != "" {
		cfg.Log.Format = g.logFormat
	}
	if g.logLevel != "" {
		cfg.Log.Level = g.logLevel
	}
	return cfg, path, nil
}

// reloader re-reads the config on SIGHUP through loadConfig, as at start, so --log-level and
// --log-format keep overriding the file after a reload.
func reloader(g *globalFlags) func() (*config.Config, error) {
	return func() (*config.Config, error) {
		cfg, _, err := loadConfig(g)
		return cfg, err
	}
}

func newRunCmd(g *globalFlags, stderr io.Writer) *cobra.Command {
	var timeScale int
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the daemon: watch the leaders and copy their trades",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, path, err := loadConfig(g)
			if err != nil {
				return err
			}
			log, level, err := logging.New(logging.Options{Level: cfg.Log.Level, Format: cfg.Log.Format, Output: stderr})
			if err != nil {
				return &exitError{code: exConfig, err: err}
			}
			defer func() { _ = log.Sync() }()

			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			// One buffered slot: a burst of HUPs while a reload runs is one more reload.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			reload := make(chan struct{})
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-hup:
						select {
						case reload <- struct{}{}:
						case <-ctx.Done():
							return
						}
					}
				}
			}()

			opts := app.Options{Config: cfg, ConfigPath: path, Log: log, Level: &level, Version: version,
				Load: reloader(g)}
			if timeScale != 1 {
				// For the soak: the trading day (daily counters, breaker reset, compaction by age)
				// passes timeScale times faster. Never with real money.
				if timeScale < 1 || timeScale > 100_000 {
					return &exitError{code: exUsage, err: fmt.Errorf("--time-scale %d: must be from 1 to 100000", timeScale)}
				}
				if cfg.Mode == config.ModeLive {
					return &exitError{code: exUsage, err: errors.New("--time-scale is for paper-mode soak tests; it is refused in live mode")}
				}
				opts.Now = app.ScaledNow(timeScale)
				log.Warn("the trading day's clock runs faster than real time (--time-scale): a soak test", zap.Int("time_scale", timeScale))
			}
			if err := liveKeyProblem(cfg); err != nil {
				return err
			}
			if err := liveWalletProblem(ctx, cfg); err != nil {
				return err
			}
			a, err := app.New(ctx, opts)
			if err != nil {
				if ctx.Err() != nil {
					// SIGTERM or SIGINT during the start: a requested stop, not a failure.
					log.Info("stopped during start", zap.Error(err))
					return nil
				}
				if errors.Is(err, store.ErrCorrupt) {
					return &exitError{code: exDataErr, err: err}
				}
				if errors.Is(err, app.ErrRegionBlocked) {
					// No restart can move the host: EX_CONFIG, which RestartPreventExitStatus=
					// honours, instead of a restart loop (docs/operations.md).
					return &exitError{code: exConfig, err: err}
				}
				return &exitError{code: exFail, err: err}
			}
			log.Info("config loaded", zap.String("path", path))
			if err := a.Run(ctx, reload); err != nil {
				log.Error("polybot failed", zap.Error(err))
				return &exitError{code: exFail}
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&timeScale, "time-scale", 1, "run the trading day's clock this many times faster (paper-mode soak tests only)")
	_ = cmd.Flags().MarkHidden("time-scale")
	return cmd
}

func newCheckConfigCmd(g *globalFlags, stdout io.Writer) *cobra.Command {
	var envFile string
	cmd := &cobra.Command{
		Use:   "check-config",
		Short: "Validate the config and print it, with secrets redacted",
		Long: "check-config validates the config as the daemon would load it, with the environment\n" +
			"the systemd unit gives it: the variables of the unit's EnvironmentFile= (the config's\n" +
			"name with .env, such as /etc/polybot/polybot.env; --env-file to name another) are\n" +
			"applied first. Exits 78 (EX_CONFIG) listing every problem.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, path, _ := loadConfig(g)
			if !cmd.Flags().Changed("env-file") {
				envFile = unitEnvFile(path)
			}
			var applied []string
			if envFile != "" {
				var err error
				if applied, err = applyEnvFile(envFile); err != nil {
					return &exitError{code: exConfig, err: err}
				}
			}
			cfg, path, err := loadConfig(g)
			if err != nil {
				return err
			}
			if len(applied) > 0 {
				fmt.Fprintf(stdout, "# environment from %s: %s\n", envFile, strings.Join(applied, ", "))
			}
			if err := liveKeyProblem(withInstalledSecrets(cfg)); err != nil {
				return err
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			if err := liveWalletProblem(ctx, withInstalledSecrets(cfg)); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "# %s: valid (hash %s)\n%s", path, cfg.Hash(), cfg.Redacted())
			return nil
		},
	}
	cmd.Flags().StringVar(&envFile, "env-file", "", "the unit's environment file (default: the config's name with .env, when it exists)")
	return cmd
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(stdout, "polybot", version)
		},
	}
}
