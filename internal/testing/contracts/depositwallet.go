package contracts

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

// DepositWalletMagic is what a deposit wallet's isValidSignature returns for a signature its
// owner made (ERC-1271: bytes4(keccak256("isValidSignature(bytes32,bytes)"))).
var DepositWalletMagic = [4]byte{0x16, 0x26, 0xba, 0x7e}

// DepositWalletAccount is the genesis-allocation entry of a DepositWallet stand-in owned by owner:
// the deployed code and the owner in storage slot 0 (the batch nonce in slot 1 starts at zero).
// Place it at the wallet's address (on Polygon, the factory's CREATE2 address for the owner).
func DepositWalletAccount(owner common.Address) (types.Account, error) {
	a, err := Load("DepositWallet")
	if err != nil {
		return types.Account{}, err
	}
	code, err := a.Runtime(owner)
	if err != nil {
		return types.Account{}, fmt.Errorf("deposit wallet of %s: %w", owner.Hex(), err)
	}
	return types.Account{
		Code:    code,
		Balance: new(big.Int),
		Storage: map[common.Hash]common.Hash{{}: common.BytesToHash(owner.Bytes())},
	}, nil
}
