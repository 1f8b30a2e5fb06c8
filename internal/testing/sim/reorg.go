package sim

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// Reorg replaces the newest depth blocks with a fork from the block below them, as a chain
// reorganisation does: subscribers receive their logs again with removed set, and their emitter
// calls go back to the pool, to be mined again by the next Commit (in a new block, under the
// same transaction hash and log order). Their fills leave Emitted until then. Pending calls
// must be committed first.
func (s *Sim) Reorg(depth int) error { return s.reorg(depth, false) }

// ReorgReplacing is Reorg where the fork's next block includes, instead of each emitter call of
// the dropped blocks, another transaction of the same sender with the same nonce (a plain
// transfer at a higher fee): the calls can never be mined again and their fills are gone for
// good. This is how a reorg removes a transaction for good on a real chain: the fork holds a
// transaction that spends its nonce (go-ethereum's pool drops a transaction whose nonce is
// below the sender's, core/txpool/legacypool "demoteUnexecutables"; a same-nonce replacement
// must pay at least 10% more, legacypool's PriceBump default). It returns the replaced calls.
func (s *Sim) ReorgReplacing(depth int) ([]common.Hash, error) {
	if err := s.reorg(depth, true); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.replaced
	s.replaced = nil
	return out, nil
}

func (s *Sim) reorg(depth int, replace bool) error {
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
		if !replace {
			s.pending = append(s.pending, pendingTx{hash: f.TxHash, leader: f.Maker, leaderLog: idx, fill: f})
			continue
		}
		if slices.Contains(s.replaced, f.TxHash) {
			continue // a call with two leader fills is replaced once
		}
		tx, _, err := s.client.TransactionByHash(ctx, f.TxHash)
		if err != nil {
			return fmt.Errorf("reorg: transaction %v: %w", f.TxHash, err)
		}
		self := crypto.PubkeyToAddress(s.key.PublicKey)
		bump := func(v *big.Int) *big.Int { return new(big.Int).Lsh(v, 1) } // twice: past the 10% bump
		rep, err := types.SignNewTx(s.key, s.signer, &types.DynamicFeeTx{ChainID: s.chainID, Nonce: tx.Nonce(),
			GasTipCap: bump(tx.GasTipCap()), GasFeeCap: bump(tx.GasFeeCap()), Gas: 21_000, To: &self})
		if err != nil {
			return fmt.Errorf("reorg: sign the replacement of %v: %w", f.TxHash, err)
		}
		s.unsent = append(s.unsent, rep)
		s.replaced = append(s.replaced, f.TxHash)
	}
	if err := s.beacon.Fork(parent); err != nil {
		return fmt.Errorf("reorg to block %d: %w", base, err)
	}
	s.emitted = kept
	if replace {
		// The pool takes the fork's head asynchronously; until then it reads the replacements'
		// nonces as spent. Wait for it, so that the next Commit's submit finds them executable.
		if err := s.backend.TxPool().Sync(); err != nil {
			return fmt.Errorf("reorg: sync pool: %w", err)
		}
	}
	return nil
}
