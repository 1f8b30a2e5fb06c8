package sim

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/core/vm/runtime"
)

// runEmitter executes the emitter code on calldata and returns the logs it emitted.
func runEmitter(t *testing.T, calldata []byte) ([]record, error) {
	t.Helper()
	_, state, err := runtime.Execute(emitterCode, calldata, &runtime.Config{GasLimit: 10_000_000})
	if err != nil {
		return nil, err
	}
	var got []record
	for _, l := range state.Logs() {
		got = append(got, record{topics: l.Topics, data: l.Data})
	}
	return got, nil
}

func sameRecords(a, b []record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i].topics) != len(b[i].topics) || !bytes.Equal(a[i].data, b[i].data) {
			return false
		}
		for j := range a[i].topics {
			if a[i].topics[j] != b[i].topics[j] {
				return false
			}
		}
	}
	return true
}

func TestEmitterEmitsExactlyTheRecordsInOrder(t *testing.T) {
	h := func(b byte) common.Hash { return common.BytesToHash(bytes.Repeat([]byte{b}, 32)) }
	cases := []struct {
		name string
		recs []record
	}{
		{"no record emits nothing", nil},
		{"a log with no topic and no data", []record{{}}},
		{"one log of each topic count, with odd data lengths", []record{
			{topics: nil, data: []byte{1, 2, 3}},
			{topics: []common.Hash{h(1)}, data: bytes.Repeat([]byte{9}, 33)},
			{topics: []common.Hash{h(1), h(2)}, data: nil},
			{topics: []common.Hash{h(1), h(2), h(3)}, data: bytes.Repeat([]byte{7}, 64)},
			{topics: []common.Hash{h(1), h(2), h(3), h(4)}, data: bytes.Repeat([]byte{5}, 224)},
		}},
		{"a whole match: two maker fills, the taker fill, OrdersMatched", []record{
			{topics: []common.Hash{h(0xd5), h(1), h(2), h(3)}, data: bytes.Repeat([]byte{1}, 224)},
			{topics: []common.Hash{h(0xd5), h(4), h(5), h(3)}, data: bytes.Repeat([]byte{2}, 224)},
			{topics: []common.Hash{h(0xd5), h(6), h(3), h(0xee)}, data: bytes.Repeat([]byte{3}, 224)},
			{topics: []common.Hash{h(0x17), h(6), h(3)}, data: bytes.Repeat([]byte{4}, 128)},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runEmitter(t, encodeRecords(tc.recs))
			if err != nil {
				t.Fatalf("execute: %v", err)
			}
			if !sameRecords(got, tc.recs) {
				t.Fatalf("emitted %+v, want %+v", got, tc.recs)
			}
		})
	}
}

func TestEmitterRandomRecords(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		recs := make([]record, rng.IntN(8))
		for j := range recs {
			recs[j].topics = make([]common.Hash, rng.IntN(5))
			for k := range recs[j].topics {
				recs[j].topics[k][rng.IntN(32)] = byte(1 + rng.IntN(255))
			}
			recs[j].data = make([]byte, rng.IntN(300))
			for k := range recs[j].data {
				recs[j].data[k] = byte(rng.Uint32())
			}
		}
		calldata := encodeRecords(recs)
		got, err := runEmitter(t, calldata)
		if err != nil {
			t.Fatalf("case %d: execute: %v", i, err)
		}
		if !sameRecords(got, recs) {
			t.Fatalf("case %d: emitted %+v, want %+v", i, got, recs)
		}
		if gas := emitGas(recs, len(calldata)); gas > 16_000_000 {
			t.Fatalf("case %d: gas %d exceeds the per-transaction cap", i, gas)
		}
	}
}

func TestEmitterRevertsOnMoreThanFourTopics(t *testing.T) {
	ok := record{topics: []common.Hash{{1}}, data: []byte{1}}
	bad := record{topics: make([]common.Hash, 5)}
	got, err := runEmitter(t, encodeRecords([]record{ok, bad}))
	if err == nil {
		t.Fatalf("a record with 5 topics did not revert; logs %+v", got)
	}
	if !errors.Is(err, vm.ErrExecutionReverted) {
		t.Fatalf("error %v, want %v", err, vm.ErrExecutionReverted)
	}
}
