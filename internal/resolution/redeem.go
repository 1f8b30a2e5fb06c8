package resolution

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
)

// Redemption contracts and collateral on Polygon: config defaults (live.redeem_*).
var (
	// DefaultRedeemCollateral is the collateral the CTF's outcome tokens are backed by (USDC.e).
	DefaultRedeemCollateral = polymarket.USDCe
	// DefaultNegRiskAdapter redeems neg-risk markets' positions.
	DefaultNegRiskAdapter = polymarket.NegRiskAdapter
)

// redeemABI holds the two redemption entry points polybot calls: the CTF's (standard markets)
// and the NegRiskAdapter's.
var redeemABI = sync.OnceValues(func() (abi.ABI, error) {
	const def = `[
 {"type":"function","name":"redeemPositions","inputs":[{"name":"collateralToken","type":"address"},{"name":"parentCollectionId","type":"bytes32"},{"name":"conditionId","type":"bytes32"},{"name":"indexSets","type":"uint256[]"}],"outputs":[]},
 {"type":"function","name":"redeemNegRisk","inputs":[{"name":"conditionId","type":"bytes32"},{"name":"amounts","type":"uint256[]"}],"outputs":[]}
]`
	a, err := abi.JSON(strings.NewReader(def))
	if err != nil {
		return abi.ABI{}, err
	}
	// The adapter's function is also named redeemPositions; its selector differs by arguments.
	m := a.Methods["redeemNegRisk"]
	a.Methods["redeemNegRisk"] = abi.NewMethod("redeemPositions", "redeemPositions", m.Type, m.StateMutability, m.Constant, m.Payable, m.Inputs, m.Outputs)
	return a, nil
})

// RedeemCalldata is the call that redeems p's shares: on a standard market the CTF's
// redeemPositions(collateral, 0, conditionId, [1<<outcome]), on a neg-risk market the
// NegRiskAdapter's redeemPositions(conditionId, amounts) with p's shares at its outcome slot.
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
	if m.NegRisk {
		amounts := make([]*big.Int, max(m.Slots, m.Outcome+1, 2))
		for i := range amounts {
			amounts[i] = new(big.Int)
		}
		amounts[m.Outcome].SetUint64(p.Resolution.Shares)
		return a.Pack("redeemNegRisk", [32]byte(m.Condition), amounts)
	}
	indexSet := new(big.Int).Lsh(big.NewInt(1), uint(m.Outcome))
	return a.Pack("redeemPositions", collateral, [32]byte{}, [32]byte(m.Condition), []*big.Int{indexSet})
}

// TxClient is what TxRedeemer needs from a node (*ethclient.Client is one).
type TxClient interface {
	PendingNonceAt(ctx context.Context, account common.Address) (uint64, error)
	SuggestGasPrice(ctx context.Context) (*big.Int, error)
	EstimateGas(ctx context.Context, msg ethereum.CallMsg) (uint64, error)
	SendTransaction(ctx context.Context, tx *types.Transaction) error
	ChainID(ctx context.Context) (*big.Int, error)
}

// TxRedeemer redeems from the trading key's own address (signature type 0: the EOA holds the
// outcome tokens), paying gas in the chain's native token.
type TxRedeemer struct {
	Client     TxClient
	Key        *ecdsa.PrivateKey
	Standard   common.Address // contract of standard markets' redeemPositions (the CTF)
	NegRisk    common.Address // contract of neg-risk markets (the NegRiskAdapter)
	Collateral common.Address // collateralToken argument of the CTF call
}

// Redeem signs and sends p's redemption and returns its hash.
func (r *TxRedeemer) Redeem(ctx context.Context, p store.Position) (common.Hash, error) {
	data, err := RedeemCalldata(p, r.Collateral)
	if err != nil {
		return common.Hash{}, err
	}
	to := r.Standard
	if p.Market.NegRisk {
		to = r.NegRisk
	}
	from := crypto.PubkeyToAddress(r.Key.PublicKey)
	chainID, err := r.Client.ChainID(ctx)
	if err != nil {
		return common.Hash{}, fmt.Errorf("chain id: %w", err)
	}
	nonce, err := r.Client.PendingNonceAt(ctx, from)
	if err != nil {
		return common.Hash{}, fmt.Errorf("nonce: %w", err)
	}
	price, err := r.Client.SuggestGasPrice(ctx)
	if err != nil {
		return common.Hash{}, fmt.Errorf("gas price: %w", err)
	}
	gas, err := r.Client.EstimateGas(ctx, ethereum.CallMsg{From: from, To: &to, GasPrice: price, Data: data})
	if err != nil {
		return common.Hash{}, fmt.Errorf("estimate gas of the redemption: %w", err)
	}
	gas += gas / 5 // margin
	tx, err := types.SignNewTx(r.Key, types.LatestSignerForChainID(chainID), &types.LegacyTx{
		Nonce: nonce, GasPrice: price, Gas: gas, To: &to, Data: data,
	})
	if err != nil {
		return common.Hash{}, fmt.Errorf("sign the redemption: %w", err)
	}
	if err := r.Client.SendTransaction(ctx, tx); err != nil {
		return common.Hash{}, fmt.Errorf("send the redemption: %w", err)
	}
	return tx.Hash(), nil
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
