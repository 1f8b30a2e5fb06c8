package sim

import (
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/polybot/polybot/internal/testing/contracts"
)

// DefaultPUSD is where polysim places its pUSD stand-in when deposit wallets are asked for: the
// address of pUSD, CLOB V2's collateral, on Polygon (Polymarket/clob-client-v2 v1.1.0
// src/config.ts, "collateral" of chain 137).
var DefaultPUSD = common.HexToAddress("0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB")

// DepositWallet asks polysim for a deposit wallet stand-in (contracts/src/DepositWallet.sol) owned
// by Owner at Address from the first block, holding PUSD base units (6 decimals) of pUSD.
// On Polygon, Address is the deposit wallet factory's CREATE2 address for Owner; polysim places
// the wallet wherever it is told.
type DepositWallet struct {
	Owner   common.Address
	Address common.Address
	PUSD    int64
}

// WalletOptions are polysim's wallet options (an embedded part of Options).
type WalletOptions struct {
	// DepositWallets are placed in the genesis allocation with their pUSD.
	DepositWallets []DepositWallet
	// PUSD is where the pUSD stand-in (contracts/src/Token.sol) sits when DepositWallets is not
	// empty; zero means DefaultPUSD.
	PUSD common.Address
}

// Token.sol's storage layout: name (0), symbol (1), totalSupply (2), balanceOf (3).
const (
	tokenNameSlot     = 0
	tokenSymbolSlot   = 1
	tokenSupplySlot   = 2
	tokenBalancesSlot = 3
)

// allocWallets adds the deposit wallets and the pUSD stand-in to alloc; nothing when none are
// asked for.
func (o *WalletOptions) allocWallets(alloc types.GenesisAlloc) error {
	if len(o.DepositWallets) == 0 {
		return nil
	}
	if o.PUSD == (common.Address{}) {
		o.PUSD = DefaultPUSD
	}
	if _, taken := alloc[o.PUSD]; taken {
		return fmt.Errorf("pusd: %s already holds another contract; give a distinct address", o.PUSD.Hex())
	}
	tok, err := contracts.Load("Token")
	if err != nil {
		return err
	}
	code, err := tok.Runtime("Polymarket USD", "pUSD")
	if err != nil {
		return err
	}
	storage := map[common.Hash]common.Hash{
		common.BigToHash(big.NewInt(tokenNameSlot)):   shortString("Polymarket USD"),
		common.BigToHash(big.NewInt(tokenSymbolSlot)): shortString("pUSD"),
	}
	supply := new(big.Int)
	for _, w := range o.DepositWallets {
		if w.Owner == (common.Address{}) || w.Address == (common.Address{}) {
			return fmt.Errorf("deposit wallet %s of %s: owner and address must both be set", w.Address.Hex(), w.Owner.Hex())
		}
		if w.PUSD < 0 {
			return fmt.Errorf("deposit wallet %s: pUSD %d must not be negative", w.Address.Hex(), w.PUSD)
		}
		if _, taken := alloc[w.Address]; taken {
			return fmt.Errorf("deposit wallet %s: the address already holds an account; give a distinct address", w.Address.Hex())
		}
		acct, err := contracts.DepositWalletAccount(w.Owner)
		if err != nil {
			return err
		}
		alloc[w.Address] = acct
		storage[balanceSlot(w.Address)] = common.BigToHash(big.NewInt(w.PUSD))
		supply.Add(supply, big.NewInt(w.PUSD))
	}
	storage[common.BigToHash(big.NewInt(tokenSupplySlot))] = common.BigToHash(supply)
	alloc[o.PUSD] = types.Account{Code: code, Balance: new(big.Int), Storage: storage}
	return nil
}

// balanceSlot is the storage slot of Token.balanceOf[who] (Solidity mappings:
// keccak256(key ‖ slot)).
func balanceSlot(who common.Address) common.Hash {
	return crypto.Keccak256Hash(common.LeftPadBytes(who[:], 32), common.BigToHash(big.NewInt(tokenBalancesSlot)).Bytes())
}

// shortString is Solidity's storage of a string under 32 bytes: the bytes, then length*2.
func shortString(s string) common.Hash {
	var h common.Hash
	copy(h[:], s)
	h[31] = byte(2 * len(s))
	return h
}

// PUSD is the address of the pUSD stand-in (zero when no deposit wallet was asked for).
func (s *Sim) PUSD() common.Address { return s.opts.PUSD }

// attach is an in-process RPC client of the sim's node (no socket): what the fake CLOB calls
// the deposit wallets through. Close it when done.
func (s *Sim) attach() *ethclient.Client { return ethclient.NewClient(s.stack.Attach()) }

// FunderFile is the file, beside the key and the API credentials in CLOBOptions.CredsDir, that
// holds the trading account's deposit wallet address (one line) when CLOBOptions.DepositWallet
// is set: the demo reads it into live.funder.
const FunderFile = "polybot-funder"

// Funder is where the trading account's funds are: its deposit wallet with
// CLOBOptions.DepositWallet, else its key's address.
func (c *CLOB) Funder() common.Address { return c.funder }

func (c *CLOB) writeFunder(dir string) error {
	if c.funder == c.Address() {
		return nil
	}
	path := filepath.Join(dir, FunderFile)
	if err := os.WriteFile(path, []byte(c.funder.Hex()+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// depositWalletGas covers deploying the DepositWallet stand-in.
const depositWalletGas = 2_000_000

// deployDepositWallet queues the creation of a DepositWallet stand-in owned by owner, mined with
// the next block, and returns its address. (DepositWallets in Options places wallets at given
// addresses from genesis; this one is for an owner known only once the chain runs.)
func (s *Sim) deployDepositWallet(owner common.Address) (common.Address, error) {
	code, err := contracts.MustLoad("DepositWallet").Creation(owner)
	if err != nil {
		return common.Address{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return common.Address{}, ErrClosed
	}
	if len(s.unsent) >= maxCallsPerBlock {
		return common.Address{}, ErrBacklog
	}
	tip := big.NewInt(params.GWei)
	feeCap := new(big.Int).Add(new(big.Int).Lsh(s.backend.BlockChain().CurrentBlock().BaseFee, 1), tip)
	tx, err := types.SignNewTx(s.key, s.signer, &types.DynamicFeeTx{
		ChainID: s.chainID, Nonce: s.nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: depositWalletGas, Data: code,
	})
	if err != nil {
		return common.Address{}, fmt.Errorf("sign the deposit wallet's creation: %w", err)
	}
	addr := crypto.CreateAddress(crypto.PubkeyToAddress(s.key.PublicKey), s.nonce)
	s.nonce++
	s.unsent = append(s.unsent, tx)
	return addr, nil
}
