package clobsim

import (
	"net/http"
	"sort"
	"strings"
)

// handleMarket answers GET /markets/{condition_id}: the condition's tokens in outcome order.
func (s *Server) handleMarket(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	books := s.conditionBooksLocked(r.PathValue("condition_id"))
	if len(books) == 0 {
		writeError(w, http.StatusNotFound, "market not found")
		return
	}
	tokens := make([]map[string]any, len(books))
	for i, b := range books {
		outcome := b.OutcomeName
		if outcome == "" {
			outcome = b.TokenID
		}
		tokens[i] = map[string]any{"token_id": b.TokenID, "outcome": outcome, "winner": false}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"condition_id": books[0].ConditionID, "question": books[0].Question, "closed": s.conditionClosedLocked(books[0].ConditionID), "neg_risk": books[0].NegRisk, "tokens": tokens,
	})
}

// conditionBooksLocked is the books of the condition id (any case), in outcome order. s.mu held.
func (s *Server) conditionBooksLocked(conditionID string) []*book {
	id := strings.ToLower(conditionID)
	var books []*book
	for _, b := range s.books {
		if strings.ToLower(b.ConditionID) == id {
			books = append(books, b)
		}
	}
	sort.Slice(books, func(i, j int) bool { return books[i].Outcome < books[j].Outcome })
	return books
}
