package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/polybot/polybot/internal/admin"
)

// polybot status tells a redemption that did not pay, with its error, and never counts it paid.
func TestStatusShowsAFailingRedemption(t *testing.T) {
	st := admin.Status{Version: "fake", Redemptions: &admin.Redemptions{Paid: 2, Checking: 1, Failing: 1,
		LastErrorToken: "123", LastError: "attempt 2: redemption transaction reverted: 0xabc in block 99"}}
	var b bytes.Buffer
	printStatus(&b, &st, "/run/polybot/admin.sock")
	want := "redemptions   2 paid, 0 waiting, 1 sent and being checked; 1 FAILING, tried again later (latest, token 123: attempt 2: redemption transaction reverted: 0xabc in block 99)"
	if !strings.Contains(b.String(), want) {
		t.Errorf("polybot status lacks %q:\n%s", want, b.String())
	}
	b.Reset()
	printStatus(&b, &admin.Status{Version: "fake"}, "/run/polybot/admin.sock")
	if strings.Contains(b.String(), "redemptions") {
		t.Errorf("a daemon with nothing to redeem shows redemptions:\n%s", b.String())
	}
}
