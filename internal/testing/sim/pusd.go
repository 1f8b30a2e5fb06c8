package sim

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/contracts"
)

// PUSD places pUSD on polysim's chain from the genesis: the Token stand-in
// (internal/testing/contracts/src/Token.sol) at polymarket.CollateralPUSD, where pUSD sits on
// Polygon, with the balances and allowances a test starts from. Anyone may mint more later
// (Token.mint).
type PUSD struct {
	// Balances are the pUSD balances, in base units (6 decimals).
	Balances map[common.Address]*big.Int
	// Allowances are ERC-20 allowances: Allowances[owner][spender] = base units.
	Allowances map[common.Address]map[common.Address]*big.Int
}

// Token.sol's storage layout (solc assigns slots in declaration order): name 0, symbol 1,
// totalSupply 2, balanceOf 3, allowance 4. A mapping's entry for key k at slot p is at
// keccak256(pad32(k) ‖ pad32(p)); allowance[o][s] nests it.
const (
	tokenSlotTotalSupply = 2
	tokenSlotBalanceOf   = 3
	tokenSlotAllowance   = 4
)

func mappingSlot(key common.Address, slot common.Hash) common.Hash {
	return crypto.Keccak256Hash(common.LeftPadBytes(key.Bytes(), 32), slot.Bytes())
}

// account is the genesis account of the pUSD token.
func (p *PUSD) account() (types.Account, error) {
	code, err := contracts.MustLoad("Token").Runtime("Polymarket USD", "pUSD")
	if err != nil {
		return types.Account{}, fmt.Errorf("pusd: %w", err)
	}
	storage := map[common.Hash]common.Hash{
		common.BigToHash(big.NewInt(0)): shortString("Polymarket USD"), // name
		common.BigToHash(big.NewInt(1)): shortString("pUSD"),           // symbol
	}
	total := new(big.Int)
	for holder, amount := range p.Balances {
		if amount == nil || amount.Sign() < 0 {
			return types.Account{}, fmt.Errorf("pusd: balance of %v must not be negative", holder)
		}
		total.Add(total, amount)
		storage[mappingSlot(holder, common.BigToHash(big.NewInt(tokenSlotBalanceOf)))] = common.BigToHash(amount)
	}
	storage[common.BigToHash(big.NewInt(tokenSlotTotalSupply))] = common.BigToHash(total)
	for owner, spenders := range p.Allowances {
		inner := mappingSlot(owner, common.BigToHash(big.NewInt(tokenSlotAllowance)))
		for spender, amount := range spenders {
			if amount == nil || amount.Sign() < 0 {
				return types.Account{}, fmt.Errorf("pusd: allowance of %v for %v must not be negative", owner, spender)
			}
			storage[mappingSlot(spender, inner)] = common.BigToHash(amount)
		}
	}
	return types.Account{Code: code, Storage: storage, Balance: new(big.Int)}, nil
}

// MaxAllowance is the allowance an "approve max" (type(uint256).max) leaves.
var MaxAllowance = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

// placeGenesis adds the accounts of Options.PUSD and Options.Accounts to alloc, refusing any
// that would replace a contract polysim itself places there.
func (o *Options) placeGenesis(alloc types.GenesisAlloc) error {
	for addr, acct := range o.Accounts {
		if _, taken := alloc[addr]; taken {
			return fmt.Errorf("accounts: %v already holds one of polysim's contracts; give another address", addr)
		}
		alloc[addr] = acct
	}
	if o.PUSD != nil {
		if _, taken := alloc[polymarket.CollateralPUSD]; taken {
			return fmt.Errorf("accounts: %v is where pUSD goes; leave it to Options.PUSD", polymarket.CollateralPUSD)
		}
		acct, err := o.PUSD.account()
		if err != nil {
			return err
		}
		alloc[polymarket.CollateralPUSD] = acct
	}
	return nil
}
