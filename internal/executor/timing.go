package executor

import (
	"time"

	"github.com/shopspring/decimal"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/polymarket"
)

// Timing is one copy's path from the leader's block to polybot's fill, and its price against
// the leader's. A time polybot does not know is zero.
type Timing struct {
	Block  time.Time // the leader fill's block timestamp (whole seconds)
	Seen   time.Time // the wallet monitor read the log
	Taken  time.Time // an executor worker took the fill
	Sent   time.Time // the order went to the broker
	Filled time.Time // the broker answered with the fill
	// SlippageBps is how much worse than the leader's price polybot's average price was, in
	// basis points: positive when a BUY paid more or a SELL got less.
	SlippageBps decimal.Decimal
}

var tenThousand = decimal.NewFromInt(10_000)

// slippageBps compares polybot's average price for exec with the leader's for f.
func slippageBps(f *polymarket.Fill, exec broker.Execution) decimal.Decimal {
	leader := f.Price()
	if leader.IsZero() || exec.Shares == 0 {
		return decimal.Zero
	}
	ours := decimal.NewFromUint64(exec.Collateral).Div(decimal.NewFromUint64(exec.Shares))
	diff := ours.Sub(leader)
	if f.Side == polymarket.Sell {
		diff = diff.Neg()
	}
	return diff.Div(leader).Mul(tenThousand).Round(2)
}

// timing is c's Timing once its order filled with exec.
func (c *copyRun) timing(exec broker.Execution) Timing {
	t := Timing{Seen: c.f.SeenAt, Taken: c.taken, Sent: c.sent, Filled: c.filled, SlippageBps: slippageBps(c.f, exec)}
	if c.f.BlockTime > 0 {
		t.Block = time.Unix(int64(c.f.BlockTime), 0)
	}
	return t
}

// fields are t's figures for the copy's log line: each stage's duration where both of its ends
// are known, and the slippage.
func (t Timing) fields() []zap.Field {
	var out []zap.Field
	stage := func(name string, from, to time.Time) {
		if !from.IsZero() && !to.IsZero() {
			out = append(out, zap.Duration(name, to.Sub(from).Round(time.Millisecond)))
		}
	}
	stage("seen_after_block", t.Block, t.Seen)
	stage("sent_after_seen", t.Seen, t.Sent)
	stage("filled_after_sent", t.Sent, t.Filled)
	stage("filled_after_block", t.Block, t.Filled)
	return append(out, zap.String("slippage_bps", t.SlippageBps.String()))
}
