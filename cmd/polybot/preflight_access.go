package main

import (
	"context"
	"fmt"
	"time"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/config"
)

// regionCheck asks the geoblock endpoint (live.geoblock_url) whether this host's region may
// place orders: Polymarket refuses every order from a blocked one with 403 "Trading restricted
// in your region" (docs.polymarket.com/api-reference/geoblock).
func regionCheck(ctx context.Context, cfg *config.Config) check {
	const name = "region (geoblock)"
	url := cfg.Live.GeoblockEndpoint()
	if url == "" {
		return skip(name, "no geoblock endpoint: live.geoblock_url is none, or live.clob_url is not Polymarket's CLOB")
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	g, err := clob.CheckGeoblock(ctx, nil, url)
	switch {
	case err != nil:
		return fail(name, err.Error(), "check that "+url+" is reachable from this host (live.geoblock_url)")
	case g.Blocked:
		return fail(name, fmt.Sprintf("blocked: Polymarket refuses every order from %s (the CLOB answers 403 trading restricted in your region); "+
			"polybot run exits 78 here", g.Where()),
			"run polybot on a host in a permitted region (docs.polymarket.com/api-reference/geoblock lists the blocked ones), or use mode: paper")
	}
	return pass(name, "orders allowed from "+g.Where())
}

// closedOnlyCheck reads the account's closed-only flag (GET /auth/ban-status/closed-only): in
// closed-only mode the CLOB refuses its BUYs ("address in closed only mode") and takes exits.
func closedOnlyCheck(ctx context.Context, c *clob.Client) check {
	const name = "closed-only mode"
	on, err := c.ClosedOnly(ctx)
	switch {
	case err != nil:
		return fail(name, "read GET /auth/ban-status/closed-only: "+err.Error(), "check the CLOB's status and the API credentials")
	case on:
		return fail(name, "the account is in closed-only mode: the CLOB takes only orders that close positions, so polybot "+
			"copies no BUY (its exits still go; polybot status says BUYs stopped)",
			"closed-only mode is Polymarket's decision for this account or region: see docs.polymarket.com/api-reference/geoblock "+
				"and contact Polymarket support; run on a permitted host, or let polybot only exit")
	}
	return pass(name, "the account may open positions")
}
