package store

import (
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
)

func TestWriteDecisionsTable(t *testing.T) {
	var b strings.Builder
	d := decision(time.Date(2025, 6, 1, 12, 0, 0, 0, time.FixedZone("X", 3600)), 1)
	d.Token = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
	d.Action, d.Limit, d.Reason, d.Shares, d.Collateral = "reduce", "risk.max_daily_spend_usdc", "reduced", 9_990_000, 4_995_000
	skip := decision(d.Time, 2)
	skip.Action, skip.Shares, skip.Collateral, skip.Reason = "skip", 0, 0, "no position to sell"
	if err := WriteDecisionsTable(&b, []Decision{d, skip}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want header + 2:\n%s", len(lines), b.String())
	}
	for _, want := range []string{"2025-06-01 11:00:00", "713210...992563", "reduce", "9.99", "4.995", "risk.max_daily_spend_usdc", common.BigToHash(common.Big1).Hex() + ":1"} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("row lacks %q: %s", want, lines[1])
		}
	}
	if col := strings.Index(lines[0], "ACTION"); strings.Index(lines[1], "reduce") != col || strings.Index(lines[2], "skip") != col {
		t.Errorf("columns not aligned:\n%s", b.String())
	}
	if !strings.Contains(lines[2], " - ") {
		t.Errorf("a decision without a limit shows -: %s", lines[2])
	}
}

func TestWritePositionsTable(t *testing.T) {
	var b strings.Builder
	ps := []Position{
		{Token: "12", Shares: 10_000_000, Cost: 4_333_333, Realised: -1_500_000, Fills: 3, LastPrice: 450_000, UpdatedAt: t0},
		{Token: "13", Shares: 1_000_000, Cost: 500_000, Realised: 250_000, Fills: 1, LastPrice: 500_000, UpdatedAt: t0},
	}
	if err := WritePositionsTable(&b, ps, 5_000_000); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"10", "4.333333", "0.433333", "0.45", "-1.5", "2 positions", "4.833333", "-1.25", "2025-06-01 12:00:00",
		"DUST: 1 positions below the minimum order of 5 shares"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// Only the 1-share position is dust.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "12 ") && strings.Contains(line, "DUST") {
			t.Errorf("a 10-share position is marked dust:\n%s", out)
		}
		if strings.HasPrefix(strings.TrimSpace(line), "13 ") && !strings.Contains(line, "DUST") {
			t.Errorf("a 1-share position is not marked dust:\n%s", out)
		}
	}
}
