package executor

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/broker"
	"github.com/polybot/polybot/internal/store"
)

// This file is the place step's answer to order_version_mismatch: the CLOB refused the order
// as signed for an order version it no longer takes, and the broker re-read GET /version. As
// the official clients do (clob-client-v2 src/client.ts _retryOnVersionUpdate; py-clob-client-v2
// client.py _retry_on_version_update: at most one more attempt, made only when the version
// changed), the copy is signed again for the version the CLOB now wants and sent once more.
// Before it leaves, its intent is pointed at the new order (store.ResignIntent): the refused
// order did not trade, and the intent still stands for this one fill, so a crash in between
// resends or resolves the new order and the decision and intent counts stay exact.

// intentResigner is the store's ResignIntent (store.Store has it).
type intentResigner interface {
	ResignIntent(id store.IntentID, oldHash, newHash common.Hash, newOrder json.RawMessage) error
}

// resign handles a version-mismatch refusal of the order o, whose intent is in. The refusal
// counts toward the CLOB circuit breaker (a CLOB that refuses every order polybot signs is a
// CLOB polybot cannot trade on). It returns what the re-signed order did, or the refusal when
// the copy is not sent again: the broker cannot sign the new version (BUYs stop; exits are
// signed for the last version it could), the version did not change, or the store did not take
// the new order's hash.
func (c *copyRun) resign(o *broker.Order, in *store.Intent, refused error) (broker.Execution, error) {
	rs, ok := c.e.store.(intentResigner)
	if c.e.preparer == nil || o.Prepared == nil || !ok {
		return broker.Execution{}, refused
	}
	again := *o
	again.Prepared = nil
	prep, err := c.e.preparer.Prepare(c.ctx, again)
	if err != nil {
		return broker.Execution{}, fmt.Errorf("%w; not signed again: %v", refused, err)
	}
	if prep.Hash == in.OrderHash {
		return broker.Execution{}, fmt.Errorf("%w; the CLOB's order version did not change, so the copy is not sent again", refused)
	}
	j, err := prep.Journal()
	if err != nil {
		return broker.Execution{}, fmt.Errorf("%w; the re-signed order cannot be journaled: %v", refused, err)
	}
	if err := c.sdo("record the re-signed order", func() error {
		return rs.ResignIntent(c.id, in.OrderHash, prep.Hash, j)
	}); err != nil {
		if errors.Is(err, errAbandoned) {
			return broker.Execution{}, fmt.Errorf("%w; shutdown came before the re-signed order was recorded", refused)
		}
		return broker.Execution{}, fmt.Errorf("%w; the re-signed order was not recorded, so it is not sent: %v", refused, err)
	}
	c.log.Warn("order refused for its order version; the copy is signed for the version the CLOB now announces and sent once more",
		zap.Stringer("refused_order", in.OrderHash), zap.Stringer("order", prep.Hash), zap.Error(refused))
	in.OrderHash, in.Order = prep.Hash, j
	o.Prepared = prep
	// The refusal counts toward the breaker here; the re-sent order's answer is recorded
	// by finish, as every copy's last answer is.
	c.e.breaker.record(c.e.now(), false, verdictOutage, refused)
	return c.e.broker.PlaceOrder(c.ctx, *o)
}
