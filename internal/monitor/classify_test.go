package monitor

import (
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/polybot/polybot/internal/polymarket"
)

func TestClassifySortsLogsByTheLeaderRule(t *testing.T) {
	isExchange := func(a common.Address) bool { return a == exchange }
	isLeader := func(a common.Address) bool { return a == leader }
	good := leaderLog(leader, 5e6)
	bad := leaderLog(leader, 1e6)
	bad.Data = bad.Data[:40]
	foreign := leaderLog(leader, 1e6)
	foreign.Address = common.HexToAddress("0xbad")
	otherMaker := leaderLog(stranger, 1e6)
	other := leaderLog(leader, 1e6)
	other.Topics[0] = polymarket.OrdersMatchedV2Topic
	for _, c := range []struct {
		name string
		kind Kind
		log  *types.Log
	}{
		{"a leader's fill on a configured exchange", LeaderFill, &good},
		{"a fill that does not decode", Malformed, &bad},
		{"a fill on another exchange", OtherExchange, &foreign},
		{"a fill whose maker is not a leader", OtherMaker, &otherMaker},
		{"another event", OtherEvent, &other},
	} {
		v := Classify(c.log, isExchange, isLeader)
		if v.Kind != c.kind {
			t.Errorf("%s: kind %d, want %d", c.name, v.Kind, c.kind)
		}
		if (v.Kind == Malformed) != (v.Err != nil) || (v.Err != nil && !errors.Is(v.Err, polymarket.ErrMalformed)) {
			t.Errorf("%s: err %v", c.name, v.Err)
		}
	}
	if v := Classify(&good, isExchange, isLeader); v.Fill.Shares != 5e6 || v.Fill.Maker != leader {
		t.Errorf("leader fill decoded as %+v", v.Fill)
	}
	if v := Classify(&otherMaker, isExchange, isLeader); v.Fill.Maker == (common.Address{}) {
		t.Error("a fill of another maker comes without its decoded fill")
	}
}
