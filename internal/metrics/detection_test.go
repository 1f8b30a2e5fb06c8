package metrics

import (
	"testing"
	"time"
)

func TestDetectionDelayIsAHistogramOfObservedDelays(t *testing.T) {
	m, err := New(Options{Snapshot: func() Snapshot { return Snapshot{} }})
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveDetection(1500 * time.Millisecond)
	m.ObserveDetection(20 * time.Second)
	got := scrape(t, startServer(t, m))
	for name, want := range map[string]float64{
		`polybot_detection_delay_seconds_count`:           2,
		`polybot_detection_delay_seconds_bucket{le="1"}`:  0,
		`polybot_detection_delay_seconds_bucket{le="2"}`:  1,
		`polybot_detection_delay_seconds_bucket{le="30"}`: 2,
	} {
		if got[name] != want {
			t.Errorf("%s = %v, want %v", name, got[name], want)
		}
	}
}
