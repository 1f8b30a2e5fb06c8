package broker

import "github.com/ethereum/go-ethereum/common"

// Maker is the address that makes the broker's orders: the funder (proxy, safe or deposit
// wallet), or the signer of an EOA wallet. The exchanges' OrderFilled logs of polybot's own
// orders carry it as maker.
func (b *CLOB) Maker() common.Address { return b.maker }
