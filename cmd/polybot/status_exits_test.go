package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/polybot/polybot/internal/admin"
)

// polybot status shows the exits waiting to be tried again on a row of their own, and no such
// row when none waits.
func TestStatusShowsQueuedExitRetries(t *testing.T) {
	line := "1 exits not sold yet, retrying (oldest: market 1001, 2 tries, next try in 10s: no bid)"
	var b bytes.Buffer
	printStatus(&b, &admin.Status{Version: "fake", Executor: admin.Executor{ExitRetries: line}}, "/run/polybot/admin.sock")
	if !strings.Contains(b.String(), "exits") || !strings.Contains(b.String(), line) {
		t.Errorf("polybot status lacks the queued exits:\n%s", b.String())
	}
	b.Reset()
	printStatus(&b, &admin.Status{Version: "fake"}, "/run/polybot/admin.sock")
	if strings.Contains(b.String(), "not sold yet") {
		t.Errorf("polybot status shows exits with none waiting:\n%s", b.String())
	}
}
