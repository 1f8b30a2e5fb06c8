package metrics

import "github.com/prometheus/client_golang/prometheus"

// collector turns one Snapshot per scrape into constant metrics.
type collector struct {
	snapshot func() Snapshot
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	descLogs       = desc("polybot_logs_total", "Exchange logs received from the node, live and backfilled.")
	descFills      = desc("polybot_fills_total", "New leader fills decoded and handed to the executor.")
	descDuplicates = desc("polybot_duplicate_logs_total", "Logs already processed, dropped by the dedup cache.")
	descMalformed  = desc("polybot_malformed_logs_total", "OrderFilled logs that did not decode, skipped.")
	descIgnored    = desc("polybot_ignored_logs_total", "Well-formed logs that are not a leader's fill on a watched exchange.")
	descRemoved    = desc("polybot_reorged_logs_total", "Logs reverted by a chain reorganisation.")
	descOrphaned   = desc("polybot_orphaned_leader_fills_total", "Decided leader fills that a chain reorganisation removed for good (recorded as orphaned; a copy of them stands).")
	descReconnects = desc("polybot_rpc_reconnects_total", "Times the RPC connection was lost and redialled.")
	descHead       = desc("polybot_head_block", "The latest chain head block number seen.")
	descHeadAge    = desc("polybot_head_age_seconds", "Seconds since the chain head was last seen to advance (sampled every second).")
	descSubscribed = desc("polybot_subscribed", "1 while the log subscription is up, else 0.")
	descHealthy    = desc("polybot_healthy", "1 while subscribed and the chain head advances (what /readyz and the watchdog check), else 0.")
	descCopies     = desc("polybot_copies_total", "Leader fills the executor finished, by outcome: copied, skipped or failed.", "outcome")
	descLocks      = desc("polybot_market_locks", "Markets in the executor's lock table.")
	descDedupSize  = desc("polybot_dedup_entries", "Logs remembered by the dedup cache.")
	descDedupCap   = desc("polybot_dedup_capacity", "Most logs the dedup cache may remember (dedup.size).")
	descDedupBytes = desc("polybot_dedup_bytes", "Estimated memory held by the dedup cache's entries.")
	descDedupHits  = desc("polybot_dedup_lookups_total", "Dedup cache lookups, by result: hit (a duplicate) or miss (a new log).", "result")
	descDedupGone  = desc("polybot_dedup_removed_total", "Dedup cache entries removed, by reason: evicted (capacity) or expired (ttl).", "reason")
	descPositions  = desc("polybot_open_positions", "Markets in which polybot holds shares.")
	descRealised   = desc("polybot_realised_usdc", "Realised P&L in USDC, by period: today (the trading day, what the daily-loss breaker counts) or all_time (since the per-leader ledger began).", "period")
	descUnrealised = desc("polybot_unrealised_usdc", "Open positions at the resolution watcher's marks (else polybot's last fill price) less their cost, in USDC.")
	descLRealised  = desc("polybot_leader_realised_usdc", "Realised P&L all-time of one configured leader's copies, in USDC.", "leader")
	descLUnreal    = desc("polybot_leader_unrealised_usdc", "Unrealised P&L of one configured leader's open lots, in USDC.", "leader")
	descLFees      = desc("polybot_leader_fees_usdc", "Fees paid by one configured leader's copies, in USDC.", "leader")
	descLRedeemed  = desc("polybot_leader_redeemed_usdc", "Payout of one configured leader's shares in resolved markets, in USDC.", "leader")
	descLCopies    = desc("polybot_leader_copies", "Orders copying one configured leader that filled (a chain correction can lower it).", "leader")
	descPaused     = desc("polybot_copying_paused", "1 while copying is paused because the state store cannot be written (disk full, read-only), else 0.")
	descBreaker    = desc("polybot_clob_breaker_state", "The CLOB circuit breaker: 1 for the state it is in (closed, open or half-open), 0 for the others.", "state")
	descTrips      = desc("polybot_clob_breaker_trips_total", "Times the CLOB circuit breaker opened after repeated CLOB outages.")
	descRedeems    = desc("polybot_redemptions_total", "Redemption attempts since start, by result: paid (the receipt showed the collateral arriving) or failed (not sent, reverted, paid nothing or never mined; tried again later).", "result")
	descLossTrip   = desc("polybot_daily_loss_breaker_tripped", "1 while the daily-loss breaker stops BUYs until the trading day ends, else 0.")
	descLossPnL    = desc("polybot_daily_loss_breaker_pnl_usdc", "The day's P&L, in USDC, that tripped the daily-loss breaker (0 while it is not tripped).")
	descClockSkew  = desc("polybot_clock_skew_seconds", "The system clock's lead over the chain head's timestamp (negative: behind), the least of recent samples.")
	descRSS        = desc("polybot_resident_memory_bytes", "Resident memory by kind: anon (heap, stacks, runtime) or file (mapped files: the executable and the state store's file). Their sum is what top shows.", "kind")
	descStoreFile  = desc("polybot_store_file_bytes", "Size of the state store's file.")
	descStoreLive  = desc("polybot_store_live_bytes", "Bytes of the state store's file holding data; the rest is free pages reused before the file grows.")
	descReloadOK   = desc("polybot_config_last_reload_successful", "0 while the last config reload was refused (the old config stays in force), else 1.")
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descLogs, descFills, descDuplicates, descMalformed, descIgnored, descRemoved, descOrphaned, descReconnects,
		descHead, descHeadAge, descSubscribed, descHealthy, descCopies, descLocks, descDedupSize,
		descDedupCap, descDedupBytes, descDedupHits, descDedupGone, descPositions, descRealised, descReloadOK,
		descUnrealised, descLRealised, descLUnreal, descLFees, descLRedeemed, descLCopies,
		descPaused, descBreaker, descTrips, descRedeems, descLossTrip, descLossPnL, descClockSkew, descRSS, descStoreFile, descStoreLive,
	} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.snapshot()
	send := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		m, err := prometheus.NewConstMetric(d, t, v, labels...)
		if err != nil { // a label count that does not match its Desc: reported by the scrape
			m = prometheus.NewInvalidMetric(d, err)
		}
		ch <- m
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		send(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		send(d, prometheus.GaugeValue, v, labels...)
	}
	counter(descLogs, s.Logs)
	counter(descFills, s.Fills)
	counter(descDuplicates, s.Duplicates)
	counter(descMalformed, s.Malformed)
	counter(descIgnored, s.Ignored)
	counter(descRemoved, s.Removed)
	counter(descOrphaned, s.Orphaned)
	counter(descReconnects, s.Reconnects)
	gauge(descHead, float64(s.HeadBlock))
	if s.HeadAgeKnown {
		gauge(descHeadAge, s.HeadAge.Seconds())
	}
	if s.ClockSkewKnown {
		gauge(descClockSkew, s.ClockSkew)
	}
	gauge(descSubscribed, boolean(s.Subscribed))
	gauge(descHealthy, boolean(s.Healthy))
	counter(descCopies, s.Copied, OutcomeCopied)
	counter(descCopies, s.Skipped, OutcomeSkipped)
	counter(descCopies, s.Failed, OutcomeFailed)
	gauge(descLocks, float64(s.Locks))
	gauge(descPaused, boolean(s.CopyingPaused))
	for _, state := range BreakerStates {
		gauge(descBreaker, boolean(s.CLOBBreaker == state), state)
	}
	counter(descTrips, s.CLOBBreakerTrips)
	counter(descRedeems, s.RedemptionsPaid, "paid")
	counter(descRedeems, s.RedemptionsFailed, "failed")
	gauge(descDedupSize, float64(s.DedupSize))
	gauge(descDedupCap, float64(s.DedupCapacity))
	gauge(descDedupBytes, float64(s.DedupBytes))
	counter(descDedupHits, s.DedupHits, "hit")
	counter(descDedupHits, s.DedupMisses, "miss")
	counter(descDedupGone, s.DedupEvictions, "evicted")
	counter(descDedupGone, s.DedupExpirations, "expired")
	gauge(descPositions, float64(s.OpenPositions))
	gauge(descRealised, s.RealisedUSDC, "today")
	gauge(descRealised, s.RealisedAllTimeUSDC, "all_time")
	gauge(descUnrealised, s.UnrealisedUSDC)
	for _, l := range s.Leaders {
		gauge(descLRealised, l.RealisedUSDC, l.Leader)
		gauge(descLUnreal, l.UnrealisedUSDC, l.Leader)
		gauge(descLFees, l.FeesUSDC, l.Leader)
		gauge(descLRedeemed, l.RedeemedUSDC, l.Leader)
		gauge(descLCopies, float64(l.Copies), l.Leader)
	}
	gauge(descReloadOK, boolean(!s.ReloadFailed))
	gauge(descLossTrip, boolean(s.DailyLossTripped))
	gauge(descLossPnL, s.DailyLossPnLUSDC)
	if s.RSSKnown {
		gauge(descRSS, float64(s.RSSAnonBytes), "anon")
		gauge(descRSS, float64(s.RSSFileBytes), "file")
	}
	gauge(descStoreFile, float64(s.StoreFileBytes))
	gauge(descStoreLive, float64(s.StoreLiveBytes))
}

func boolean(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
