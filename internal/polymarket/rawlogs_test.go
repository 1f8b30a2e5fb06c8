package polymarket

import (
	"encoding/json"
	"math/big"
	"os"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/polybot/polybot/internal/testing/chainlog"
)

// rawLog is one entry of testdata/raw-logs.json: a log as the chain would carry it, word by
// word, and what polybot must read from it.
type rawLog struct {
	Name    string   `json:"name"`
	Address string   `json:"address"`
	Topics  []string `json:"topics"`
	Data    []string `json:"data"`
	Want    struct {
		Side        string   `json:"side"`
		Token       string   `json:"token"`
		Shares      uint64   `json:"shares"`
		Collateral  uint64   `json:"collateral"`
		Fee         uint64   `json:"fee"`
		Maker       string   `json:"maker"`
		Taker       string   `json:"taker"`
		IsTaker     bool     `json:"is_taker"`
		Numerators  []string `json:"numerators"`
		Denominator string   `json:"denominator"`
	} `json:"want"`
}

func (r *rawLog) log() *types.Log {
	l := &types.Log{Address: common.HexToAddress(r.Address)}
	for _, t := range r.Topics {
		l.Topics = append(l.Topics, common.HexToHash(t))
	}
	for _, w := range r.Data {
		l.Data = append(l.Data, common.HexToHash(w).Bytes()...)
	}
	return l
}

func loadRawLogs(t *testing.T) (fills, resolutions map[string]rawLog) {
	t.Helper()
	raw, err := os.ReadFile("testdata/raw-logs.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Logs        []rawLog `json:"logs"`
		Resolutions []rawLog `json:"resolutions"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	fills, resolutions = map[string]rawLog{}, map[string]rawLog{}
	for _, l := range file.Logs {
		fills[l.Name] = l
	}
	for _, l := range file.Resolutions {
		resolutions[l.Name] = l
	}
	return fills, resolutions
}

// checkRaw decodes the raw log named name and compares every field polybot reads.
func checkRaw(t *testing.T, r rawLog) Fill {
	t.Helper()
	got, err := DecodeOrderFilled(r.log())
	if err != nil {
		t.Fatalf("%s: %v", r.Name, err)
	}
	w := r.Want
	if got.Side.String() != w.Side || got.Market() != w.Token || got.Shares != w.Shares || got.Collateral != w.Collateral ||
		got.Fee != w.Fee || got.Maker != common.HexToAddress(w.Maker) || got.Taker != common.HexToAddress(w.Taker) || got.IsTaker() != w.IsTaker {
		t.Fatalf("%s decoded to %+v (side %s), want %+v", r.Name, got, got.Side, w)
	}
	return got
}

// TestDecodeMatchesTheRawLogVectors: every raw log of testdata/raw-logs.json decodes to the
// fill the protocol notes describe.
func TestDecodeMatchesTheRawLogVectors(t *testing.T) {
	fills, res := loadRawLogs(t)
	if len(fills) == 0 || len(res) == 0 {
		t.Fatal("testdata/raw-logs.json holds no vectors")
	}
	for _, r := range fills {
		checkRaw(t, r)
	}
	for _, r := range res {
		got, err := DecodeConditionResolution(r.log())
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		if len(got.Numerators) != len(r.Want.Numerators) || got.Denominator().String() != r.Want.Denominator {
			t.Fatalf("%s decoded to %+v, want %+v", r.Name, got, r.Want)
		}
		for i, n := range r.Want.Numerators {
			if got.Numerators[i].String() != n {
				t.Fatalf("%s numerator %d = %s, want %s", r.Name, i, got.Numerators[i], n)
			}
		}
	}
}

// TestTheABIEncoderWritesTheRawVectors ties the fakes' encoder (chainlog, driven by the official
// ABI) to the same raw bytes, so the fakes and the decoder agree because both match the chain.
func TestTheABIEncoderWritesTheRawVectors(t *testing.T) {
	fills, _ := loadRawLogs(t)
	for _, r := range fills {
		l := r.log()
		tok, _ := new(big.Int).SetString(r.Want.Token, 10)
		tr := chainlog.Trade{OrderHash: l.Topics[1], Maker: common.HexToAddress(r.Want.Maker), Taker: common.HexToAddress(r.Want.Taker),
			Sell: r.Want.Side == "SELL", TokenID: tok, Shares: r.Want.Shares, Collateral: r.Want.Collateral, Fee: r.Want.Fee}
		topics, data := tr.V2()
		if l.Topics[0] == chainlog.OrderFilledV1.ID {
			topics, data = tr.V1()
		}
		if common.Bytes2Hex(data) != common.Bytes2Hex(l.Data) || len(topics) != len(l.Topics) {
			t.Fatalf("%s: the ABI encoder writes %x, the vector is %x", r.Name, data, l.Data)
		}
		for i := range topics {
			if topics[i] != l.Topics[i] {
				t.Fatalf("%s: topic %d %s, the vector has %s", r.Name, i, topics[i], l.Topics[i])
			}
		}
	}
}

// encV1 and encV2 build a fill's log with the ABI encoder of the fakes, never with polybot's code.
func encV1(f *Fill) ([]common.Hash, []byte) { tr := tradeOf(f); return tr.V1() }
func encV2(f *Fill) ([]common.Hash, []byte) { tr := tradeOf(f); return tr.V2() }

func tradeOf(f *Fill) chainlog.Trade {
	return chainlog.Trade{OrderHash: f.OrderHash, Maker: f.Maker, Taker: f.Taker, Sell: f.Side == Sell, TokenID: f.TokenID,
		Shares: f.Shares, Collateral: f.Collateral, Fee: f.Fee}
}
