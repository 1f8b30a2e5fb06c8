package crashtest

import (
	"testing"

	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/strategy"
)

// checkRetries checks the exit retries (executor/exits.go) as checkStore checks the copies:
// every retry attempt is of a leader SELL in the record, decided exactly once, after the
// attempt before it; it moves no leader book; it has a completed intent exactly when its
// decision places an order, for that fill's leader, side and token, with the attempt's own salt
// (order.SaltForAttempt), which checkCLOB then holds every order at the CLOB to. Each exit still
// queued names a leader SELL and its last decided attempt, and no attempt after it. The retry
// intents join intents, so positions, logs and the CLOB are checked against them too.
func checkRetries(t *testing.T, st *store.Store, fills []polymarket.Fill, byFill map[fillKey][]store.Decision,
	intents map[fillKey]store.Intent, fig *figures) {
	t.Helper()
	fillOf := map[fillKey]*polymarket.Fill{}
	for i := range fills {
		fillOf[keyOf(&fills[i])] = &fills[i]
	}
	retried := map[fillKey]bool{}
	for k, ds := range byFill {
		if k.attempt == 0 {
			continue
		}
		f := fillOf[k.fill()]
		if f == nil {
			continue // checkStore reports it
		}
		fig.retries++
		retried[k.fill()] = true
		if f.Side != polymarket.Sell {
			t.Errorf("retry %s of a leader %s: only exits are retried", k, f.Side)
		}
		prev := k
		prev.attempt--
		if len(byFill[prev]) == 0 {
			t.Errorf("retry %s decided, but not the attempt before it", k)
		}
		if len(ds) > 1 {
			fig.twice++
			t.Errorf("DUPLICATED: retry %s has %d decisions: %+v", k, len(ds), ds)
		}
		d := ds[0]
		if d.LeaderShares != 0 {
			t.Errorf("retry %s moved the leader book by %d shares", k, d.LeaderShares)
		}
		id := store.IntentIDOf(f)
		id.Attempt = k.attempt
		in, ok, err := st.IntentFor(id)
		if err != nil {
			t.Fatal(err)
		}
		places := d.Action == strategy.Copy.String() || d.Action == strategy.Reduce.String()
		switch {
		case places && !ok:
			t.Errorf("retry %s: decision %s without an intent", k, d.Action)
		case !places && ok:
			t.Errorf("retry %s: decision %s (%s) with an intent %+v", k, d.Action, d.Reason, in)
		case ok:
			if in.Status == store.StatusPending {
				t.Errorf("retry %s: intent still pending", k)
			}
			if in.Leader != f.Maker || in.Side != polymarket.Sell || in.Token != f.Market() || in.Shares != d.Shares {
				t.Errorf("retry %s: intent %+v does not match the fill or its decision %+v", k, in, d)
			}
			if in.Salt != order.SaltForAttempt(f.TxHash, f.LogIndex, k.attempt).Uint64() {
				t.Errorf("retry %s: intent salt %d is not the attempt's", k, in.Salt)
			}
			intents[k] = in
			if in.Result.FilledShares > 0 {
				fig.retryFilled++
			} else {
				fig.retryUnfilled++
			}
		default:
			fig.retrySkips++
		}
	}
	fig.exitsRetried = len(retried)
	queued, err := st.ExitRetries()
	if err != nil {
		t.Fatal(err)
	}
	fig.retriesQueued = len(queued)
	for _, r := range queued {
		k := fillKey{r.Fill.Tx, r.Fill.LogIndex, r.Attempt}
		f := fillOf[k.fill()]
		switch {
		case f == nil || f.Side != polymarket.Sell:
			t.Errorf("exit %s queued, which is no leader SELL in the record", k)
		case len(byFill[k]) != 1:
			t.Errorf("exit queued at attempt %s, which has %d decisions", k, len(byFill[k]))
		}
		next := k
		next.attempt++
		if len(byFill[next]) != 0 {
			t.Errorf("exit queued at %s, yet attempt %d is decided", k, next.attempt)
		}
	}
}
