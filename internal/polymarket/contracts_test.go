package polymarket

import (
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// ExchangeV3 emits the V2 OrderFilled: its logs decode with the V2 layout and keep its address,
// and the exchange table says its orders are signed under domain version "3".
func TestExchangeV3LogDecodesAsV2(t *testing.T) {
	fills, _ := loadRawLogs(t)
	for _, name := range []string{"v3_exchange_taker_sells_120_yes_for_60_fee_1.25", "v3_exchange_taker_buys_120_yes_for_60_fee_1.25"} {
		r, ok := fills[name]
		if !ok {
			t.Fatalf("testdata/raw-logs.json has no %s", name)
		}
		got := checkRaw(t, r)
		if got.Exchange != ExchangeV3 || got.Version != V2 {
			t.Fatalf("%s decoded %+v", name, got)
		}
		ex, ok := LookupExchange(got.Exchange)
		if !ok || ex.DomainVersion != "3" || ex.Events != V2 || !ex.Current {
			t.Fatalf("LookupExchange(ExchangeV3) = %+v, %v", ex, ok)
		}
	}
}

func TestCurrentExchangesAreTheThreeV2EventExchanges(t *testing.T) {
	want := []common.Address{CTFExchangeV2, NegRiskCTFExchangeV2, ExchangeV3}
	if got := CurrentExchanges(); !slices.Equal(got, want) {
		t.Fatalf("CurrentExchanges = %v, want %v", got, want)
	}
	seen := map[common.Address]bool{}
	for _, e := range Exchanges {
		if seen[e.Address] || e.Address == (common.Address{}) {
			t.Fatalf("exchange %s listed twice or zero", e.Name)
		}
		seen[e.Address] = true
		if e.Current && e.Events != V2 {
			t.Errorf("%s trades today but emits the V%d event", e.Name, e.Events)
		}
	}
	if ex, ok := LookupExchange(CTFExchangeV1); !ok || ex.Events != V1 || ex.Current {
		t.Fatalf("LookupExchange(CTFExchangeV1) = %+v, %v", ex, ok)
	}
}
