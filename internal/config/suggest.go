package config

import (
	"fmt"
	"slices"
	"strings"
)

// suggest is the known name closest to name, when one is close enough to be what was meant: at
// most a third of its letters differ (a dropped underscore, a swapped or wrong letter).
func suggest(name string, known []string) (string, bool) {
	best, bestD := "", -1
	for _, k := range known {
		d := editDistance(strings.ToLower(name), strings.ToLower(k))
		if bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	return best, bestD >= 0 && bestD <= max(1, len(name)/3)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// unknownWant is the Want of an unknown key: the key it was likely meant to be, then the list.
func unknownWant(name string, known []string) string {
	if s, ok := suggest(name, known); ok {
		return fmt.Sprintf("a known key: did you mean %q? (one of %s)", s, strings.Join(known, ", "))
	}
	return "a known key (typo?): one of " + strings.Join(known, ", ")
}

// envVars is every POLYBOT_ variable that sets a config key, by name.
func envVars() []string {
	var out []string
	for key := range defaultSettings() {
		out = append(out, EnvPrefix+"_"+strings.ToUpper(strings.ReplaceAll(key, ".", "_")))
	}
	slices.Sort(out)
	return out
}

// unknownEnv reports POLYBOT_ variables in environ that set no config key but look meant to:
// their first word names a config section or key (POLYBOT_COPY_COPYRATIO), or they are a
// letter or two from a real one (POLYBOT_STATEDIR). Such a variable would otherwise be ignored
// in silence, and the operator would believe it applied. Variables of polybot's tools and
// tests (POLYBOT_GETH, POLYBOT_SKIP_GETH, …) look like neither and are left alone.
func unknownEnv(environ []string) []Problem {
	known := envVars()
	knownRest := make([]string, len(known))
	for i, k := range known {
		knownRest[i] = strings.TrimPrefix(k, EnvPrefix+"_")
	}
	sections := map[string]bool{}
	for key := range defaultSettings() {
		first, _, _ := strings.Cut(key, ".")
		sections[strings.ToUpper(first)] = true
	}
	var out []Problem
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(name, EnvPrefix+"_")
		if !ok || slices.Contains(known, name) || isOldExchangeEnv(name) {
			continue
		}
		// Compared without the common prefix, which would make every short name look close.
		s, close := suggest(rest, knownRest)
		if !close && !sectionPrefixed(rest, sections) {
			continue
		}
		want := "no such variable (typo?): variables are POLYBOT_ and the key path in upper case, dots as underscores"
		if close {
			want = fmt.Sprintf("no such variable: did you mean %s_%s?", EnvPrefix, s)
		}
		// The value is not shown: a misspelt variable may well hold a secret (an RPC URL with a key).
		out = append(out, Problem{Key: name, Value: "(not shown)", Want: want})
	}
	slices.SortFunc(out, func(a, b Problem) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// sectionPrefixed says whether rest (a variable name after POLYBOT_) starts with a config
// section or top-level key followed by more: COPY_COPYRATIO, MODE_X.
func sectionPrefixed(rest string, sections map[string]bool) bool {
	for s := range sections {
		if strings.HasPrefix(rest, s+"_") || rest == s {
			return true
		}
	}
	return false
}

func isOldExchangeEnv(name string) bool {
	for _, old := range []string{oldExchangeCTF, oldExchangeNegRisk} {
		if name == EnvPrefix+"_CHAIN_EXCHANGES_"+strings.ToUpper(old) {
			return true
		}
	}
	return false
}
