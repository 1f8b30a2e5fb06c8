package main

import (
	"bytes"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/store"
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

// With the daemon stopped, the stored status tells a failing redemption too.
func TestStoredStatusShowsAFailingRedemption(t *testing.T) {
	dir := t.TempDir()
	path, _ := cliConfig(t, dir)
	now := time.Now()
	seed(t, dir, now)
	st := openStore(t, dir, now)
	if err := st.SetMarket(seedToken, store.Market{Condition: common.HexToHash("0xc1"), Outcome: 0, Slots: 2}); err != nil {
		t.Fatal(err)
	}
	p, _, err := st.Resolve(seedToken, big.NewInt(1), big.NewInt(1), common.Hash{}, 2000, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RedemptionFailed(p, errors.New("redemption paid nothing: a payout of 0"), now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	_, out, _ := cli("status", "--config", path)
	if want := "0 paid, 0 waiting, 0 sent and being checked; 1 FAILING, tried again later (latest, token " + seedToken + ": redemption paid nothing: a payout of 0)"; !strings.Contains(out, want) {
		t.Errorf("stored status lacks %q:\n%s", want, out)
	}
}
