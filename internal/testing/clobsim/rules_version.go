package clobsim

import (
	"context"
	"github.com/ethereum/go-ethereum/common"
	"slices"

	"github.com/polybot/polybot/internal/order"
)

// The CLOB's order version. GET /version announces the version of the signed order the CLOB
// takes; an order signed for another is refused with order_version_mismatch (rules_access.go).
// The official clients read GET /version, sign for the version it names, and on
// order_version_mismatch read it again and sign the order once more:
//   - clob-client-v2 src/client.ts (v1.1.0, f3e1a05f): getVersion (GET /version, "version"
//     field, 2 when absent), resolveVersion(forceUpdate) after _isOrderVersionMismatch,
//     _retryOnVersionUpdate (at most two attempts, the second only when the version changed);
//   - py-clob-client-v2 py_clob_client_v2/client.py (b0a97fac): get_version,
//     _is_order_version_mismatch, _retry_on_version_update.
// Version 2 signs for the two V2 exchanges under EIP-712 domain version "2"; version 3 for
// ExchangeV3 under domain version "3", neg-risk or not (clob-client-v2
// src/order-builder/helpers/createOrder.ts: `case 3: exchangeContract =
// contractConfig.exchangeV3`). clobsim knows no other version: while it announces one, every
// order is refused with order_version_mismatch.

// orderDomain is the EIP-712 domain of orders for version on a neg-risk market or not; false
// for a version clobsim does not know.
func (s *Server) orderDomain(version int, negRisk bool) (order.Domain, bool) {
	switch version {
	case 2:
		ex := s.exch.CTF
		if negRisk {
			ex = s.exch.NegRisk
		}
		return order.ExchangeDomain(order.V2, s.chainID, ex), true
	case 3:
		return order.ExchangeDomain(order.V3, s.chainID, s.exch.V3), true
	}
	return order.Domain{}, false
}

// knownVersions are the order versions clobsim can check a signature against.
var knownVersions = []int{2, 3}

// verifyOrder checks the order's signature under the domain of the version the CLOB announces
// and, when that fails, under the other versions': it returns the version the order was signed
// for (0 when none; checkAccess refuses an order not signed for the announced version) and
// its hash under that domain. The rejection is the announced domain's, when no domain fits.
func (s *Server) verifyOrder(o *order.OrderV2, sig []byte, negRisk, protocolV2 bool, acct Account) (int, common.Hash, *rejection) {
	s.mu.Lock()
	announced := s.version
	s.mu.Unlock()
	if protocolV2 {
		// A Protocol V2 position order is signed for ExchangeV3 under domain "3" whatever the
		// announced version (clob-client-v2 positionOrders tests): it is the announced
		// version's order when that is one the CLOB knows.
		d, _ := s.orderDomain(3, negRisk)
		h, err := orderDigest(d.Version, s.chainID, *d.VerifyingContract, o)
		if err != nil {
			return 0, common.Hash{}, reject("%s: %v", msgInvalidPayload, err)
		}
		if rej := s.checkSigner(context.Background(), o, h, sig); rej != nil {
			return 0, h, rej
		}
		if slices.Contains(knownVersions, announced) {
			return announced, h, nil
		}
		return 3, h, nil
	}
	var first *rejection
	var firstHash common.Hash
	try := func(v int) bool {
		d, ok := s.orderDomain(v, negRisk)
		if !ok {
			return false
		}
		h, err := orderDigest(d.Version, s.chainID, *d.VerifyingContract, o)
		if err != nil {
			if first == nil {
				first = reject("%s: %v", msgInvalidPayload, err)
			}
			return false
		}
		rej := s.checkSigner(context.Background(), o, h, sig)
		if rej != nil && first == nil {
			first, firstHash = rej, h
		}
		if rej == nil {
			firstHash = h
		}
		return rej == nil
	}
	if try(announced) {
		return announced, firstHash, nil
	}
	for _, v := range knownVersions {
		if v != announced && try(v) {
			return v, firstHash, nil
		}
	}
	return 0, firstHash, first
}
