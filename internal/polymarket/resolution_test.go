package polymarket

import (
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/polybot/polybot/internal/testing/chainlog"
	"github.com/polybot/polybot/internal/testing/vectors"
)

// TestConditionResolutionTopicMatchesTheVector: polybot's topic0 is the one of the official
// vectors (testdata/polymarket-vectors.json at the repository root) and of the CTF's ABI.
func TestConditionResolutionTopicMatchesTheVector(t *testing.T) {
	for _, v := range vectors.Load(t, "event_topic0") {
		if v.Name != "topic0_ctf_ConditionResolution" {
			continue
		}
		var want struct {
			Topic0 string `json:"topic0"`
		}
		vectors.Decode(t, v.Expected, &want)
		if got := ConditionResolutionTopic.Hex(); got != want.Topic0 || got != chainlog.ConditionResolution.ID.Hex() {
			t.Fatalf("topic0 %s, vector %s, ABI %s", got, want.Topic0, chainlog.ConditionResolution.ID.Hex())
		}
		return
	}
	t.Fatal("vector topic0_ctf_ConditionResolution not found")
}

func TestConditionResolutionRoundTripsAndRejectsMalformedLogs(t *testing.T) {
	r := Resolution{ConditionID: common.HexToHash("0xc0"), Oracle: common.HexToAddress("0x0a"), QuestionID: common.HexToHash("0x9e"),
		Numerators: []*big.Int{big.NewInt(0), big.NewInt(1)}}
	topics, data := chainlog.Resolution(r.ConditionID, r.Oracle, r.QuestionID, r.Numerators)
	l := &types.Log{Topics: topics, Data: data, BlockNumber: 7}
	got, err := DecodeConditionResolution(l)
	if err != nil {
		t.Fatal(err)
	}
	if got.ConditionID != r.ConditionID || got.Oracle != r.Oracle || len(got.Numerators) != 2 || got.Numerators[1].Int64() != 1 || got.Denominator().Int64() != 1 || got.Block != 7 {
		t.Fatalf("decoded %+v", got)
	}
	cases := map[string]func(l *types.Log){
		"short data":       func(l *types.Log) { l.Data = l.Data[:64] },
		"truncated array":  func(l *types.Log) { l.Data = l.Data[:len(l.Data)-1] },
		"offset past data": func(l *types.Log) { l.Data[63] = 0xff },
		"slot mismatch":    func(l *types.Log) { l.Data[31] = 3 },
		"all zero payouts": func(l *types.Log) { l.Data[len(l.Data)-1] = 0 },
		"three topics":     func(l *types.Log) { l.Topics = l.Topics[:3] },
	}
	for name, mutate := range cases {
		t.Run(name+" is malformed", func(t *testing.T) {
			c := &types.Log{Topics: append([]common.Hash(nil), topics...), Data: append([]byte(nil), data...)}
			mutate(c)
			if _, err := DecodeConditionResolution(c); !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
		})
	}
	if _, err := DecodeConditionResolution(&types.Log{Topics: []common.Hash{OrderFilledV2Topic}}); !errors.Is(err, ErrNotResolution) {
		t.Fatalf("other event: %v", err)
	}
}
