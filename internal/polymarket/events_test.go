package polymarket

import (
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/polybot/polybot/internal/testing/vectors"
)

func TestTopicsMatchOfficialVectors(t *testing.T) {
	ours := map[string]common.Hash{
		OrderFilledV1Signature:   OrderFilledV1Topic,
		OrderFilledV2Signature:   OrderFilledV2Topic,
		OrdersMatchedV2Signature: OrdersMatchedV2Topic,
	}
	checked := 0
	for _, v := range vectors.Load(t, "event_topic0") {
		var in struct {
			Signature string `json:"signature"`
		}
		var want struct {
			Topic0 string `json:"topic0"`
		}
		vectors.Decode(t, v.Inputs, &in)
		vectors.Decode(t, v.Expected, &want)
		if topic, ok := ours[in.Signature]; ok {
			checked++
			if topic != common.HexToHash(want.Topic0) {
				t.Errorf("%s: topic0 %s, vector says %s", v.Name, topic.Hex(), want.Topic0)
			}
		}
	}
	if checked < len(ours) {
		t.Fatalf("only %d of our %d event signatures found in the vectors", checked, len(ours))
	}
}

func sampleFill(side Side, v Version) Fill {
	tok, _ := new(big.Int).SetString("71321045679252212594626385532706912750332728571942532289631379312455583992563", 10)
	return Fill{
		Exchange:   CTFExchangeV2,
		Version:    v,
		OrderHash:  common.HexToHash("0xabc1"),
		Maker:      common.HexToAddress("0x1000000000000000000000000000000000000001"),
		Taker:      CTFExchangeV2,
		Side:       side,
		TokenID:    tok,
		Shares:     120_000_000,
		Collateral: 60_000_000,
		Fee:        125_000,
		Block:      42,
		TxHash:     common.HexToHash("0xfeed"),
		LogIndex:   3,
	}
}

func logOf(f Fill, enc func(*Fill) ([]common.Hash, []byte)) *types.Log {
	topics, data := enc(&f)
	return &types.Log{Address: f.Exchange, Topics: topics, Data: data, BlockNumber: f.Block, TxHash: f.TxHash, Index: f.LogIndex}
}

func TestDecodeRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    Version
		side Side
		enc  func(*Fill) ([]common.Hash, []byte)
	}{
		{"a V2 buy", V2, Buy, encV2},
		{"a V2 sell", V2, Sell, encV2},
		{"a V1 buy", V1, Buy, encV1},
		{"a V1 sell", V1, Sell, encV1},
	} {
		t.Run(tc.name+" decodes to what was encoded", func(t *testing.T) {
			want := sampleFill(tc.side, tc.v)
			got, err := DecodeOrderFilled(logOf(want, tc.enc))
			if err != nil {
				t.Fatal(err)
			}
			if got.Side != want.Side || got.TokenID.Cmp(want.TokenID) != 0 || got.Shares != want.Shares ||
				got.Collateral != want.Collateral || got.Fee != want.Fee || got.Maker != want.Maker ||
				got.Version != want.Version || got.TxHash != want.TxHash || got.LogIndex != want.LogIndex || !got.IsTaker() {
				t.Fatalf("decoded %+v, want %+v", got, want)
			}
			if p := got.Price().String(); p != "0.5" {
				t.Fatalf("price %s, want 0.5", p)
			}
		})
	}
}

// The worked example of polymarket.md section 3a (MatchOrders.t.sol testMatchTypeComplementary),
// as raw log bytes: makers A and B sell YES as resting makers, the taker buys 120 YES for 60 USDC.
func TestDecodeV1WorkedExample(t *testing.T) {
	fills, _ := loadRawLogs(t)
	for _, name := range []string{"v1_complementary_maker_a_sells_50_yes_for_25", "v1_complementary_maker_b_sells_70_yes_for_35", "v1_complementary_taker_buys_120_yes_for_60"} {
		r, ok := fills[name]
		if !ok {
			t.Fatalf("testdata/raw-logs.json has no %s", name)
		}
		got := checkRaw(t, r)
		if got.Version != V1 || got.Price().String() != "0.5" {
			t.Fatalf("%s: version %d price %s, want V1 at 0.5", name, got.Version, got.Price())
		}
	}
}

func TestDecodeRejectsMalformedLogs(t *testing.T) {
	good := logOf(sampleFill(Buy, V2), encV2)
	mutate := func(fn func(l *types.Log)) *types.Log {
		l := *good
		l.Topics = append([]common.Hash(nil), good.Topics...)
		l.Data = append([]byte(nil), good.Data...)
		fn(&l)
		return &l
	}
	for _, tc := range []struct {
		name string
		log  *types.Log
		want error
	}{
		{"a log with no topics is not a fill", mutate(func(l *types.Log) { l.Topics = nil }), ErrNotOrderFilled},
		{"another event is not a fill", mutate(func(l *types.Log) { l.Topics[0] = OrdersMatchedV2Topic }), ErrNotOrderFilled},
		{"three topics", mutate(func(l *types.Log) { l.Topics = l.Topics[:3] }), ErrMalformed},
		{"short data", mutate(func(l *types.Log) { l.Data = l.Data[:100] }), ErrMalformed},
		{"side 2", mutate(func(l *types.Log) { l.Data[31] = 2 }), ErrMalformed},
		{"an amount over 64 bits", mutate(func(l *types.Log) { l.Data[2*32] = 1 }), ErrMalformed},
		{"dirty address topic", mutate(func(l *types.Log) { l.Topics[2][0] = 1 }), ErrMalformed},
		{"zero shares", mutate(func(l *types.Log) { copy(l.Data[3*32:4*32], make([]byte, 32)) }), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeOrderFilled(tc.log); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func BenchmarkDecodeOrderFilled(b *testing.B) {
	for _, tc := range []struct {
		name string
		enc  func(*Fill) ([]common.Hash, []byte)
		v    Version
	}{{"V2", encV2, V2}, {"V1", encV1, V1}} {
		l := logOf(sampleFill(Buy, tc.v), tc.enc)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeOrderFilled(l); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
