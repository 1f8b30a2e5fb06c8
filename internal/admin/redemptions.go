package admin

import "fmt"

// Redemptions is where the winnings of resolved markets stand (live trading): each counts a
// resolved position with a payout. A redemption is paid only once its receipt showed the
// collateral arriving; Failing ones reverted, paid nothing or were never mined, and are tried
// again later.
type Redemptions struct {
	Waiting  int `json:"waiting"`  // not sent yet
	Checking int `json:"checking"` // sent, receipt not checked yet
	Failing  int `json:"failing"`
	Paid     int `json:"paid"`
	// LastError is the latest failure of a failing redemption, LastErrorToken its token.
	LastError      string `json:"last_error,omitempty"`
	LastErrorToken string `json:"last_error_token,omitempty"`
}

// Line is the status table's line for r.
func (r Redemptions) Line() string {
	s := fmt.Sprintf("%d paid, %d waiting, %d sent and being checked", r.Paid, r.Waiting, r.Checking)
	if r.Failing > 0 {
		s += fmt.Sprintf("; %d FAILING, tried again later (latest, token %s: %s)", r.Failing, r.LastErrorToken, r.LastError)
	}
	return s
}
