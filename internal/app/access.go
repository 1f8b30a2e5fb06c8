package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/config"
)

// ErrRegionBlocked: Polymarket refuses orders from this host's region (its geoblock endpoint
// says blocked). Restarting cannot change that: `polybot run` exits 78 (EX_CONFIG), which the
// unit's RestartPreventExitStatus= keeps from a restart loop (docs/operations.md).
var ErrRegionBlocked = errors.New("orders from this host's region are refused by Polymarket (geoblock)")

// geoblockTimeout bounds the geoblock check at start.
const geoblockTimeout = 15 * time.Second

// checkRegion asks the geoblock endpoint of cfg (config.Live.GeoblockEndpoint) whether this
// host may place orders, before a live broker starts. Blocked is ErrRegionBlocked, with what
// the endpoint said and what the user can do. An endpoint that cannot be read proves nothing
// either way: it is logged, and the CLOB's own 403 on an order is reported in status.
func checkRegion(ctx context.Context, cfg *config.Config, log *zap.Logger) error {
	url := cfg.Live.GeoblockEndpoint()
	if url == "" {
		log.Info("no geoblock check: live.geoblock_url is none, or live.clob_url is not Polymarket's CLOB")
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, geoblockTimeout)
	defer cancel()
	g, err := clob.CheckGeoblock(ctx, nil, url)
	if err != nil {
		log.Warn("the geoblock check failed; trading starts, and an order refused for the region shows in status", zap.Error(err))
		return nil
	}
	if g.Blocked {
		return fmt.Errorf("%w: %s answers blocked for %s: Polymarket refuses every order from this region, so copying is "+
			"impossible here and restarting cannot change it. Run polybot on a host in a permitted region "+
			"(docs.polymarket.com/api-reference/geoblock lists them), or set mode: paper", ErrRegionBlocked, url, g.Where())
	}
	log.Info("geoblock check passed", zap.String("region", g.Where()))
	return nil
}

// watchAccess refreshes the status line whenever what the CLOB lets polybot do changes (BUYs
// stopped for an order version or closed-only mode, orders refused for the region).
func (a *App) watchAccess(live *broker.CLOB) {
	if live == nil {
		return
	}
	a.live = live
	live.OnAccessChange(func(broker.Access) { a.executorChanged() })
}

// tradingLine is what the CLOB restricts now, for status; "" when nothing is.
func (a *App) tradingLine() string {
	if a.live == nil {
		return ""
	}
	return a.live.Access().String()
}
