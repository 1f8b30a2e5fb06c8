package sim

import (
	"github.com/ethereum/go-ethereum/common"
)

// EmitterLog is one log for the emitter contract to emit.
type EmitterLog struct {
	Topics []common.Hash // at most 4, topic0 first
	Data   []byte
}

// EmitterInitCode is creation code that deploys the log emitter polysim places at the exchange
// addresses, so that a real node (geth --dev) can host the same contract: send it in a contract
// creation transaction and use the created address as the exchange.
func EmitterInitCode() []byte {
	n := byte(len(emitterCode))
	init := []byte{
		0x60, n, // PUSH1 n           code length
		0x60, 0x0c, // PUSH1 12       offset of the runtime code in this init code
		0x60, 0x00, // PUSH1 0
		0x39,    // CODECOPY          memory[0:n] = code[12:12+n]
		0x60, n, // PUSH1 n
		0x60, 0x00, // PUSH1 0
		0xf3, // RETURN               deploy memory[0:n]
	}
	return append(init, emitterCode...)
}

// EmitterCalldata is the calldata that makes the emitter emit logs, in order, in one call.
func EmitterCalldata(logs ...EmitterLog) []byte { return encodeRecords(toRecords(logs)) }

// EmitterGas is a gas limit that covers the emitter call emitting logs.
func EmitterGas(logs ...EmitterLog) uint64 {
	recs := toRecords(logs)
	return emitGas(recs, len(encodeRecords(recs)))
}

func toRecords(logs []EmitterLog) []record {
	recs := make([]record, len(logs))
	for i, l := range logs {
		recs[i] = record{topics: l.Topics, data: l.Data}
	}
	return recs
}
