package sim

import (
	"context"
	"errors"
	"fmt"
)

// Reorg replaces the newest depth blocks with a fork from the block below them, as a chain
// reorganisation does: subscribers receive their logs again with removed set, and their emitter
// calls go back to the pool, to be mined again by the next Commit (in a new block, under the
// same transaction hash and log order). Their fills leave Emitted until then. Pending calls
// must be committed first.
func (s *Sim) Reorg(depth int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if len(s.unsent) > 0 {
		return errors.New("reorg: commit the pending emitter calls first")
	}
	head := s.backend.BlockChain().CurrentBlock().Number.Uint64()
	if depth < 1 || uint64(depth) > head {
		return fmt.Errorf("reorg: depth %d outside 1..%d", depth, head)
	}
	base := head - uint64(depth)
	parent := s.backend.BlockChain().GetCanonicalHash(base)

	// The fills of the dropped blocks become pending calls again; the index of the leader's log
	// among its call's logs comes from the receipt.
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	kept := s.emitted[:0:0]
	for _, f := range s.emitted {
		if f.Block <= base {
			kept = append(kept, f)
			continue
		}
		r, err := s.client.TransactionReceipt(ctx, f.TxHash)
		if err != nil {
			return fmt.Errorf("reorg: receipt of %v: %w", f.TxHash, err)
		}
		idx := -1
		for i, l := range r.Logs {
			if l.Index == f.LogIndex {
				idx = i
			}
		}
		if idx < 0 {
			return fmt.Errorf("reorg: log %d not in the receipt of %v", f.LogIndex, f.TxHash)
		}
		s.pending = append(s.pending, pendingTx{hash: f.TxHash, leader: f.Maker, leaderLog: idx, fill: f})
	}
	if err := s.beacon.Fork(parent); err != nil {
		return fmt.Errorf("reorg to block %d: %w", base, err)
	}
	s.emitted = kept
	return nil
}
