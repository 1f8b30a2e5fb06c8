package sim

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"

	"github.com/polybot/polybot/internal/testing/chainlog"
)

// RedeemAddress is where polysim accepts redemptions: a contract that takes any call and logs
// it (RedemptionTopic, topic1 = the caller, data = the calldata), standing in for the
// Conditional Tokens contract's redeemPositions. polybot's live.redeem_ctf and
// live.redeem_neg_risk point at it in the demo.
var RedeemAddress = common.HexToAddress("0x00000000000000000000000000000000000Ede11")

// RedemptionTopic is topic0 of the log RedeemAddress emits for each call.
var RedemptionTopic = crypto.Keccak256Hash([]byte("PolysimRedemption(address,bytes)"))

// redeemSinkCode logs its calldata: mem[0:size] = calldata; LOG2(0, size, RedemptionTopic, caller).
var redeemSinkCode = func() []byte {
	code := []byte{
		0x36,       // CALLDATASIZE
		0x60, 0x00, // PUSH1 0
		0x60, 0x00, // PUSH1 0
		0x37, // CALLDATACOPY
		0x33, // CALLER
		0x7f, // PUSH32 topic0
	}
	code = append(code, RedemptionTopic.Bytes()...)
	return append(code,
		0x36,       // CALLDATASIZE
		0x60, 0x00, // PUSH1 0
		0xa2, // LOG2
		0x00, // STOP
	)
}()

// ConditionID is the CTF condition of a polysim market: the "market" field of its CLOB book and
// the first argument of the matchOrders calls that trade it. Each polysim token is outcome 0 of
// a two-outcome condition of its own (markets.go).
func ConditionID(token *big.Int) common.Hash {
	return marketOfToken(token).condition
}

// ResolveMarket emits the CTF's ConditionResolution for token's market at the next Commit:
// payouts [1, 0] when the token wins, [0, 1] when it loses. The leaders stop trading it. With
// Options.Payouts the oracle reports the payouts to the CTF stand-in, which emits the event and
// then redeems the market's positions.
func (s *Sim) ResolveMarket(token *big.Int, wins bool) (common.Hash, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return common.Hash{}, ErrClosed
	}
	if _, ok := s.marketsEx[token.String()]; !ok {
		return common.Hash{}, fmt.Errorf("%w: token %s is not a polysim market", ErrBadMatch, token)
	}
	if s.resolved[token.String()] {
		return common.Hash{}, fmt.Errorf("%w: market of token %s is already resolved", ErrBadMatch, token)
	}
	num := []*big.Int{big.NewInt(1), big.NewInt(0)}
	if !wins {
		num[0], num[1] = num[1], num[0]
	}
	m := marketOfToken(token)
	if s.pay != nil {
		// The CTF stand-in emits ConditionResolution itself when the oracle reports.
		h, err := s.resolvePayouts(token, num)
		if err != nil {
			return common.Hash{}, err
		}
		s.resolved[token.String()] = true
		return h, nil
	}
	topics, data := chainlog.Resolution(m.condition, MarketOracle, m.question, num)
	tx, err := s.send(s.opts.CTF, []record{{topics, data}})
	if err != nil {
		return common.Hash{}, err
	}
	s.resolved[token.String()] = true
	return tx.Hash(), nil
}

// Resolved reports whether token's market was resolved.
func (s *Sim) Resolved(token *big.Int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.resolved[token.String()]
}

// Fund sends wei of the chain's native token to addr at the next Commit (gas for a wallet that
// sends transactions, such as polybot's redemptions).
func (s *Sim) Fund(addr common.Address, wei *big.Int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if len(s.unsent) >= maxCallsPerBlock {
		return ErrBacklog
	}
	tip := big.NewInt(params.GWei)
	feeCap := new(big.Int).Add(new(big.Int).Lsh(s.backend.BlockChain().CurrentBlock().BaseFee, 1), tip)
	tx, err := types.SignNewTx(s.key, s.signer, &types.DynamicFeeTx{
		ChainID: s.chainID, Nonce: s.nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: 21_000, To: &addr, Value: wei,
	})
	if err != nil {
		return fmt.Errorf("sign transfer: %w", err)
	}
	s.nonce++
	s.unsent = append(s.unsent, tx)
	return nil
}
