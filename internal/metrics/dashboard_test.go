package metrics

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The example Grafana dashboard only queries metrics polybot serves.
func TestDashboardQueriesServedMetrics(t *testing.T) {
	b, err := os.ReadFile("../../deploy/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Options{Snapshot: func() Snapshot {
		return Snapshot{HeadAgeKnown: true, Leaders: []LeaderPnL{{Leader: "0x1000000000000000000000000000000000000001"}}}
	}})
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveCopy(OutcomeCopied, time.Millisecond)
	m.ObserveLatency("block_to_fill", 2*time.Second)
	m.ObserveSlippage(12.5)
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, mf := range mfs {
		served[mf.GetName()] = true
	}
	names := regexp.MustCompile(`\b(?:polybot|go|process)_[a-z_]+`).FindAllString(string(b), -1)
	if len(names) < 10 {
		t.Fatalf("found only %d metric names in the dashboard", len(names))
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_count"), "_sum")
		if !served[base] {
			t.Errorf("dashboard queries %s, which /metrics does not serve", n)
		}
	}
}
