package executor

import (
	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/polymarket"
)

// OwnFills is the chain's record of polybot's own fills: the exchanges' OrderFilled logs whose
// maker is polybot's trading address (the funder), read bound to their blocks. The CLOB's
// answers about an order are first reports; this is the ledger that confirms or corrects them.
// internal/ownfills implements it.
type OwnFills interface {
	// Of returns the on-chain fills of the order with this hash that the ledger has read so
	// far, and the newest block it has read through (every block up to and including it was
	// read in a way bound to that block). A fill the ledger has not read yet is absent: absence
	// means "not filled" only for blocks up to through.
	Of(orderHash common.Hash) (fills []polymarket.Fill, through uint64)
}
