package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/polybot/polybot/internal/testing/sim"
)

// runFast runs polysim's fast mode (sim.FastChain) until ctx is done. Without an explicit
// --block-interval it uses the fast mode's default rather than the chain's 2s.
func runFast(ctx context.Context, opts sim.FastOptions, intervalGiven bool, stdout io.Writer) error {
	if !intervalGiven {
		opts.BlockInterval = sim.DefaultFastBlockInterval
	}
	c, err := sim.NewFast(opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ws:       %s\n", c.WSURL())
	fmt.Fprintf(stdout, "http:     %s\n", c.HTTPURL())
	fmt.Fprintf(stdout, "chain id: %d\n", c.ChainID())
	for _, l := range c.LeaderAddresses() {
		fmt.Fprintf(stdout, "leader:   %s\n", l)
	}
	for _, m := range c.Markets() {
		fmt.Fprintf(stdout, "market:   %s on %s\n", m, c.ExchangeFor(m))
	}
	return c.Run(ctx)
}

// explicit reports whether the flag name was set on the command line.
func explicit(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
