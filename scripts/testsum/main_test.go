package main

import (
	"strings"
	"testing"
)

func TestSummaryCountsSkipsAndKeepsFailuresAndClosingLines(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"    a_test.go:9: POLYBOT_GETH is not set\n"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"--- SKIP: TestA (0.00s)\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:3: quiet on success\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestB"}`,
		`{"Action":"output","Package":"p","Output":"PASS\n"}`,
		`{"Action":"output","Package":"p","Output":"ok  \tp\t0.1s\n"}`,
		`{"Action":"pass","Package":"p"}`,
		`{"Action":"output","Package":"q","Test":"TestC","Output":"    c_test.go:5: broken\n"}`,
		`{"Action":"output","Package":"q","Test":"TestC","Output":"--- FAIL: TestC (0.00s)\n"}`,
		`{"Action":"fail","Package":"q","Test":"TestC"}`,
		`{"Action":"output","Package":"q","Output":"FAIL\tq\t0.2s\n"}`,
		`{"Action":"fail","Package":"q"}`,
	}, "\n")
	var out strings.Builder
	if !run(strings.NewReader(in), &out) {
		t.Error("a failed package did not make the summary fail")
	}
	got := out.String()
	for _, want := range []string{"ok  \tp\t0.1s\n", "c_test.go:5: broken", "--- FAIL: TestC", "FAIL\tq\t0.2s\n",
		`make test: 1 tests skipped: 1× "POLYBOT_GETH is not set"`} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "quiet on success") || strings.Contains(got, "PASS\n") {
		t.Errorf("output shows a passing test's log:\n%s", got)
	}
	out.Reset()
	if run(strings.NewReader(`{"Action":"pass","Package":"p"}`), &out) || !strings.Contains(out.String(), "0 tests skipped") {
		t.Errorf("a clean run: %q", out.String())
	}
}
