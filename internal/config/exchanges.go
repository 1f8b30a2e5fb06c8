package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/polybot/polybot/internal/polymarket"
)

// Keys of the old chain.exchanges section, {ctf, neg_risk}, which named the
// two watched exchanges and also the contracts copies are signed for.
const (
	oldExchangeCTF     = "ctf"
	oldExchangeNegRisk = "neg_risk"
)

// migrateExchanges rewrites the old form of chain.exchanges in the raw file,
//
//	chain: {exchanges: {ctf: A, neg_risk: B}}
//
// into the current one: chain.exchanges [A, B] (watch these two, and no
// other: ExchangeV3 is not added behind the user's back) and
// live.ctf_exchange A, live.neg_risk_exchange B (sign for them). A key the
// old section did not have is reported, naming the new keys.
//
// It returns the problems found and how to rename the keys of later problems
// about the migrated values, so that they name the keys the file has.
func migrateExchanges(raw map[string]any) (problems []Problem, rename map[string]string) {
	chain, ok := raw["chain"].(map[string]any)
	if !ok {
		return nil, nil
	}
	var old map[string]any
	var oldKey string
	for k, v := range chain {
		if m, isMap := v.(map[string]any); isMap && strings.EqualFold(k, "exchanges") {
			old, oldKey = m, k
		}
	}
	if old == nil {
		return nil, nil
	}
	rename = map[string]string{
		"chain.exchanges[0]": "chain.exchanges." + oldExchangeCTF,
		"chain.exchanges[1]": "chain.exchanges." + oldExchangeNegRisk,
	}
	newKeys := "chain.exchanges is now a list of the exchange addresses to watch, and the contracts orders are signed for are live.ctf_exchange and live.neg_risk_exchange"
	vals := map[string]any{}
	keys := make([]string, 0, len(old))
	for k := range old {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch lk := strings.ToLower(k); lk {
		case oldExchangeCTF, oldExchangeNegRisk:
			vals[lk] = old[k]
		default:
			problems = append(problems, Problem{Key: "chain.exchanges." + k, Value: showValue(old[k]),
				Want: "no such key: " + newKeys})
		}
	}
	ctf, neg := any(polymarket.CTFExchangeV2.Hex()), any(polymarket.NegRiskCTFExchangeV2.Hex())
	if v, ok := vals[oldExchangeCTF]; ok {
		ctf = v
	}
	if v, ok := vals[oldExchangeNegRisk]; ok {
		neg = v
	}
	chain[oldKey] = []any{ctf, neg}

	live, _ := raw["live"].(map[string]any)
	if live == nil {
		live = map[string]any{}
		raw["live"] = live
	}
	for _, m := range []struct{ old, new string }{{oldExchangeCTF, "ctf_exchange"}, {oldExchangeNegRisk, "neg_risk_exchange"}} {
		v, set := vals[m.old]
		if !set {
			continue
		}
		if cur, both := lookupFold(live, m.new); both {
			if fmt.Sprint(cur) != fmt.Sprint(v) {
				problems = append(problems, Problem{Key: "chain.exchanges." + m.old, Value: showValue(v),
					Want: "one place for the signing contract: live." + m.new + " is set too (" + showValue(cur) + "); " + newKeys})
			}
			continue
		}
		live[m.new] = v
		rename["live."+m.new] = "chain.exchanges." + m.old
	}
	return problems, rename
}

// renameProblems renames the keys of problems by rename, keeping the first
// problem of each key.
func renameProblems(problems []Problem, rename map[string]string) []Problem {
	if len(rename) == 0 {
		return problems
	}
	seen := map[string]bool{}
	out := problems[:0]
	for _, p := range problems {
		if k, ok := rename[p.Key]; ok {
			p.Key = k
		}
		if !seen[p.Key] {
			seen[p.Key] = true
			out = append(out, p)
		}
	}
	return out
}

func lookupFold(m map[string]any, key string) (any, bool) {
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// oldExchangeEnv reports the environment overrides of the old
// chain.exchanges keys, which would otherwise be ignored without a word.
func oldExchangeEnv(lookup func(string) (string, bool)) []Problem {
	var problems []Problem
	for _, m := range []struct{ old, new string }{{oldExchangeCTF, "CTF_EXCHANGE"}, {oldExchangeNegRisk, "NEG_RISK_EXCHANGE"}} {
		name := EnvPrefix + "_CHAIN_EXCHANGES_" + strings.ToUpper(m.old)
		if v, set := lookup(name); set {
			problems = append(problems, Problem{Key: name, Value: v,
				Want: "no such variable: set " + EnvPrefix + "_CHAIN_EXCHANGES (the comma-separated exchanges to watch, chain.exchanges) and " +
					EnvPrefix + "_LIVE_" + m.new + " (the contract orders are signed for, live." + strings.ToLower(m.new) + ")"})
		}
	}
	return problems
}
