package resolution

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/wallet"
)

// Redemption contracts and collateral on Polygon: config defaults (live.redeem_*). Since the
// CLOB V2 cutover accounts trade in pUSD, and their winnings are redeemed through Polymarket's
// collateral adapters, which pay pUSD (polymarket.CtfRedeemAdapter has the sources).
var (
	// DefaultRedeemCollateral is the token the winnings arrive in: pUSD.
	DefaultRedeemCollateral = polymarket.CollateralPUSD
	// DefaultRedeemStandard redeems standard markets' positions: the CtfCollateralAdapter.
	DefaultRedeemStandard = polymarket.CtfRedeemAdapter
	// DefaultRedeemNegRisk redeems neg-risk markets' positions: the NegRiskCtfCollateralAdapter.
	DefaultRedeemNegRisk = polymarket.NegRiskRedeemAdapter
)

// redeemABI holds the redemption entry point polybot calls: the CTF's redeemPositions, which
// both collateral adapters keep (Polymarket/ctf-exchange-v2 src/adapters/CtfCollateralAdapter.sol;
// NegRiskCtfCollateralAdapter inherits it), and the events that prove a redemption paid.
var redeemABI = sync.OnceValues(func() (abi.ABI, error) {
	const def = `[
 {"type":"function","name":"redeemPositions","inputs":[{"name":"collateralToken","type":"address"},{"name":"parentCollectionId","type":"bytes32"},{"name":"conditionId","type":"bytes32"},{"name":"indexSets","type":"uint256[]"}],"outputs":[]},
 {"type":"event","name":"PayoutRedemption","anonymous":false,"inputs":[{"name":"redeemer","type":"address","indexed":true},{"name":"collateralToken","type":"address","indexed":true},{"name":"parentCollectionId","type":"bytes32","indexed":true},{"name":"conditionId","type":"bytes32","indexed":false},{"name":"indexSets","type":"uint256[]","indexed":false},{"name":"payout","type":"uint256","indexed":false}]},
 {"type":"event","name":"NegRiskPayoutRedemption","anonymous":false,"inputs":[{"name":"redeemer","type":"address","indexed":true},{"name":"conditionId","type":"bytes32","indexed":true},{"name":"amounts","type":"uint256[]","indexed":false},{"name":"payout","type":"uint256","indexed":false}]}
]`
	return abi.JSON(strings.NewReader(def))
})

// RedeemCalldata is the call that redeems p's shares: redeemPositions(collateral, 0,
// conditionId, [1<<outcome]). The CTF redeems exactly that index set of the caller's
// positions; the collateral adapters (standard and neg-risk alike) ignore the collateral and
// index sets and redeem the caller's whole balance of the condition's positions.
func RedeemCalldata(p store.Position, collateral common.Address) ([]byte, error) {
	if p.Market == nil || p.Resolution == nil {
		return nil, errors.New("position has no resolved market")
	}
	a, err := redeemABI()
	if err != nil {
		return nil, fmt.Errorf("redemption abi: %w", err)
	}
	m := p.Market
	if m.Outcome < 0 || m.Outcome >= 256 {
		return nil, fmt.Errorf("outcome slot %d out of range", m.Outcome)
	}
	indexSet := new(big.Int).Lsh(big.NewInt(1), uint(m.Outcome))
	return a.Pack("redeemPositions", collateral, [32]byte{}, [32]byte(m.Condition), []*big.Int{indexSet})
}

// Errors of a redemption's receipt check. A reverted or empty redemption is never "winnings
// redeemed": the watcher records it as failed and retries later.
var (
	// ErrNotMined: the transaction has no receipt yet; check again later.
	ErrNotMined = errors.New("redemption transaction not mined yet")
	// ErrRedeemReverted: the receipt's status is failure.
	ErrRedeemReverted = errors.New("redemption transaction reverted")
	// ErrNoPayout: the transaction succeeded but did not pay the funder.
	ErrNoPayout = errors.New("redemption paid nothing")
)

// ReceiptReader reads a transaction's receipt (*ethclient.Client is one); it answers
// ethereum.NotFound while the transaction is not mined.
type ReceiptReader interface {
	TransactionReceipt(ctx context.Context, hash common.Hash) (*types.Receipt, error)
}

// ChainRedeemer redeems through the funder's wallet (wallet.Caller: EOA, proxy, Safe or deposit
// wallet alike) and checks each redemption's receipt.
type ChainRedeemer struct {
	Caller   wallet.Caller
	Receipts ReceiptReader
	Standard common.Address // called for standard markets (the CtfCollateralAdapter)
	NegRisk  common.Address // called for neg-risk markets (the NegRiskCtfCollateralAdapter)
	// Collateral is the token the winnings arrive in (pUSD), also passed as redeemPositions'
	// collateralToken (which the adapters ignore and the CTF uses).
	Collateral common.Address
	// PayoutSources, if not empty, are the contracts whose PayoutRedemption events count (the
	// CTF, the NegRiskAdapter); empty accepts the event from any contract.
	PayoutSources []common.Address
}

// Redeem sends p's redemption and returns its hash (a first report: Confirm checks it).
func (r *ChainRedeemer) Redeem(ctx context.Context, p store.Position) (common.Hash, error) {
	data, err := RedeemCalldata(p, r.Collateral)
	if err != nil {
		return common.Hash{}, err
	}
	return r.Caller.Send(ctx, r.target(p), data)
}

func (r *ChainRedeemer) target(p store.Position) common.Address {
	if p.Market != nil && p.Market.NegRisk {
		return r.NegRisk
	}
	return r.Standard
}

// Confirm reads tx's receipt and returns the collateral it paid the funder. ErrNotMined means
// ask again later; ErrRedeemReverted and ErrNoPayout mean the redemption did not pay.
func (r *ChainRedeemer) Confirm(ctx context.Context, p store.Position, tx common.Hash) (uint64, error) {
	rcpt, err := r.Receipts.TransactionReceipt(ctx, tx)
	if errors.Is(err, ethereum.NotFound) || (err == nil && rcpt == nil) {
		return 0, ErrNotMined
	}
	if err != nil {
		return 0, fmt.Errorf("receipt of %s: %w", tx.Hex(), err)
	}
	if p.Market == nil {
		return 0, errors.New("position has no market")
	}
	return CheckRedemption(rcpt, RedemptionCheck{Funder: r.Caller.Funder(), Called: r.target(p), Collateral: r.Collateral,
		Condition: p.Market.Condition, Sources: r.PayoutSources})
}

// RedemptionCheck is what a redemption's receipt must show.
type RedemptionCheck struct {
	Funder     common.Address   // the address the winnings belong to
	Called     common.Address   // the contract redeemed through: may be the event's redeemer
	Collateral common.Address   // the token that must arrive at Funder
	Condition  common.Hash      // the market redeemed
	Sources    []common.Address // contracts whose PayoutRedemption counts; empty: any
}

// CheckRedemption checks a mined redemption: its status is success, a PayoutRedemption event (the
// CTF's or the NegRiskAdapter's) names the condition with the funder or the contract called as
// redeemer and a payout above zero, and Collateral Transfer events credit the funder. It returns
// the collateral credited.
func CheckRedemption(rcpt *types.Receipt, c RedemptionCheck) (uint64, error) {
	if rcpt.Status != types.ReceiptStatusSuccessful {
		return 0, fmt.Errorf("%w: %s in block %v", ErrRedeemReverted, rcpt.TxHash.Hex(), rcpt.BlockNumber)
	}
	a, err := redeemABI()
	if err != nil {
		return 0, fmt.Errorf("redemption abi: %w", err)
	}
	redeemer := func(h common.Hash) bool {
		addr := common.BytesToAddress(h.Bytes())
		return addr == c.Funder || addr == c.Called
	}
	var payout *big.Int
	credited := new(big.Int)
	for _, l := range rcpt.Logs {
		if len(l.Topics) == 0 {
			continue
		}
		switch l.Topics[0] {
		case polymarket.PayoutRedemptionTopic:
			if len(l.Topics) != 4 || !c.source(l.Address) || !redeemer(l.Topics[1]) {
				continue
			}
			v, err := a.Events["PayoutRedemption"].Inputs.NonIndexed().Unpack(l.Data)
			if err != nil || len(v) != 3 {
				continue
			}
			if cid, ok := v[0].([32]byte); ok && cid == c.Condition {
				if n, ok := v[2].(*big.Int); ok {
					payout = addBig(payout, n)
				}
			}
		case polymarket.NegRiskPayoutRedemptionTopic:
			if len(l.Topics) != 3 || !c.source(l.Address) || !redeemer(l.Topics[1]) || l.Topics[2] != c.Condition {
				continue
			}
			v, err := a.Events["NegRiskPayoutRedemption"].Inputs.NonIndexed().Unpack(l.Data)
			if err != nil || len(v) != 2 {
				continue
			}
			if n, ok := v[1].(*big.Int); ok {
				payout = addBig(payout, n)
			}
		case polymarket.TransferTopic:
			if l.Address != c.Collateral || len(l.Topics) != 3 || common.BytesToAddress(l.Topics[2].Bytes()) != c.Funder || len(l.Data) != 32 {
				continue
			}
			credited.Add(credited, new(big.Int).SetBytes(l.Data))
		}
	}
	switch {
	case payout == nil:
		return 0, fmt.Errorf("%w: %s has no PayoutRedemption of condition %s for %s", ErrNoPayout, rcpt.TxHash.Hex(), c.Condition.Hex(), c.Funder.Hex())
	case payout.Sign() == 0:
		return 0, fmt.Errorf("%w: %s redeemed condition %s with a payout of 0 (does %s hold the winning tokens?)", ErrNoPayout, rcpt.TxHash.Hex(), c.Condition.Hex(), c.Funder.Hex())
	case credited.Sign() == 0:
		return 0, fmt.Errorf("%w: %s paid %s but no %s reached %s", ErrNoPayout, rcpt.TxHash.Hex(), payout, c.Collateral.Hex(), c.Funder.Hex())
	case !credited.IsUint64():
		return 0, fmt.Errorf("%w: %s credited an implausible %s", ErrNoPayout, rcpt.TxHash.Hex(), credited)
	}
	return credited.Uint64(), nil
}

func (c RedemptionCheck) source(addr common.Address) bool {
	return len(c.Sources) == 0 || slices.Contains(c.Sources, addr)
}

func addBig(sum, n *big.Int) *big.Int {
	if sum == nil {
		return new(big.Int).Set(n)
	}
	return sum.Add(sum, n)
}

// CLOBMarkets learns a token's market from the CLOB: the condition id from GET /book's
// "market" field, the outcome slot from the token's index in GET /markets/{condition_id}.
type CLOBMarkets struct {
	Client interface {
		Book(ctx context.Context, tokenID string) (*clob.Book, error)
		ConditionMarket(ctx context.Context, conditionID string) (*clob.ConditionMarket, error)
	}
	// Labels, if set, learns the question and outcomes of every market read.
	Labels *Labels
	// Known, if set, holds the condition ids the broker read from the books: a token found
	// there needs no GET /book, which a closed market answers with 404.
	Known *Conditions
}

// MarketOf implements MarketSource.
func (c CLOBMarkets) MarketOf(ctx context.Context, token string) (store.Market, error) {
	cid, negRisk, known := c.Known.Of(token)
	if !known {
		b, err := c.Client.Book(ctx, token)
		if err != nil {
			return store.Market{}, fmt.Errorf("book of %s: %w", token, err)
		}
		cid, negRisk = b.Market, b.NegRisk
	}
	if len(cid) != 66 || !strings.HasPrefix(cid, "0x") {
		return store.Market{}, fmt.Errorf("book of %s: market %q is not a condition id", token, cid)
	}
	m, err := c.Client.ConditionMarket(ctx, cid)
	if err != nil {
		return store.Market{}, fmt.Errorf("market %s: %w", cid, err)
	}
	c.Labels.Learn(m)
	for i, t := range m.Tokens {
		if t.TokenID == token {
			return store.Market{Condition: common.HexToHash(cid), Outcome: i, Slots: len(m.Tokens), NegRisk: negRisk || m.NegRisk}, nil
		}
	}
	return store.Market{}, fmt.Errorf("market %s does not list token %s", cid, token)
}
