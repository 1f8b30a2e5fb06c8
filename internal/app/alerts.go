package app

import (
	"fmt"
	"net/http"
	"time"

	"github.com/shopspring/decimal"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/alerts"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/secrets"
)

// newAlerts builds the notifier of cfg.Alerts, or nil when no sink is set. A Telegram chat
// without a readable token is a start error: the operator asked to be told and would not be.
func (a *App) newAlerts(cfg *config.Config, log *zap.Logger) (*alerts.Notifier, error) {
	ac := cfg.Alerts
	client := &http.Client{Timeout: 10 * time.Second}
	var sinks []alerts.Sink
	if ac.WebhookURL != "" {
		sinks = append(sinks, alerts.Webhook{URL: ac.WebhookURL, Client: client})
	}
	if ac.TelegramChatID != "" {
		tok, err := secrets.LoadTelegramToken(ac.TelegramTokenFile)
		if err != nil {
			return nil, fmt.Errorf("alerts.telegram_token_file: %w", err)
		}
		sinks = append(sinks, alerts.Telegram{APIURL: ac.TelegramAPIURL, Token: tok, ChatID: ac.TelegramChatID, Client: client})
	}
	if len(sinks) == 0 {
		return nil, nil
	}
	return alerts.New(alerts.Options{
		Sinks: sinks, Snapshot: a.alertSnapshot, GroupFor: ac.GroupFor, SilenceAfter: ac.SilenceAfter,
		Digest: ac.DailyDigest, Clock: a.clock, Now: a.now, Log: log,
	})
}

// alertSnapshot is what alerts read of the daemon each round.
func (a *App) alertSnapshot() alerts.Snapshot {
	e := a.executor.Stats()
	b := a.bookStats()
	s := alerts.Snapshot{Failed: e.Failed, Unfilled: e.Unfilled}
	if err := a.healthy(); err != nil {
		s.Unhealthy = a.scrub(err.Error())
	}
	if l := dailyLoss(a.cfg.Load().Risk.DailyLossLimitUSDC, b.loss); l.Tripped {
		s.DailyLoss = fmt.Sprintf("day P&L %s USDC, %s past the %s USDC limit; BUYs stopped until %s UTC",
			l.PnLUSDC, l.OverUSDC, l.LimitUSDC, l.Until.Format("2006-01-02 15:04"))
	}
	if a.watcher != nil {
		s.Redemptions, s.LastRedemption = a.watcher.Redemptions()
		s.RedemptionFailures, s.LastRedemptionFailure = a.watcher.RedemptionFailures()
	}
	if d, err := a.store.Daily(a.now()); err == nil {
		s.Day = d.Day
		s.Digest = fmt.Sprintf("%d copies; realised today %s USDC; %d open positions; since start %d copied, %d skipped, %d failed, %d not filled",
			d.Copies, decimal.New(d.Realised, -6), b.open, e.Copied, e.Skipped, e.Failed, e.Unfilled)
	}
	return s
}
