package clob

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
)

// ConditionToken is one outcome token of a market, in the order GET /markets lists them.
type ConditionToken struct {
	TokenID string
	Outcome string
	Winner  bool
}

// ConditionMarket is a market as GET /markets/{condition_id} describes it. Its Tokens are in
// outcome-slot order: Tokens[i] is the token of index set 1<<i.
type ConditionMarket struct {
	ConditionID string
	// Question is the market's question as people read it ("question" in the CLOB's market
	// object: docs.polymarket.com, "Get market"; py-clob-client get_market). "" when absent.
	Question string
	Closed   bool
	NegRisk  bool
	Tokens   []ConditionToken
}

var conditionIDPattern = regexp.MustCompile(`^0x[0-9a-fA-F]{64}$`)

// maxOutcomeTokens bounds the tokens a market answer may list (the CTF allows 256 slots).
const maxOutcomeTokens = 256

// ConditionMarket returns the market of conditionID (GET /markets/{condition_id}).
func (c *Client) ConditionMarket(ctx context.Context, conditionID string) (*ConditionMarket, error) {
	if !conditionIDPattern.MatchString(conditionID) {
		return nil, fmt.Errorf("clob: condition id %q is not a 0x-prefixed 32-byte hex string", conditionID)
	}
	cl := call{method: http.MethodGet, path: "/markets/" + conditionID}
	raw, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	var w struct {
		ConditionID text `json:"condition_id"`
		Question    text `json:"question"`
		Closed      flag `json:"closed"`
		NegRisk     flag `json:"neg_risk"`
		Tokens      []struct {
			TokenID text `json:"token_id"`
			Outcome text `json:"outcome"`
			Winner  flag `json:"winner"`
		} `json:"tokens"`
	}
	if err := decode(cl, raw, &w); err != nil {
		return nil, err
	}
	if len(w.Tokens) == 0 || len(w.Tokens) > maxOutcomeTokens {
		return nil, fmt.Errorf("%w: GET /markets: %d tokens, want 1 to %d", ErrMalformedResponse, len(w.Tokens), maxOutcomeTokens)
	}
	m := &ConditionMarket{ConditionID: string(w.ConditionID), Question: string(w.Question), Closed: bool(w.Closed), NegRisk: bool(w.NegRisk)}
	for i, t := range w.Tokens {
		if err := checkTokenID(string(t.TokenID)); err != nil {
			return nil, fmt.Errorf("%w: GET /markets: tokens[%d]: %v", ErrMalformedResponse, i, err)
		}
		m.Tokens = append(m.Tokens, ConditionToken{TokenID: string(t.TokenID), Outcome: string(t.Outcome), Winner: bool(t.Winner)})
	}
	return m, nil
}
