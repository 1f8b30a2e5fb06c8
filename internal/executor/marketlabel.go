package executor

import "go.uber.org/zap"

// marketFields are the question and outcome of token for a copy's log lines, when the market
// is known (Options.MarketLabel); none otherwise. Reading them makes no network call.
func (e *Executor) marketFields(token string) []zap.Field {
	if e.marketLabel == nil {
		return nil
	}
	q, o, ok := e.marketLabel(token)
	if !ok {
		return nil
	}
	return []zap.Field{zap.String("question", q), zap.String("outcome", o)}
}
