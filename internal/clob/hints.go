package clob

import "strings"

// hints tell the user what to do about the CLOB refusals that come from how the account is set
// up rather than from the order: the CLOB's words (as its answers quote them) and the fix.
var hints = []struct{ says, hint string }{
	// Every official client binds the API key to the owner EOA, while a deposit wallet's orders
	// name the wallet as signer (py-clob-client-v2 issues 64, 65, 71, 75, 91; clob-client-v2
	// issues 66, 103). docs/live-trading.md "Deposit wallets" has the record.
	{"the order signer address has to be the address of the api key", "the API key belongs to the owner key's address " +
		"while the order's signer is another address; with live.signature_type 3 (deposit wallet) the CLOB takes such orders " +
		"only once Polymarket has enabled API trading for the account (reported fixed by Polymarket support, " +
		"py-clob-client-v2 issue 64): see docs/live-trading.md, \"Deposit wallets\""},
	// Accounts opened since the V2 cutover must trade from their deposit wallet
	// (py-clob-client-v2 issues 51, 111, 116).
	{"please use the deposit wallet flow", "this account must trade from its deposit wallet: set live.signature_type: 3 " +
		"and live.funder to the deposit wallet's address (polybot preflight shows it)"},
}

// hintFor returns the fix for a known refusal, "" for any other message.
func hintFor(msg string) string {
	m := strings.ToLower(msg)
	for _, h := range hints {
		if strings.Contains(m, h.says) {
			return h.hint
		}
	}
	return ""
}
