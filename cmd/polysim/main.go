// Command polysim runs a local stand-in for Polygon on loopback: a simulated chain with websocket
// and HTTP JSON-RPC, log-emitting contracts at Polymarket's current exchange addresses (the two V2
// exchanges and ExchangeV3), and synthetic leaders whose fills polybot copies, and with
// --clob-port a fake CLOB V2 that polybot can trade on in mode live. It runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "polysim:", err)
		os.Exit(1)
	}
}

// run parses args, starts the chain, prints where it listens and runs it until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("polysim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host := fs.String("host", sim.DefaultHost, "loopback address to listen on")
	wsPort := fs.Int("ws-port", 8546, "websocket JSON-RPC port (0 picks a free port)")
	httpPort := fs.Int("http-port", 8545, "HTTP JSON-RPC port (0 picks a free port)")
	leaders := fs.Int("leaders", sim.DefaultLeaders, "number of synthetic leaders, 0x1000…0001 upwards")
	rate := fs.Float64("rate", sim.DefaultRate, "leader fills per second across all leaders (0: no trading)")
	interval := fs.Duration("block-interval", sim.DefaultBlockInterval, "time between blocks (0: no blocks)")
	markets := fs.Int("markets", sim.DefaultMarkets, "number of markets the leaders trade")
	seed := fs.Int64("seed", 1, "seed of the random trading")
	maxFills := fs.Int("max-fills", 0, "stop trading after this many leader fills, mining on (0: no limit; not with --fast)")
	record := fs.String("record", "", "write every emitted log to this file, one eth_getLogs JSON object a line")
	fast := fs.Bool("fast", false, "fast mode for soak tests: made-up blocks of OrderFilled logs without an EVM, --rate up to 1,000,000 (see sim.FastChain)")
	clobPort := fs.Int("clob-port", -1, "also run a fake CLOB on this port, with books for the markets (0 picks a free port; -1: none)")
	clobDelayEvery := fs.Int("clob-delay-every", 0, "with --clob-port: every n-th order of the trading account answers \"delayed\" and matches --clob-delay later (0: none)")
	clobDelay := fs.Duration("clob-delay", 3*time.Second, "with --clob-delay-every: how long a delayed order waits for its match")
	clobMisreport := fs.Int("clob-misreport", 0, "with --clob-port: the first n matched answers report half of what matched (the chain has the whole; 0: none)")
	clobWallet := fs.String("clob-wallet", "eoa", "with --clob-port: the wallet the trading account trades from, at the address Polygon derives for its key: eoa, proxy, safe or deposit; its address and signature type are written to "+sim.FunderFile+" and "+sim.SignatureTypeFile+" in --clob-creds-dir")
	clobDeposit := fs.Bool("clob-deposit-wallet", false, "with --clob-port: the same as --clob-wallet deposit")
	clobCreds := fs.String("clob-creds-dir", ".polysim-creds", "with --clob-port: write the CLOB account's key (polybot-key) and API credentials (polybot-api) here, 0600")
	payouts := fs.Bool("payouts", true, "place the payout contracts' stand-ins (CTF, pUSD, collateral adapter, proxy factory) so that redemptions pay pUSD on the chain")
	resolveEvery := fs.Duration("resolve-every", 0, "resolve one market this often, in order, the first winning and the next losing, until one is left (0: never)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *leaders < 1 || *markets < 1 {
		return fmt.Errorf("--leaders %d and --markets %d must both be at least 1", *leaders, *markets)
	}

	encoder := zap.NewDevelopmentEncoderConfig()
	encoder.EncodeTime = zapcore.TimeEncoderOfLayout(time.DateTime)
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(encoder), zapcore.AddSync(stderr), zap.InfoLevel)).Named("polysim")
	defer func() { _ = log.Sync() }()
	if *fast {
		if *maxFills != 0 {
			return errors.New("--max-fills is not supported with --fast")
		}
		if *record != "" {
			return errors.New("--record is not supported with --fast: record a stream without --fast")
		}
		return runFast(ctx, sim.FastOptions{Host: *host, WSPort: *wsPort, HTTPPort: *httpPort, Leaders: *leaders,
			Markets: *markets, Rate: *rate, BlockInterval: *interval, Seed: *seed, Log: log}, explicit(fs, "block-interval"), stdout)
	}

	opts := sim.Options{
		Host: *host, WSPort: *wsPort, HTTPPort: *httpPort,
		Leaders: *leaders, Markets: *markets, Rate: *rate, MaxFills: *maxFills, BlockInterval: *interval, Seed: *seed,
		Payouts: *payouts, Log: log,
	}
	kind, err := sim.ParseWallet(*clobWallet)
	if err != nil {
		return fmt.Errorf("--clob-wallet: %w", err)
	}
	if *clobDeposit {
		kind = polymarket.WalletDeposit
	}
	if kind != polymarket.WalletEOA && !*payouts {
		return fmt.Errorf("--clob-wallet %s needs --payouts: the wallets and the contracts they call are payout stand-ins", *clobWallet)
	}
	var clobKey *ecdsa.PrivateKey
	if *clobPort >= 0 {
		// The trading account's wallet sits where Polygon would put it for the account's key
		// (polymarket.ProxyWallet, SafeWallet, DepositWallet), from the first block: polybot
		// checks live.funder against that derivation before it trades.
		if clobKey, err = crypto.GenerateKey(); err != nil {
			return err
		}
		if _, err := opts.PlaceWallet(kind, crypto.PubkeyToAddress(clobKey.PublicKey)); err != nil {
			return err
		}
	}
	if *record != "" {
		f, err := os.Create(*record)
		if err != nil {
			return fmt.Errorf("--record: %w", err)
		}
		defer func() { err = errors.Join(err, f.Close()) }()
		opts.Record = f
	}
	s, err := sim.New(opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ws:       %s\n", s.WSURL())
	fmt.Fprintf(stdout, "http:     %s\n", s.HTTPURL())
	fmt.Fprintf(stdout, "chain id: %d\n", s.ChainID())
	for _, l := range s.LeaderAddresses() {
		fmt.Fprintf(stdout, "leader:   %s\n", l)
	}
	for _, m := range s.Markets() {
		fmt.Fprintf(stdout, "market:   %s on %s\n", m, s.ExchangeFor(m))
	}
	if *clobPort >= 0 {
		c, err := s.StartCLOB(sim.CLOBOptions{Port: *clobPort, CredsDir: *clobCreds, DelayEvery: *clobDelayEvery, DelayAfter: *clobDelay, Misreport: *clobMisreport, Wallet: kind, Key: clobKey, Log: log})
		if err != nil {
			return errors.Join(fmt.Errorf("--clob-port: %w", err), s.Close())
		}
		defer c.Close()
		fmt.Fprintf(stdout, "clob:     %s\n", c.URL())
		fmt.Fprintf(stdout, "account:  %s (key and API credentials in %s)\n", c.Address(), *clobCreds)
		if kind != polymarket.WalletEOA {
			fmt.Fprintf(stdout, "funder:   %s (%s, signature type %d)\n", c.Funder(), kind, int(kind))
		}
	}
	if *resolveEvery < 0 {
		return errors.Join(fmt.Errorf("--resolve-every %s must not be negative", *resolveEvery), s.Close())
	}
	if *resolveEvery > 0 {
		go resolveMarkets(ctx, s, *resolveEvery, log)
	}
	return s.Run(ctx)
}

// resolveMarkets resolves polysim's markets one by one, every interval, until one is left.
func resolveMarkets(ctx context.Context, s *sim.Sim, interval time.Duration, log *zap.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	markets := s.Markets()
	for i := 0; i+1 < len(markets); i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wins := i%2 == 0
		tx, err := s.ResolveMarket(markets[i], wins)
		if err != nil {
			log.Warn("market not resolved", zap.Error(err))
			continue
		}
		log.Info("market resolution sent", zap.String("token", markets[i].String()), zap.Bool("wins", wins), zap.Stringer("tx", tx))
	}
}
