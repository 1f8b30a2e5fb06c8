package resolution

import (
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/polybot/polybot/internal/polymarket"
)

// A neg-risk redemption through the NegRiskCtfCollateralAdapter shows the NegRiskAdapter's
// PayoutRedemption (redeemer = the adapter called) and pUSD minted to the funder; polybot
// believes it only for the right condition, redeemer and token. (polysim has no neg-risk
// stand-ins: these receipts are built from the events' signatures.)
func TestANegRiskRedemptionReceiptIsCheckedLikeAStandardOne(t *testing.T) {
	funder, adapter := common.HexToAddress("0xf0"), polymarket.NegRiskRedeemAdapter
	negRisk, cond := polymarket.NegRiskAdapter, common.HexToHash("0xc0de")
	u256 := abi.Type{T: abi.UintTy, Size: 256}
	arr, _ := abi.NewType("uint256[]", "", nil)
	payoutData := func(payout int64) []byte {
		d, err := abi.Arguments{{Type: arr}, {Type: u256}}.Pack([]*big.Int{big.NewInt(payout), big.NewInt(0)}, big.NewInt(payout))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	addrTopic := func(a common.Address) common.Hash { return common.BytesToHash(a.Bytes()) }
	payoutLog := func(redeemer common.Address, c common.Hash, payout int64) *types.Log {
		return &types.Log{Address: negRisk, Topics: []common.Hash{polymarket.NegRiskPayoutRedemptionTopic, addrTopic(redeemer), c}, Data: payoutData(payout)}
	}
	mint := func(token, to common.Address, amount int64) *types.Log {
		return &types.Log{Address: token, Topics: []common.Hash{polymarket.TransferTopic, {}, addrTopic(to)},
			Data: common.LeftPadBytes(big.NewInt(amount).Bytes(), 32)}
	}
	check := RedemptionCheck{Funder: funder, Called: adapter, Collateral: polymarket.CollateralPUSD, Condition: cond,
		Sources: []common.Address{polymarket.ConditionalTokens, negRisk}}
	rcpt := func(status uint64, logs ...*types.Log) *types.Receipt {
		return &types.Receipt{Status: status, Logs: logs}
	}

	if paid, err := CheckRedemption(rcpt(1, payoutLog(adapter, cond, 5e6), mint(polymarket.CollateralPUSD, funder, 5e6)), check); err != nil || paid != 5e6 {
		t.Fatalf("a paying neg-risk redemption: %d %v", paid, err)
	}
	for name, c := range map[string]struct {
		r    *types.Receipt
		want error
	}{
		"reverted":               {rcpt(0), ErrRedeemReverted},
		"another condition":      {rcpt(1, payoutLog(adapter, common.HexToHash("0xbad"), 5e6), mint(polymarket.CollateralPUSD, funder, 5e6)), ErrNoPayout},
		"another redeemer":       {rcpt(1, payoutLog(common.HexToAddress("0xe11"), cond, 5e6), mint(polymarket.CollateralPUSD, funder, 5e6)), ErrNoPayout},
		"a payout of 0":          {rcpt(1, payoutLog(adapter, cond, 0), mint(polymarket.CollateralPUSD, funder, 0)), ErrNoPayout},
		"USDC.e instead of pUSD": {rcpt(1, payoutLog(adapter, cond, 5e6), mint(polymarket.USDCe, funder, 5e6)), ErrNoPayout},
		"pUSD to someone else":   {rcpt(1, payoutLog(adapter, cond, 5e6), mint(polymarket.CollateralPUSD, adapter, 5e6)), ErrNoPayout},
		"an event from an unknown contract": {rcpt(1, func() *types.Log {
			l := payoutLog(adapter, cond, 5e6)
			l.Address = common.HexToAddress("0xfa4e")
			return l
		}(), mint(polymarket.CollateralPUSD, funder, 5e6)), ErrNoPayout},
	} {
		if _, err := CheckRedemption(c.r, check); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}
