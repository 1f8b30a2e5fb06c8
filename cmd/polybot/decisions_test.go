package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/store"
)

// TestDecisionsSinceFromTheStoreAndFromTheDaemon logs decisions 1h and 1ns before the hour
// boundary and after it, and checks --since and --limit pick the same ones whether the stored
// log is read or the daemon is asked.
func TestDecisionsSinceFromTheStoreAndFromTheDaemon(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	decisionsNow = func() time.Time { return now }
	t.Cleanup(func() { decisionsNow = time.Now })
	dir := t.TempDir()
	cfgPath, sock := cliConfig(t, dir)

	if code, out, errs := cli("decisions", "--config", cfgPath); code != exFail || out != "" || !strings.Contains(errs, "no stored state") {
		t.Fatalf("no store: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	hour := now.Add(-time.Hour)
	st := openStore(t, dir, now)
	for i, at := range []time.Time{hour.Add(-time.Nanosecond), hour, now.Add(-time.Minute), now} {
		d := store.Decision{Time: at, Leader: common.HexToAddress(seedLeader), Token: seedToken, Side: "BUY",
			Action: []string{"skip", "copy", "reduce", "skip"}[i], Reason: "why " + string(rune('a'+i)),
			Limit: "risk.max_daily_spend_usdc", Shares: uint64(i) * 1_000_000, Collateral: 250_000,
			Tx: common.BigToHash(common.Big1), LogIndex: uint(i)}
		if err := st.AppendDecision(d); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	cases := []struct {
		name      string
		args      []string
		want      []uint
		truncated bool
	}{
		{"--since 1h includes a decision exactly 1h old", []string{"--since", "1h"}, []uint{1, 2, 3}, false},
		{"an RFC 3339 --since includes its own instant", []string{"--since", hour.Format(time.RFC3339Nano)}, []uint{1, 2, 3}, false},
		{"one nanosecond later excludes it", []string{"--since", hour.Add(time.Nanosecond).Format(time.RFC3339Nano)}, []uint{2, 3}, false},
		{"--since 61m reaches the one before", []string{"--since", "61m"}, []uint{0, 1, 2, 3}, false},
		{"--limit keeps the latest", []string{"--since", "2h", "--limit", "2"}, []uint{2, 3}, true},
		{"nothing after now", []string{"--since", "0s"}, []uint{3}, false},
	}
	run := func(t *testing.T, base []string) map[string]string {
		t.Helper()
		outputs := map[string]string{}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				code, out, errs := cli(append(append([]string{"decisions", "--json"}, base...), c.args...)...)
				if code != exOK {
					t.Fatalf("exit %d: %s", code, errs)
				}
				var l admin.DecisionLog
				if err := json.Unmarshal([]byte(out), &l); err != nil {
					t.Fatalf("not JSON: %v\n%s", err, out)
				}
				got := []uint{}
				for _, d := range l.Decisions {
					got = append(got, d.LogIndex)
				}
				if !reflect.DeepEqual(got, c.want) || l.Truncated != c.truncated {
					t.Fatalf("decisions %v truncated %v, want %v truncated %v", got, l.Truncated, c.want, c.truncated)
				}
				if c.truncated != strings.Contains(errs, "older ones exist") {
					t.Errorf("truncated %v but stderr %q", c.truncated, errs)
				}
				_, table, _ := cli(append(append([]string{"decisions"}, base...), c.args...)...)
				if n := strings.Count(table, "\n"); n != len(c.want)+1 {
					t.Errorf("table has %d lines, want a header and %d rows:\n%s", n, len(c.want), table)
				}
				outputs[c.name] = out + table
			})
		}
		return outputs
	}

	var stored map[string]string
	t.Run("from the store", func(t *testing.T) { stored = run(t, []string{"--config", cfgPath}) })
	_, table, errs := cli("decisions", "--config", cfgPath, "--since", "1h")
	for _, want := range []string{"2026-12-01 11:00:00", "copy", "1", "0.25", "risk.max_daily_spend_usdc", "why b",
		common.BigToHash(common.Big1).Hex() + ":1"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "why a") || !strings.Contains(errs, "daemon is not running") {
		t.Errorf("table %s\nstderr %q", table, errs)
	}

	st = openStore(t, dir, now)
	defer st.Close()
	fakeDaemon(t, sock, st, now)
	var asked map[string]string
	t.Run("from the daemon", func(t *testing.T) { asked = run(t, []string{"--socket", sock}) })
	if !reflect.DeepEqual(stored, asked) {
		t.Errorf("the daemon and the store disagree:\nstore %v\ndaemon %v", stored, asked)
	}

	for _, bad := range [][]string{{"--since", "yesterday"}, {"--since", "-1h"}, {"--limit", "0"}, {"--limit", "10001"}} {
		code, out, errs := cli(append([]string{"decisions", "--socket", sock}, bad...)...)
		if code != exFail || out != "" || !strings.Contains(errs, bad[0]) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 1 and the flag named", bad, code, out, errs)
		}
	}
}
