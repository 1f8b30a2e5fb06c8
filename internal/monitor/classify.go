package monitor

import (
	"errors"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/polybot/polybot/internal/polymarket"
)

// Kind is what a log is to polybot.
type Kind int

const (
	// LeaderFill is an OrderFilled log of a configured exchange whose maker is a leader: a fill
	// to copy.
	LeaderFill Kind = iota
	// OtherEvent is a well-formed log that is not an OrderFilled log.
	OtherEvent
	// Malformed is a log that claims to be OrderFilled but does not decode.
	Malformed
	// OtherExchange is an OrderFilled log from an address that is not a configured exchange.
	OtherExchange
	// OtherMaker is an OrderFilled log of a configured exchange whose maker is not a leader.
	OtherMaker
)

// Verdict is the classification of one log.
type Verdict struct {
	Kind Kind
	// Fill is the decoded fill, for LeaderFill, OtherExchange and OtherMaker; its Nth is not set.
	Fill polymarket.Fill
	// Err says why a Malformed log does not decode.
	Err error
}

// Classify sorts one log out by polybot's leader rule: an OrderFilled log from a configured
// exchange whose maker is a leader is a fill; any other log is ignored, or malformed when it
// does not decode. exchange and leader say whether an address is a configured exchange or a
// leader. It reads nothing else and changes nothing; whether the log was removed by a reorg is
// left to the caller.
func Classify(l *types.Log, exchange, leader func(common.Address) bool) Verdict {
	f, err := polymarket.DecodeOrderFilled(l)
	switch {
	case errors.Is(err, polymarket.ErrNotOrderFilled):
		return Verdict{Kind: OtherEvent}
	case err != nil:
		return Verdict{Kind: Malformed, Err: err}
	case !exchange(f.Exchange):
		return Verdict{Kind: OtherExchange, Fill: f}
	case !leader(f.Maker):
		return Verdict{Kind: OtherMaker, Fill: f}
	}
	return Verdict{Kind: LeaderFill, Fill: f}
}

// classify is Classify with the monitor's exchanges and current leaders.
func (m *Monitor) classify(l *types.Log) Verdict {
	return Classify(l, m.isExchange, m.isLeader)
}

func (m *Monitor) isExchange(a common.Address) bool { return m.exchanges[a] }

func (m *Monitor) isLeader(a common.Address) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Contains(m.leaders, a)
}
