package config

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/polymarket"
)

func TestDefaultWatchesTheThreeCurrentExchanges(t *testing.T) {
	cfg := mustLoad(t, writeFile(t, oneLeader))
	want := []common.Address{polymarket.CTFExchangeV2, polymarket.NegRiskCTFExchangeV2, polymarket.ExchangeV3}
	if !slices.Equal(cfg.Chain.Exchanges, want) {
		t.Fatalf("chain.exchanges = %v, want %v", cfg.Chain.Exchanges, want)
	}
	if cfg.Live.CTFExchange != polymarket.CTFExchangeV2 || cfg.Live.NegRiskExchange != polymarket.NegRiskCTFExchangeV2 {
		t.Fatalf("signing contracts %s, %s; want the V2 exchanges", cfg.Live.CTFExchange, cfg.Live.NegRiskExchange)
	}
}

// A file in the old form keeps working: it watches the two exchanges it names and no other, and
// signs for them.
func TestOldExchangesSectionStillLoads(t *testing.T) {
	a, b := polymarket.CTFExchangeV1, polymarket.NegRiskCTFExchangeV1
	cfg := mustLoad(t, writeFile(t, oneLeader+"chain:\n  exchanges:\n    ctf: "+a.Hex()+"\n    neg_risk: "+b.Hex()+"\n"))
	if !slices.Equal(cfg.Chain.Exchanges, []common.Address{a, b}) {
		t.Fatalf("chain.exchanges = %v, want only %s and %s", cfg.Chain.Exchanges, a, b)
	}
	if slices.Contains(cfg.Chain.Exchanges, polymarket.ExchangeV3) {
		t.Fatal("the old form watches ExchangeV3, which it does not name")
	}
	if cfg.Live.CTFExchange != a || cfg.Live.NegRiskExchange != b {
		t.Fatalf("signing contracts %s, %s; want %s, %s", cfg.Live.CTFExchange, cfg.Live.NegRiskExchange, a, b)
	}
	// What check-config prints is the new form, and reads back the same.
	again, err := Parse([]byte(cfg.Redacted()))
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(cfg, again); len(d) != 0 {
		t.Fatalf("round trip changed %v", d)
	}
}

func TestExchangesFromTheEnvironment(t *testing.T) {
	t.Setenv("POLYBOT_CHAIN_EXCHANGES", polymarket.CTFExchangeV2.Hex()+", "+polymarket.ExchangeV3.Hex())
	cfg := mustLoad(t, writeFile(t, oneLeader))
	if want := []common.Address{polymarket.CTFExchangeV2, polymarket.ExchangeV3}; !slices.Equal(cfg.Chain.Exchanges, want) {
		t.Fatalf("chain.exchanges = %v, want %v", cfg.Chain.Exchanges, want)
	}
}

// The old environment overrides would be ignored without a word; they are refused, naming the
// variables that replace them.
func TestOldExchangeEnvironmentNamesTheNewKeys(t *testing.T) {
	t.Setenv("POLYBOT_CHAIN_EXCHANGES_CTF", polymarket.CTFExchangeV2.Hex())
	_, _, err := Load(writeFile(t, oneLeader))
	var verr *ValidationError
	if !errors.As(err, &verr) || !verr.Has("POLYBOT_CHAIN_EXCHANGES_CTF") {
		t.Fatalf("Load = %v, want a problem naming POLYBOT_CHAIN_EXCHANGES_CTF", err)
	}
	for _, k := range []string{"POLYBOT_CHAIN_EXCHANGES ", "POLYBOT_LIVE_CTF_EXCHANGE", "live.ctf_exchange"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error does not name %s: %v", k, err)
		}
	}
}
