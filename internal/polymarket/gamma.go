package polymarket

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Gamma market versions. Gamma marks Protocol V2 markets (traded on ExchangeV3 among others)
// with "version": "v2" and lists their outcome ids as positionIds; other markets list them as
// clobTokenIds.
const (
	GammaV1 = "v1"
	GammaV2 = "v2"
)

// ErrGammaMarket is returned by ParseGammaMarket for a market it cannot read.
var ErrGammaMarket = errors.New("malformed Gamma market")

// GammaMarket is what polybot needs of a Gamma API market: its outcome token ids, the decimal
// token ids that fills, the CLOB and polybot's state all use.
type GammaMarket struct {
	ConditionID string
	// Version is GammaV1 (also for a market without the field) or GammaV2.
	Version string
	// TokenIDs are the outcome token ids in outcome order: positionIds for a V2 market,
	// clobTokenIds otherwise.
	TokenIDs []*big.Int
}

// maxOutcomes bounds the outcome ids of one market.
const maxOutcomes = 64

// ParseGammaMarket reads one market object of the Gamma API. Gamma sends id lists as a JSON
// string holding a JSON array ("[\"123\", \"456\"]"); a plain array of strings or numbers is read
// too, since the shape of positionIds is not documented. A V2 market without positionIds falls
// back to clobTokenIds, and the other way round.
func ParseGammaMarket(b []byte) (GammaMarket, error) {
	var w struct {
		ConditionID  string          `json:"conditionId"`
		Version      string          `json:"version"`
		ClobTokenIDs json.RawMessage `json:"clobTokenIds"`
		PositionIDs  json.RawMessage `json:"positionIds"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return GammaMarket{}, fmt.Errorf("%w: %v", ErrGammaMarket, err)
	}
	m := GammaMarket{ConditionID: w.ConditionID, Version: strings.ToLower(strings.TrimSpace(w.Version))}
	switch m.Version {
	case "":
		m.Version = GammaV1
	case GammaV1, GammaV2:
	default:
		return GammaMarket{}, fmt.Errorf("%w: version %q (known: %s, %s)", ErrGammaMarket, w.Version, GammaV1, GammaV2)
	}
	first, second, firstName, secondName := w.ClobTokenIDs, w.PositionIDs, "clobTokenIds", "positionIds"
	if m.Version == GammaV2 {
		first, second, firstName, secondName = second, first, secondName, firstName
	}
	raw, name := first, firstName
	if isAbsent(raw) {
		raw, name = second, secondName
	}
	if isAbsent(raw) {
		return GammaMarket{}, fmt.Errorf("%w: %s market %s has neither %s nor %s", ErrGammaMarket, m.Version, m.ConditionID, firstName, secondName)
	}
	ids, err := parseIDList(raw)
	if err != nil {
		return GammaMarket{}, fmt.Errorf("%w: %s: %v", ErrGammaMarket, name, err)
	}
	m.TokenIDs = ids
	return m, nil
}

func isAbsent(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null" || s == `""`
}

// parseIDList reads ["1","2"], [1,2] or the string "[\"1\",\"2\"]" into positive 256-bit ids.
func parseIDList(raw json.RawMessage) ([]*big.Int, error) {
	var inner string
	if err := json.Unmarshal(raw, &inner); err == nil {
		raw = json.RawMessage(inner)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, errors.New("not a list of ids")
	}
	if len(items) == 0 || len(items) > maxOutcomes {
		return nil, fmt.Errorf("%d ids, want 1 to %d", len(items), maxOutcomes)
	}
	out := make([]*big.Int, len(items))
	for i, it := range items {
		s := strings.Trim(strings.TrimSpace(string(it)), `"`)
		v, ok := new(big.Int).SetString(s, 10)
		if !ok || v.Sign() <= 0 || v.BitLen() > 256 {
			return nil, fmt.Errorf("id %d (%.80q) is not a positive 256-bit decimal", i, s)
		}
		out[i] = v
	}
	return out, nil
}
