package sim

import (
	"fmt"
	"maps"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/contracts"
)

// DefaultPUSD is where polysim places its pUSD stand-in: the address of pUSD, CLOB V2's
// collateral, on Polygon (Polymarket/clob-client-v2 v1.1.0 src/config.ts, "collateral" of chain
// 137).
var DefaultPUSD = polymarket.CollateralPUSD

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
	// DepositWallets are placed in the genesis allocation with their pUSD (Options.PUSD's
	// stand-in, which they bring in when it is not asked for).
	DepositWallets []DepositWallet
}

// allocWallets adds the deposit wallets to alloc and their pUSD to o.PUSD's balances (creating
// it when needed); it runs before placeGenesis places pUSD.
func (o *Options) allocWallets(alloc types.GenesisAlloc) error {
	if len(o.DepositWallets) == 0 {
		return nil
	}
	// A copy: the caller's Options keep the balances they gave.
	pusd := PUSD{Balances: make(map[common.Address]*big.Int)}
	if o.PUSD != nil {
		pusd.Allowances = o.PUSD.Allowances
		maps.Copy(pusd.Balances, o.PUSD.Balances)
	}
	o.PUSD = &pusd
	for _, w := range o.DepositWallets {
		if w.Owner == (common.Address{}) || w.Address == (common.Address{}) {
			return fmt.Errorf("deposit wallet %s of %s: owner and address must both be set", w.Address.Hex(), w.Owner.Hex())
		}
		if w.PUSD < 0 {
			return fmt.Errorf("deposit wallet %s: pUSD %d must not be negative", w.Address.Hex(), w.PUSD)
		}
		if _, taken := alloc[w.Address]; taken || w.Address == DefaultPUSD {
			return fmt.Errorf("deposit wallet %s: the address already holds an account; give a distinct address", w.Address.Hex())
		}
		acct, err := contracts.DepositWalletAccount(w.Owner)
		if err != nil {
			return err
		}
		alloc[w.Address] = acct
		held := o.PUSD.Balances[w.Address]
		if held == nil {
			held = new(big.Int)
		}
		o.PUSD.Balances[w.Address] = new(big.Int).Add(held, big.NewInt(w.PUSD))
	}
	return nil
}

// shortString is Solidity's storage of a string under 32 bytes: the bytes, then length*2.
func shortString(s string) common.Hash {
	var h common.Hash
	copy(h[:], s)
	h[31] = byte(2 * len(s))
	return h
}

// PUSD is the address of the pUSD stand-in (zero when neither Options.PUSD nor a deposit
// wallet asked for it).
func (s *Sim) PUSD() common.Address {
	if s.opts.PUSD == nil {
		return common.Address{}
	}
	return DefaultPUSD
}

// attach is an in-process RPC client of the sim's node (no socket): what the fake CLOB calls
// the deposit wallets through. Close it when done.
func (s *Sim) attach() *ethclient.Client { return ethclient.NewClient(s.stack.Attach()) }

// FunderFile is the file, beside the key and the API credentials in CLOBOptions.CredsDir, that
// holds the address the trading account trades from (one line): its key's address or its wallet
// (CLOBOptions.Wallet). The demo reads it into live.funder, and SignatureTypeFile into
// live.signature_type.
const FunderFile = "polybot-funder"

// Funder is where the trading account's funds are: its wallet with CLOBOptions.Wallet, else its
// key's address.
func (c *CLOB) Funder() common.Address { return c.funder }

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

// placedDepositWallet is the deposit wallet Options.DepositWallets placed for owner, if any.
func (s *Sim) placedDepositWallet(owner common.Address) (common.Address, bool) {
	for _, w := range s.opts.DepositWallets {
		if w.Owner == owner {
			return w.Address, true
		}
	}
	return common.Address{}, false
}
