package main

import (
	"fmt"

	"github.com/ethereum/go-ethereum/common"
)

// depositKeyNote tells a deposit-wallet (signature type 3) user how the API key just derived is
// bound, and what the CLOB may still want: every official client binds the key to the owner
// key's address (docs/live-trading.md, "Deposit wallets"), and the CLOB refuses type-3 orders
// under it until Polymarket enables the account (py-clob-client-v2 issues 64, 65; clob-client-v2
// issue 103).
func depositKeyNote(owner, wallet common.Address) string {
	return fmt.Sprintf("note: the API key is bound to the owner key %s, as the official clients bind it; the CLOB takes "+
		"deposit-wallet orders (signature type 3, wallet %s) under it only once Polymarket has enabled API trading for "+
		"the account, else each order is refused with \"the order signer address has to be the address of the API KEY\" "+
		"(docs/live-trading.md, \"Deposit wallets\")", owner.Hex(), wallet.Hex())
}
