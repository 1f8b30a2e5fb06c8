package metrics

import "testing"

// A skipped copy is counted under the config key that decided it, so an operator sees how many
// copies fell below the CLOB's minimum (copy.raise_to_minimum) without reading the decisions.
func TestSkipsAreCountedByTheKeyThatDecidedThem(t *testing.T) {
	m, err := New(Options{Snapshot: func() Snapshot { return Snapshot{} }})
	if err != nil {
		t.Fatal(err)
	}
	base := startServer(t, m)
	m.ObserveSkip("copy.raise_to_minimum")
	m.ObserveSkip("copy.raise_to_minimum")
	m.ObserveSkip("")
	got := scrape(t, base)
	for name, want := range map[string]float64{
		`polybot_copies_skipped_by_limit_total{limit="copy.raise_to_minimum"}`: 2,
		`polybot_copies_skipped_by_limit_total{limit="none"}`:                  1,
	} {
		if g := got[name]; g != want {
			t.Errorf("%s = %v, want %v", name, g, want)
		}
	}
}
