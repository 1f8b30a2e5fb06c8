package sim

import (
	"encoding/binary"

	"github.com/ethereum/go-ethereum/common"
)

// emitterCode is the runtime code polysim places at every exchange address. It has no ABI and no
// selector: the calldata is a sequence of records, and the contract emits one log per record, in
// order, so a single transaction carries a whole match (maker fills, the taker fill, OrdersMatched)
// with increasing log indexes. A record is
//
//	word 0          n, the number of topics (0 to 4; more reverts the whole call)
//	word 1          L, the data length in bytes
//	words 2..2+n-1  the topics, topic0 first
//	L bytes         the data, unpadded
//
// and the next record starts right after the data. The code was assembled by hand; the listing
// below is its disassembly, with the stack (top first) after each instruction where it helps.
// Stack names: p = record offset, n = topic count, L = data length, t = offset of the first
// topic, d = offset of the data, next = offset of the next record.
var emitterCode = []byte{
	0x60, 0x00, // 0000        PUSH1 0x00             p = 0: offset of the current record
	0x5b,       // 0002 loop:  JUMPDEST               [p]
	0x36,       // 0003        CALLDATASIZE           [size p]
	0x81,       // 0004        DUP2                   [p size p]
	0x10,       // 0005        LT                     [p<size p]
	0x15,       // 0006        ISZERO                 [p>=size p]
	0x60, 0x9f, // 0007        PUSH1 0x9f (done)
	0x57,       // 0009        JUMPI                  no record left: stop; [p]
	0x80,       // 000a        DUP1                   [p p]
	0x35,       // 000b        CALLDATALOAD           [n p]  n = topic count
	0x81,       // 000c        DUP2                   [p n p]
	0x60, 0x20, // 000d        PUSH1 0x20
	0x01,       // 000f        ADD                    [p+32 n p]
	0x35,       // 0010        CALLDATALOAD           [L n p]  L = data length
	0x91,       // 0011        SWAP2                  [p n L]
	0x60, 0x40, // 0012        PUSH1 0x40
	0x01,       // 0014        ADD                    [t n L]  t = p+64, the first topic
	0x81,       // 0015        DUP2                   [n t n L]
	0x60, 0x05, // 0016        PUSH1 0x05
	0x1b,       // 0018        SHL                    [32n t n L]
	0x81,       // 0019        DUP2                   [t 32n t n L]
	0x01,       // 001a        ADD                    [d t n L]  d = t+32n, the data
	0x83,       // 001b        DUP4                   [L d t n L]
	0x81,       // 001c        DUP2                   [d L d t n L]
	0x60, 0x00, // 001d        PUSH1 0x00             [0 d L d t n L]
	0x37,       // 001f        CALLDATACOPY           memory[0:L] = calldata[d:d+L]; [d t n L]
	0x83,       // 0020        DUP4                   [L d t n L]
	0x01,       // 0021        ADD                    [d+L t n L]  the next record
	0x91,       // 0022        SWAP2                  [n t next L]
	0x80,       // 0023        DUP1
	0x15,       // 0024        ISZERO
	0x60, 0x48, // 0025        PUSH1 0x48 (log0)
	0x57,       // 0027        JUMPI                  n == 0
	0x80,       // 0028        DUP1
	0x60, 0x01, // 0029        PUSH1 0x01
	0x14,       // 002b        EQ
	0x60, 0x51, // 002c        PUSH1 0x51 (log1)
	0x57,       // 002e        JUMPI                  n == 1
	0x80,       // 002f        DUP1
	0x60, 0x02, // 0030        PUSH1 0x02
	0x14,       // 0032        EQ
	0x60, 0x5c, // 0033        PUSH1 0x5c (log2)
	0x57,       // 0035        JUMPI                  n == 2
	0x80,       // 0036        DUP1
	0x60, 0x03, // 0037        PUSH1 0x03
	0x14,       // 0039        EQ
	0x60, 0x6c, // 003a        PUSH1 0x6c (log3)
	0x57,       // 003c        JUMPI                  n == 3
	0x80,       // 003d        DUP1
	0x60, 0x04, // 003e        PUSH1 0x04
	0x14,       // 0040        EQ
	0x60, 0x81, // 0041        PUSH1 0x81 (log4)
	0x57,       // 0043        JUMPI                  n == 4
	0x60, 0x00, // 0044        PUSH1 0x00
	0x80,       // 0046        DUP1
	0xfd,       // 0047        REVERT                 n > 4: revert the whole call
	0x5b,       // 0048 log0:  JUMPDEST               [n t next L]
	0x50,       // 0049        POP                    [t next L]
	0x82,       // 004a        DUP3                   [L t next L]
	0x60, 0x00, // 004b        PUSH1 0x00
	0xa0,       // 004d        LOG0                   log0(memory[0:L]); [t next L]
	0x60, 0x98, // 004e        PUSH1 0x98 (next)
	0x56,       // 0050        JUMP
	0x5b,       // 0051 log1:  JUMPDEST               [n t next L]
	0x50,       // 0052        POP                    [t next L]
	0x80,       // 0053        DUP1
	0x35,       // 0054        CALLDATALOAD           [t0 t next L]
	0x83,       // 0055        DUP4                   [L t0 t next L]
	0x60, 0x00, // 0056        PUSH1 0x00
	0xa1,       // 0058        LOG1                   log1(memory[0:L], t0); [t next L]
	0x60, 0x98, // 0059        PUSH1 0x98 (next)
	0x56,       // 005b        JUMP
	0x5b,       // 005c log2:  JUMPDEST               [n t next L]
	0x50,       // 005d        POP                    [t next L]
	0x80,       // 005e        DUP1
	0x60, 0x20, // 005f        PUSH1 0x20
	0x01,       // 0061        ADD
	0x35,       // 0062        CALLDATALOAD           [t1 t next L]
	0x81,       // 0063        DUP2
	0x35,       // 0064        CALLDATALOAD           [t0 t1 t next L]
	0x84,       // 0065        DUP5                   [L t0 t1 t next L]
	0x60, 0x00, // 0066        PUSH1 0x00
	0xa2,       // 0068        LOG2                   log2(memory[0:L], t0, t1); [t next L]
	0x60, 0x98, // 0069        PUSH1 0x98 (next)
	0x56,       // 006b        JUMP
	0x5b,       // 006c log3:  JUMPDEST               [n t next L]
	0x50,       // 006d        POP                    [t next L]
	0x80,       // 006e        DUP1
	0x60, 0x40, // 006f        PUSH1 0x40
	0x01,       // 0071        ADD
	0x35,       // 0072        CALLDATALOAD           [t2 t next L]
	0x81,       // 0073        DUP2
	0x60, 0x20, // 0074        PUSH1 0x20
	0x01,       // 0076        ADD
	0x35,       // 0077        CALLDATALOAD           [t1 t2 t next L]
	0x82,       // 0078        DUP3
	0x35,       // 0079        CALLDATALOAD           [t0 t1 t2 t next L]
	0x85,       // 007a        DUP6                   [L t0 t1 t2 t next L]
	0x60, 0x00, // 007b        PUSH1 0x00
	0xa3,       // 007d        LOG3                   log3(memory[0:L], t0, t1, t2); [t next L]
	0x60, 0x98, // 007e        PUSH1 0x98 (next)
	0x56,       // 0080        JUMP
	0x5b,       // 0081 log4:  JUMPDEST               [n t next L]
	0x50,       // 0082        POP                    [t next L]
	0x80,       // 0083        DUP1
	0x60, 0x60, // 0084        PUSH1 0x60
	0x01,       // 0086        ADD
	0x35,       // 0087        CALLDATALOAD           [t3 t next L]
	0x81,       // 0088        DUP2
	0x60, 0x40, // 0089        PUSH1 0x40
	0x01,       // 008b        ADD
	0x35,       // 008c        CALLDATALOAD           [t2 t3 t next L]
	0x82,       // 008d        DUP3
	0x60, 0x20, // 008e        PUSH1 0x20
	0x01,       // 0090        ADD
	0x35,       // 0091        CALLDATALOAD           [t1 t2 t3 t next L]
	0x83,       // 0092        DUP4
	0x35,       // 0093        CALLDATALOAD           [t0 t1 t2 t3 t next L]
	0x86,       // 0094        DUP7                   [L t0 t1 t2 t3 t next L]
	0x60, 0x00, // 0095        PUSH1 0x00
	0xa4,       // 0097        LOG4                   log4(memory[0:L], t0, t1, t2, t3); [t next L]
	0x5b,       // 0098 next:  JUMPDEST               [t next L]
	0x50,       // 0099        POP                    [next L]
	0x90,       // 009a        SWAP1                  [L next]
	0x50,       // 009b        POP                    [next]
	0x60, 0x02, // 009c        PUSH1 0x02 (loop)
	0x56, // 009e        JUMP                   p = next
	0x5b, // 009f done:  JUMPDEST
	0x00, // 00a0        STOP
}

// record is one log for the emitter to emit.
type record struct {
	topics []common.Hash
	data   []byte
}

// encodeRecords builds the emitter calldata that emits recs in order.
func encodeRecords(recs []record) []byte {
	size := 0
	for _, r := range recs {
		size += 64 + 32*len(r.topics) + len(r.data)
	}
	out := make([]byte, 0, size)
	var w [32]byte
	for _, r := range recs {
		binary.BigEndian.PutUint64(w[24:], uint64(len(r.topics)))
		out = append(out, w[:]...)
		binary.BigEndian.PutUint64(w[24:], uint64(len(r.data)))
		out = append(out, w[:]...)
		for _, t := range r.topics {
			out = append(out, t[:]...)
		}
		out = append(out, r.data...)
	}
	return out
}

// emitGas is a gas limit that covers a call emitting recs with calldata of size n: intrinsic gas,
// the EIP-7623 calldata floor, the LOG costs, and a generous allowance for the interpreter loop.
func emitGas(recs []record, n int) uint64 {
	gas := uint64(21_000 + 40*n + 10_000)
	for _, r := range recs {
		gas += 375 + 375*uint64(len(r.topics)) + 8*uint64(len(r.data)) + 3*uint64(len(r.data)+31)/32 + 1_000
	}
	return gas
}
