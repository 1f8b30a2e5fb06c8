package polymarket

import (
	"bytes"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// fuzzLog builds a log from raw fuzz input: topics is cut into 32-byte words, and topic0 is
// forced to an OrderFilled topic when force is 1 (V1) or 2 (V2), so the fuzzer reaches the
// decoder's body without having to guess a keccak hash.
func fuzzLog(force uint8, topics, data []byte) *types.Log {
	l := &types.Log{Address: CTFExchangeV2, Data: data, BlockNumber: 7, Index: 3, TxHash: common.Hash{1}}
	for len(topics) > 0 && len(l.Topics) < 8 {
		n := min(len(topics), 32)
		l.Topics = append(l.Topics, common.BytesToHash(topics[:n]))
		topics = topics[n:]
	}
	switch force % 3 {
	case 1, 2:
		t0 := OrderFilledV1Topic
		if force%3 == 2 {
			t0 = OrderFilledV2Topic
		}
		if len(l.Topics) == 0 {
			l.Topics = []common.Hash{t0}
		} else {
			l.Topics[0] = t0
		}
	}
	return l
}

// FuzzDecodeOrderFilled feeds arbitrary topics and data to the decoder: it never panics, every
// error is ErrNotOrderFilled or ErrMalformed, and a fill it accepts is sane and encodes back to
// the same log (V2 ignores the builder and metadata words, which polybot does not read).
func FuzzDecodeOrderFilled(f *testing.F) {
	for _, v := range []Version{V1, V2} {
		for _, side := range []Side{Buy, Sell} {
			fill := sampleFill(side, v)
			var topics []common.Hash
			var data []byte
			if v == V1 {
				topics, data = encV1(&fill)
			} else {
				topics, data = encV2(&fill)
			}
			var tb []byte
			for _, t := range topics {
				tb = append(tb, t.Bytes()...)
			}
			f.Add(uint8(0), tb, data)
			f.Add(uint8(v), tb[32:], data[:len(data)-1])
		}
	}
	f.Add(uint8(2), bytes.Repeat([]byte{0xff}, 128), bytes.Repeat([]byte{0xff}, 7*32))
	f.Add(uint8(1), make([]byte, 128), make([]byte, 5*32))
	f.Add(uint8(0), []byte{}, []byte{})

	f.Fuzz(func(t *testing.T, force uint8, topics, data []byte) {
		l := fuzzLog(force, topics, data)
		orig := bytes.Clone(l.Data)
		fill, err := DecodeOrderFilled(l)
		if !bytes.Equal(orig, l.Data) {
			t.Fatal("the decoder changed the log's data")
		}
		if err != nil {
			if !errors.Is(err, ErrNotOrderFilled) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is neither ErrNotOrderFilled nor ErrMalformed", err)
			}
			return
		}
		if fill.Shares == 0 || (fill.Side != Buy && fill.Side != Sell) {
			t.Fatalf("accepted a fill with %d shares on side %v", fill.Shares, fill.Side)
		}
		if fill.TokenID == nil || fill.TokenID.Sign() < 0 || fill.TokenID.BitLen() > 256 {
			t.Fatalf("token id %v out of uint256", fill.TokenID)
		}
		if fill.Exchange != l.Address || fill.TxHash != l.TxHash || fill.LogIndex != l.Index || fill.Block != l.BlockNumber {
			t.Fatal("the fill does not carry its log's position")
		}
		if p := fill.Price(); p.IsNegative() {
			t.Fatalf("negative price %s", p)
		}
		_ = fill.Market()

		var topics2 []common.Hash
		var data2 []byte
		switch fill.Version {
		case V1:
			if fill.TokenID.Sign() == 0 {
				t.Fatal("V1 fill accepted with token id 0")
			}
			topics2, data2 = encV1(&fill)
		case V2:
			topics2, data2 = encV2(&fill)
			// builder and metadata are not decoded: compare the words polybot reads.
			data2 = append(data2[:5*word:5*word], l.Data[5*word:]...)
		default:
			t.Fatalf("version %d", fill.Version)
		}
		if len(topics2) != len(l.Topics) {
			t.Fatalf("re-encoded %d topics, log has %d", len(topics2), len(l.Topics))
		}
		for i := range topics2 {
			if topics2[i] != l.Topics[i] {
				t.Fatalf("topic %d re-encodes to %s, log has %s", i, topics2[i], l.Topics[i])
			}
		}
		if !bytes.Equal(data2, l.Data) {
			t.Fatalf("data re-encodes to %x, log has %x", data2, l.Data)
		}
	})
}

// TestDecodeRefusesOversizedData checks that a node answering with a huge data field costs one
// length check, not a copy: the fill is refused as malformed.
func TestDecodeRefusesOversizedData(t *testing.T) {
	fill := sampleFill(Buy, V2)
	topics, data := encV2(&fill)
	huge := make([]byte, 64<<20)
	copy(huge, data)
	_, err := DecodeOrderFilled(&types.Log{Address: CTFExchangeV2, Topics: topics, Data: huge})
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("64 MiB data field: %v, want ErrMalformed", err)
	}
	tooBig := new(big.Int).Lsh(big.NewInt(1), 64)
	tooBig.FillBytes(data[2*word : 3*word])
	if _, err := DecodeOrderFilled(&types.Log{Address: CTFExchangeV2, Topics: topics, Data: data}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("amount of 2^64: %v, want ErrMalformed", err)
	}
}
