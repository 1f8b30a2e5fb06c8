package resolution

import (
	"sync"
	"unicode/utf8"

	"github.com/polybot/polybot/internal/clob"
)

// Label is what a person reads for an outcome token: its market's question and the token's
// outcome ("Will it rain in Paris on 1 May?", "Yes"), as GET /markets/{condition_id} gives them.
type Label struct {
	Question string
	Outcome  string
}

// maxLabelBytes bounds each text kept: the CLOB's answer is not trusted to be short.
const maxLabelBytes = 200

// Labels are the labels of the tokens whose market the watcher learned (CLOBMarkets), kept for
// the copy log lines: reading one makes no network call. At most max tokens are kept. Safe for
// concurrent use.
type Labels struct {
	mu  sync.RWMutex
	max int
	m   map[string]Label
}

// NewLabels returns an empty table of at most max tokens (max ≤ 0: 10,000).
func NewLabels(max int) *Labels {
	if max <= 0 {
		max = 10_000
	}
	return &Labels{max: max, m: make(map[string]Label)}
}

// Label is token's label; false when its market is not known.
func (l *Labels) Label(token string) (question, outcome string, ok bool) {
	if l == nil {
		return "", "", false
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	v, ok := l.m[token]
	return v.Question, v.Outcome, ok
}

// Learn records the labels of every token of m. A full table drops other tokens' labels first.
func (l *Labels) Learn(m *clob.ConditionMarket) {
	if l == nil || m == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range m.Tokens {
		if _, ok := l.m[t.TokenID]; !ok && len(l.m) >= l.max {
			for k := range l.m {
				delete(l.m, k)
				break
			}
		}
		l.m[t.TokenID] = Label{Question: clip(m.Question), Outcome: clip(t.Outcome)}
	}
}

// Len is the number of tokens labelled.
func (l *Labels) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.m)
}

func clip(s string) string {
	if len(s) <= maxLabelBytes {
		return s
	}
	s = s[:maxLabelBytes]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "…"
}
