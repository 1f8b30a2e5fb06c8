package polymarket

// ApplyLeaderFill moves a leader's position in one token by a fill of shares on side. before
// and held are the position as tracked (held false: none). It returns the position after, keep
// (false: forget the position), and known (false when the fill cannot be accounted for: a
// SELL of more than the leader was seen to hold, an overflowing BUY, an unknown side).
func ApplyLeaderFill(side Side, before uint64, held bool, shares uint64) (after uint64, keep, known bool) {
	switch side {
	case Buy:
		after = before + shares
		if after < before { // overflow: a hostile amount; forget rather than wrap
			return 0, false, false
		}
		return after, after > 0, true
	case Sell:
		if !held || shares > before {
			return 0, false, false
		}
		return before - shares, before > shares, true
	}
	return before, held, false
}
