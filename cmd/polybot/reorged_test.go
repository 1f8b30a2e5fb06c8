package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/store"
)

// A leader fill a reorg removed for good shows in `polybot decisions` as an orphaned decision,
// and `polybot status` counts it, from the stored state when no daemon runs.
func TestStatusAndDecisionsShowAnOrphanedLeaderFill(t *testing.T) {
	dir := t.TempDir()
	cfgPath, _ := cliConfig(t, dir)
	now := time.Now()
	seed(t, dir, now)
	st := openStore(t, dir, now)
	leader := common.HexToAddress(seedLeader)
	d := store.Decision{Time: now, Leader: leader, Token: seedToken, Side: "BUY", Action: "copy", Reason: "proportional copy",
		Shares: 5_000_000, Collateral: 2_000_000, Tx: common.HexToHash("0xcc"), LogIndex: 2, OrderHash: common.HexToHash("0x0de7"),
		LeaderShares: 5_000_000, Block: 1200, BlockHash: common.HexToHash("0xb10c"), Exchange: common.HexToAddress("0xe0")}
	if err := st.Record(d, nil); err != nil {
		t.Fatal(err)
	}
	fbs, err := st.FillBlocks(0)
	if err != nil || len(fbs) != 1 {
		t.Fatalf("fill blocks %v (%v)", fbs, err)
	}
	if ok, err := st.Orphan(fbs[0], "leader fill removed by a chain reorg"); err != nil || !ok {
		t.Fatalf("orphan: %v %v", ok, err)
	}
	st.Close()

	_, out, _ := cli("status", "--config", cfgPath)
	if !strings.Contains(out, "reorged") || !strings.Contains(out, "1 decided leader fills removed by a reorg") {
		t.Errorf("stored status does not count the orphaned fill:\n%s", out)
	}
	code, table, errs := cli("decisions", "--config", cfgPath)
	if code != exOK || !strings.Contains(table, "orphaned") || !strings.Contains(table, "removed by a chain reorg") {
		t.Errorf("decisions (exit %d, %s) do not show the orphaned fill:\n%s", code, errs, table)
	}
}
