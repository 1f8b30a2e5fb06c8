// Package leaktest is the goroutine-leak check of polybot's test packages that run an in-process
// simulated chain: goleak, told about the one goroutine pool go-ethereum starts per process and
// never stops, and given a moment for the chain's goroutines that end just after it closes.
package leaktest

import (
	"time"

	"go.uber.org/goleak"
)

// Options ignores go-ethereum's process-wide transaction sender cache (core.SenderCacher), and
// the simulated node's server side of a newHeads subscription whose client went away as the node
// closed: its Unsubscribe waits on the node's closed event loop for good. Both are goroutines of
// the simulated chain, never of polybot.
var Options = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/ethereum/go-ethereum/core.(*txSenderCacher).cache"),
	goleak.IgnoreTopFunction("github.com/ethereum/go-ethereum/eth/filters.(*FilterAPI).NewHeads.func1.deferwrap1.(*Subscription).Unsubscribe.1"),
	// The same for a logs subscription (eth_subscribe "logs") whose client went away as the node closed.
	goleak.IgnoreTopFunction("github.com/ethereum/go-ethereum/eth/filters.(*FilterAPI).Logs.func1.deferwrap1.(*Subscription).Unsubscribe.1"),
}

// Settle is how long goroutines that end shortly after a simulated chain closes (its p2p node
// database drains its leveldb memory pool for up to a second) may take before goleak looks.
const Settle = 5 * time.Second

// VerifyTestMain runs a package's tests, waits up to Settle for stray goroutines to end, then
// fails the package if any is left. Call it from TestMain.
func VerifyTestMain(m goleak.TestingM) {
	goleak.VerifyTestMain(settled{m}, Options...)
}

type settled struct{ m goleak.TestingM }

func (s settled) Run() int {
	code := s.m.Run()
	for deadline := time.Now().Add(Settle); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if goleak.Find(Options...) == nil {
			break
		}
	}
	return code
}
