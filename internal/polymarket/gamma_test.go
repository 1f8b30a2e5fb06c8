package polymarket

import (
	"errors"
	"testing"
)

func TestParseGammaMarketMapsTheOutcomeIDs(t *testing.T) {
	for _, c := range []struct {
		name, json, version string
		want                []string
	}{
		{"a V1 market lists them as clobTokenIds, a JSON string holding an array",
			`{"conditionId":"0xc1","clobTokenIds":"[\"111\", \"222\"]"}`, GammaV1, []string{"111", "222"}},
		{"a V2 market lists them as positionIds",
			`{"conditionId":"0xc2","version":"v2","positionIds":"[\"333\",\"444\"]","clobTokenIds":"[\"1\",\"2\"]"}`, GammaV2, []string{"333", "444"}},
		{"positionIds as a plain array",
			`{"version":"v2","positionIds":["555",666]}`, GammaV2, []string{"555", "666"}},
		{"a V2 market without positionIds falls back to clobTokenIds",
			`{"version":"V2","clobTokenIds":"[\"777\",\"888\"]"}`, GammaV2, []string{"777", "888"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseGammaMarket([]byte(c.json))
			if err != nil {
				t.Fatal(err)
			}
			if m.Version != c.version || len(m.TokenIDs) != len(c.want) {
				t.Fatalf("got %+v, want version %s ids %v", m, c.version, c.want)
			}
			for i, w := range c.want {
				if m.TokenIDs[i].String() != w {
					t.Fatalf("id %d = %s, want %s", i, m.TokenIDs[i], w)
				}
			}
		})
	}
}

func TestParseGammaMarketRefusesBadMarkets(t *testing.T) {
	for name, in := range map[string]string{
		"no ids":          `{"version":"v2"}`,
		"unknown version": `{"version":"v9","clobTokenIds":"[\"1\"]"}`,
		"empty list":      `{"clobTokenIds":"[]"}`,
		"not a number":    `{"version":"v2","positionIds":["0xabc"]}`,
		"negative":        `{"clobTokenIds":["-1"]}`,
		"not json":        `{"clobTokenIds":`,
		"too large": `{"clobTokenIds":["` +
			"1157920892373161954235709850086879078532699846656405640394575840079131296399360" + `"]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseGammaMarket([]byte(in)); !errors.Is(err, ErrGammaMarket) {
				t.Fatalf("ParseGammaMarket(%s) = %v, want ErrGammaMarket", in, err)
			}
		})
	}
}
