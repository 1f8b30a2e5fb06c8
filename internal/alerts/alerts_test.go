package alerts

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

const token = "123456789:AAF-s3cr3tT0kenForTheBotApi_xyz"

// receiver is a local HTTP server standing in for a webhook receiver and for the Telegram Bot
// API: it records what polybot sent.
type receiver struct {
	mu       sync.Mutex
	webhooks []Notice
	telegram []url.Values
	paths    []string
	status   int // answer; 0 means 200
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	body, _ := io.ReadAll(req.Body)
	if r.status != 0 {
		w.WriteHeader(r.status)
		_, _ = w.Write([]byte(`{"ok":false}`))
		return
	}
	switch {
	case req.URL.Path == "/hook" && req.Header.Get("Content-Type") == "application/json":
		var n Notice
		if err := json.Unmarshal(body, &n); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.webhooks = append(r.webhooks, n)
	case strings.HasSuffix(req.URL.Path, "/sendMessage"):
		v, _ := url.ParseQuery(string(body))
		r.telegram = append(r.telegram, v)
		r.paths = append(r.paths, req.URL.Path)
	default:
		w.WriteHeader(http.StatusNotFound)
		return
	}
	_, _ = w.Write([]byte(`{"ok":true}`))
}

func (r *receiver) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.webhooks {
		out = append(out, n.Kind)
	}
	return out
}

type rig struct {
	t     *testing.T
	rcv   *receiver
	clock *mclock.Simulated
	snap  Snapshot
	n     *Notifier
	logs  *observer.ObservedLogs
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{t: t, rcv: &receiver{}, clock: new(mclock.Simulated)}
	srv := httptest.NewServer(r.rcv)
	t.Cleanup(srv.Close)
	core, logs := observer.New(zapcore.InfoLevel)
	r.logs = logs
	n, err := New(Options{
		Sinks: []Sink{
			Webhook{URL: srv.URL + "/hook"},
			Telegram{APIURL: srv.URL, Token: token, ChatID: "-1001234567890"},
		},
		Snapshot: func() Snapshot { return r.snap },
		GroupFor: time.Minute, SilenceAfter: 2 * time.Minute, Digest: true,
		Clock: r.clock, Log: zap.New(core),
	})
	if err != nil {
		t.Fatal(err)
	}
	r.n = n
	n.Round(context.Background()) // baseline
	return r
}

// step moves the clock by d and runs a round.
func (r *rig) step(d time.Duration) {
	r.clock.Run(d)
	r.n.Round(context.Background())
}

func TestABreakerTripIsToldOnceOnBothSinks(t *testing.T) {
	r := newRig(t)
	r.snap.DailyLoss = "day P&L -212.5 USDC, 12.5 past the 200 USDC limit; BUYs stopped until 2026-05-03 00:00 UTC"
	r.step(10 * time.Second)
	r.step(10 * time.Second)
	if got := r.rcv.kinds(); len(got) != 1 || got[0] != KindBreaker {
		t.Fatalf("webhook notices %v, want one %s", got, KindBreaker)
	}
	if len(r.rcv.telegram) != 1 || r.rcv.telegram[0].Get("chat_id") != "-1001234567890" ||
		!strings.Contains(r.rcv.telegram[0].Get("text"), "daily-loss breaker tripped: day P&L -212.5 USDC") {
		t.Fatalf("telegram messages %v", r.rcv.telegram)
	}
	if r.rcv.paths[0] != "/bot"+token+"/sendMessage" {
		t.Fatalf("telegram path %q", r.rcv.paths[0])
	}
}

func TestFailedAndUnfilledCopiesAreGroupedIntoOneNotice(t *testing.T) {
	r := newRig(t)
	r.snap.Failed = 1
	r.step(10 * time.Second)
	r.snap.Failed, r.snap.Unfilled = 3, 2
	r.step(20 * time.Second)
	if got := r.rcv.kinds(); len(got) != 0 {
		t.Fatalf("notices before the group's minute ended: %v", got)
	}
	r.step(40 * time.Second) // a minute since the first failure
	if got := r.rcv.kinds(); len(got) != 1 || got[0] != KindCopies {
		t.Fatalf("notices %v, want one %s", got, KindCopies)
	}
	n := r.rcv.webhooks[0]
	if n.Fields["failed"] != "3" || n.Fields["unfilled"] != "2" || !strings.Contains(n.Text, "polybot decisions --since 1m") {
		t.Fatalf("notice %+v", n)
	}
	r.step(2 * time.Minute)
	if got := r.rcv.kinds(); len(got) != 1 {
		t.Fatalf("notices without new failures: %v", got)
	}
}

func TestASilentFeedIsToldAfterSilenceAfterAndItsReturnToo(t *testing.T) {
	r := newRig(t)
	r.snap.Unhealthy = "head stalled for 90s"
	r.step(10 * time.Second)
	r.step(time.Minute)
	if got := r.rcv.kinds(); len(got) != 0 {
		t.Fatalf("notices before silence_after: %v", got)
	}
	r.step(time.Minute)
	r.step(time.Minute)
	if got := r.rcv.kinds(); len(got) != 1 || got[0] != KindSilent || r.rcv.webhooks[0].Fields["reason"] != "head stalled for 90s" {
		t.Fatalf("notices %v, want one %s with the reason", r.rcv.webhooks, KindSilent)
	}
	r.snap.Unhealthy = ""
	r.step(10 * time.Second)
	if got := r.rcv.kinds(); len(got) != 2 || got[1] != KindFeedBack {
		t.Fatalf("notices %v, want %s then %s", got, KindSilent, KindFeedBack)
	}
	// A short blip is no news.
	r.snap.Unhealthy = "not subscribed"
	r.step(10 * time.Second)
	r.snap.Unhealthy = ""
	r.step(10 * time.Second)
	if got := r.rcv.kinds(); len(got) != 2 {
		t.Fatalf("a 10 s blip was told: %v", got)
	}
}

func TestRedemptionsAndTheDailyDigestAreTold(t *testing.T) {
	r := newRig(t)
	day := time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC)
	r.snap.Day, r.snap.Digest = day, "12 copies, 3 skipped, 0 failed; realised 4.5 USDC"
	r.step(10 * time.Second)
	r.snap.Redemptions, r.snap.LastRedemption = 1, "token 123…: 25 USDC, tx 0xabc"
	r.step(10 * time.Second)
	r.snap.Day, r.snap.Digest = day.Add(24*time.Hour), "0 copies"
	r.step(10 * time.Second)
	got := r.rcv.kinds()
	if len(got) != 2 || got[0] != KindRedemption || got[1] != KindDigest {
		t.Fatalf("notices %v, want %s then %s", got, KindRedemption, KindDigest)
	}
	if !strings.Contains(r.rcv.webhooks[0].Text, "25 USDC, tx 0xabc") ||
		r.rcv.webhooks[1].Text != "trading day from 2026-05-02 00:00 UTC: 12 copies, 3 skipped, 0 failed; realised 4.5 USDC" {
		t.Fatalf("notices %+v", r.rcv.webhooks)
	}
}

// A receiver that refuses is logged and skipped; the bot token never reaches the log.
func TestAFailingSinkIsLoggedWithoutItsToken(t *testing.T) {
	r := newRig(t)
	r.rcv.status = http.StatusInternalServerError
	r.snap.DailyLoss = "tripped"
	r.step(10 * time.Second)
	warned := r.logs.FilterMessage("alert not delivered").All()
	if len(warned) != 2 {
		t.Fatalf("%d warnings, want one per sink", len(warned))
	}
	for _, e := range r.logs.All() {
		for _, f := range e.Context {
			if strings.Contains(f.String, token) || (f.Interface != nil && strings.Contains(toString(f.Interface), token)) {
				t.Fatalf("the token is in the log: %v", e.ContextMap())
			}
		}
	}
	// A dead address: the transport error must not quote the URL either.
	n, err := New(Options{Sinks: []Sink{Telegram{APIURL: "http://127.0.0.1:1", Token: token, ChatID: "1"}},
		Snapshot: func() Snapshot { return Snapshot{} }})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.opts.Sinks[0].Send(context.Background(), Notice{Text: "x"}); err == nil || strings.Contains(err.Error(), token) {
		t.Fatalf("send to a dead address: %v", err)
	}
}

func toString(v any) string {
	if e, ok := v.(error); ok {
		return e.Error()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// A redemption that did not pay is told as such, with its error, never as "winnings redeemed".
func TestAFailedRedemptionIsToldAsAFailure(t *testing.T) {
	r := newRig(t)
	r.step(10 * time.Second)
	r.snap.RedemptionFailures, r.snap.LastRedemptionFailure = 1, "token 123: attempt 1: redemption transaction reverted: 0xabc"
	r.step(10 * time.Second)
	got := r.rcv.kinds()
	if len(got) != 1 || got[0] != KindRedemptionFailed {
		t.Fatalf("notices %v, want one %s", got, KindRedemptionFailed)
	}
	if txt := r.rcv.webhooks[0].Text; !strings.Contains(txt, "redemption failed") || !strings.Contains(txt, "reverted: 0xabc") || strings.Contains(txt, "winnings redeemed") {
		t.Fatalf("notice %q", txt)
	}
	r.step(10 * time.Second)
	if got := r.rcv.kinds(); len(got) != 1 {
		t.Fatalf("the same failure told twice: %v", got)
	}
}
