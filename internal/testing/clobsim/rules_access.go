package clobsim

import (
	"net/http"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/polybot/polybot/internal/order"
)

// The CLOB's rules on who may trade what, and when: closed markets, the version of the order
// format, accounts that must use a deposit wallet or may only close positions, and regions that
// may not trade at all. Each cites the public text of the server's answer.

const (
	// A closed market has no book: GET /book (and the routes read from the book) answer 404
	// with the text docs.polymarket.com/resources/error-codes lists for GET /book. A closed
	// market's token gives "No orderbook exists for the requested token id" (py-clob-client
	// issue 123; a market with "closed": true, "enable_order_book": false in
	// JeremyWhittaker/Polymarket_arbitrage issue 1; UMAprotocol/protocol PR 4843 handles the
	// 404 for markets without a live book).
	msgNoBook = "No orderbook exists for the requested token id"
	// An order to a market that is closed, or unknown, is refused before it is read further.
	fmtNoMarket = "market not found for token id %s"
	// Once the CLOB takes another order version (GET /version changed), an order signed for
	// the old one is refused with the bare code: `400 {"error":"order_version_mismatch"}`, as
	// integrations quote it after the 2026-04-28 V2 cutover (polymarket.md §1; py-clob-client
	// issues 335-337).
	msgVersionMismatch = "order_version_mismatch"
	// An account created after the V2 cutover must trade from its deposit wallet (POLY_1271):
	// py-clob-client-v2 issues 51, 111, 116; clob-client issue 305.
	msgDepositWallet = "maker address not allowed, please use the deposit wallet flow"
	// The order's signer must be the address the API key belongs to: py-clob-client-v2 issues
	// 64, 71, 75, 91 (also with POLY_1271, whose signer is the deposit wallet while every
	// official client binds the key to the owner EOA: py-clob-client-v2 issue 65, clob-client-v2
	// issues 66, 103); docs.polymarket.com error codes. AllowDepositWalletKey is the exception.
	msgSignerNotKey = "the order signer address has to be the address of the API KEY"
	// An address in closed-only mode may close positions but not open them:
	// "'{address}' address in closed only mode" (docs.polymarket.com/resources/error-codes,
	// POST /order); GET /auth/ban-status/closed-only reports the flag (py-clob-client
	// get_closed_only_mode). clobsim refuses its BUYs and takes its SELLs.
	fmtClosedOnly = "'%s' address in closed only mode"
	// A geo-blocked region gets HTTP 403 on POST /order, before the request is authenticated
	// (docs.polymarket.com/developers/CLOB/geoblock: "Orders submitted from blocked regions will
	// be rejected"; rs-clob-client PR 63; the body as integrations quote it).
	msgGeoblocked = "Trading restricted in your region, please refer to available regions - https://docs.polymarket.com/developers/CLOB/geoblock"
)

// accessRules are the switches of the rules above; the zero value lets everyone trade.
type accessRules struct {
	closedMarkets map[string]bool // token id -> closed
	depositOnly   map[common.Address]bool
	closedOnly    map[common.Address]bool
	walletKeys    map[common.Address]bool // AllowDepositWalletKey (rules_wallets.go)
	geoblocked    bool
}

// CloseMarket closes tokenID's market: its book and the routes read from it answer 404, orders
// to it are refused, and GET /markets/{condition_id} reports it closed.
func (s *Server) CloseMarket(tokenID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.access.closedMarkets == nil {
		s.access.closedMarkets = map[string]bool{}
	}
	s.access.closedMarkets[tokenID] = true
}

// RequireDepositWallet makes the API key holder addr trade only through its deposit wallet
// (signature type POLY_1271), as accounts created after the V2 cutover must.
func (s *Server) RequireDepositWallet(addr common.Address) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.access.depositOnly == nil {
		s.access.depositOnly = map[common.Address]bool{}
	}
	s.access.depositOnly[addr] = true
}

// SetClosedOnly puts maker in closed-only mode (on) or takes it out.
func (s *Server) SetClosedOnly(maker common.Address, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.access.closedOnly == nil {
		s.access.closedOnly = map[common.Address]bool{}
	}
	s.access.closedOnly[maker] = on
}

// SetGeoblocked makes POST /order answer as it does to a blocked region (on) or not.
func (s *Server) SetGeoblocked(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.access.geoblocked = on
}

// bookLocked returns tokenID's book, nil when the market is unknown or closed.
func (s *Server) bookLocked(tokenID string) *book {
	if s.access.closedMarkets[tokenID] {
		return nil
	}
	return s.books[tokenID]
}

// conditionClosedLocked reports whether a token of the condition's market was closed.
func (s *Server) conditionClosedLocked(conditionID string) bool {
	for id, closed := range s.access.closedMarkets {
		if b := s.books[id]; closed && b != nil && strings.EqualFold(b.ConditionID, conditionID) {
			return true
		}
	}
	return false
}

// geoblocked answers a POST /order from a blocked region; false when the region may trade.
func (s *Server) geoblocked(w http.ResponseWriter) bool {
	s.mu.Lock()
	on := s.access.geoblocked
	s.mu.Unlock()
	if on {
		writeError(w, http.StatusForbidden, msgGeoblocked)
	}
	return on
}

// checkAccess applies the account rules to an order whose signature was checked, signed for
// order version signedFor: the CLOB's order version (rules_version.go), the deposit wallet
// flow, the signer bound to the API key, closed-only.
func (s *Server) checkAccess(o *order.OrderV2, acct Account, signedFor int) *rejection {
	s.mu.Lock()
	version, depositOnly, closedOnly := s.version, s.access.depositOnly[acct.Address], s.access.closedOnly[o.Maker]
	keys := s.signerIsKeysLocked(o, acct)
	s.mu.Unlock()
	if version != signedFor {
		return reject("%s", msgVersionMismatch)
	}
	if depositOnly && o.SignatureType != order.Poly1271 {
		return reject("%s", msgDepositWallet)
	}
	if !keys {
		return reject("%s", msgSignerNotKey)
	}
	if closedOnly && o.Side == order.Buy {
		return reject(fmtClosedOnly, strings.ToLower(o.Maker.Hex()))
	}
	return nil
}

// handleGeoblock stands in for GET https://polymarket.com/api/geoblock, which answers
// {"blocked": bool, "ip": string, "country": string, "region": string} for the caller's IP
// (docs.polymarket.com/api-reference/geoblock: "This endpoint is on polymarket.com, not the API
// servers"; "Orders submitted from blocked regions will be rejected"). It follows SetGeoblocked.
func (s *Server) handleGeoblock(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	on := s.access.geoblocked
	s.mu.Unlock()
	country, region := "IE", "L"
	if on {
		country, region = "US", "NY"
	}
	writeJSON(w, http.StatusOK, map[string]any{"blocked": on, "ip": "127.0.0.1", "country": country, "region": region})
}

// handleClosedOnly answers GET /auth/ban-status/closed-only (L2): {"closed_only": bool}, true
// when the key holder's address or its funder is in closed-only mode (py-clob-client
// get_closed_only_mode, rs-clob-client CLOSED_ONLY; docs.polymarket.com API key operations).
func (s *Server) handleClosedOnly(w http.ResponseWriter, r *http.Request) {
	_, acct, ok := s.authL2(w, r, nil)
	if !ok {
		return
	}
	s.mu.Lock()
	on := s.access.closedOnly[acct.Address]
	if f, ok := s.funders[acct.Address]; ok && s.access.closedOnly[f] {
		on = true
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]bool{"closed_only": on})
}
