package chain

// SpanGrowAfter is how many eth_getLogs calls in a row must succeed before a halved Span
// doubles again.
const SpanGrowAfter = 8

// Span is the adaptive block range of eth_getLogs calls. A node that refuses a range
// (IsRangeLimited) halves it; after SpanGrowAfter successes in a row it doubles back, up to the
// configured maximum, so one dense stretch of blocks does not leave every later call small.
// A Span is used by one goroutine; its zero value is not usable (use NewSpan).
type Span struct {
	max, cur uint64
	streak   int
}

// NewSpan returns a Span of limit blocks (at least 1).
func NewSpan(limit uint64) *Span {
	blocks := max(limit, 1)
	return &Span{max: blocks, cur: blocks}
}

// Blocks is the number of blocks the next call may cover.
func (s *Span) Blocks() uint64 { return s.cur }

// Max is the configured (largest) range.
func (s *Span) Max() uint64 { return s.max }

// Refused halves the range after the node refused it. It reports false when the range is one
// block already: the refusal is then not about the range, and the caller gives up.
func (s *Span) Refused() bool {
	s.streak = 0
	if s.cur <= 1 {
		return false
	}
	s.cur = max(s.cur/2, 1)
	return true
}

// Succeeded counts a call the node answered; the range doubles, up to Max, after
// SpanGrowAfter successes in a row. It reports whether the range grew.
func (s *Span) Succeeded() bool {
	if s.cur >= s.max {
		s.streak = 0
		return false
	}
	s.streak++
	if s.streak < SpanGrowAfter {
		return false
	}
	s.streak = 0
	s.cur = min(s.cur*2, s.max)
	return true
}
