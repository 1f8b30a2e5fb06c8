package latency

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestSummaryGivesP50AndP99OverTheWindow(t *testing.T) {
	r := New(time.Hour, 0)
	t0 := time.Date(2026, 5, 2, 12, 0, 0, 0, time.UTC)
	// An old, slow sample outside the window, then 100 inside: 1 ms to 100 ms.
	r.Observe(t0, SentToFill, 10*time.Second)
	for i := 1; i <= 100; i++ {
		r.Observe(t0.Add(time.Hour+time.Duration(i)*time.Second), SentToFill, time.Duration(i)*time.Millisecond)
	}
	r.ObserveSlippage(t0.Add(time.Hour+time.Minute), decimal.RequireFromString("12.5"))
	r.ObserveSlippage(t0.Add(time.Hour+time.Minute), decimal.RequireFromString("-3.25"))
	s := r.Summary(t0.Add(time.Hour + 2*time.Minute))
	var got Stage
	for _, st := range s.Stages {
		if st.Stage == SentToFill {
			got = st
		}
	}
	if got.Count != 100 || got.P50 != 50*time.Millisecond || got.P99 != 99*time.Millisecond {
		t.Fatalf("sent_to_fill = %+v, want 100 samples, p50 50ms, p99 99ms", got)
	}
	if s.SlippageCount != 2 || s.SlippageP50 != "-3.25" || s.SlippageP99 != "12.5" {
		t.Fatalf("slippage = %d %s %s", s.SlippageCount, s.SlippageP50, s.SlippageP99)
	}
}

// Months of copies keep at most Max samples a series.
func TestTheRecorderIsBounded(t *testing.T) {
	r := New(time.Hour, 10)
	t0 := time.Now()
	for i := range 1000 {
		r.Observe(t0, BlockToFill, time.Duration(i))
	}
	s := r.Summary(t0)
	if c := s.Stages[len(s.Stages)-1].Count; c != 10 {
		t.Fatalf("%d samples kept, want 10", c)
	}
	if p := s.Stages[len(s.Stages)-1].P50; p < 990 {
		t.Fatalf("p50 %d: the newest samples should be kept", p)
	}
}
