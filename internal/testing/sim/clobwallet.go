package sim

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/contracts"
)

// The wallet the CLOB's trading account trades from (CLOBOptions.Wallet). Its address is the one
// Polygon derives from the account's key (polymarket.ProxyWallet, SafeWallet, DepositWallet), and
// the wallet must sit there from the genesis: Options.ProxyOwners, SafeOwners or DepositWallets
// name the key's address. The fake CLOB registers it as the account's funder and holds the
// account's collateral there; the one-time "enable trading" approval (approveAdapter) is sent
// from it, through the path the real wallet has:
//
//	EOA             the key calls the CTF itself
//	proxy           the key calls the proxy wallet factory's proxy([call]), which forwards the
//	                call to the key's wallet (Polymarket/proxy-factories ProxyWalletFactory.sol)
//	Safe            the key sends execTransaction to its 1-of-1 Safe with a pre-validated
//	                signature (v = 1, r = the owner, accepted when the owner sends the
//	                transaction: safe-global/safe-smart-account Safe.sol checkNSignatures)
//	deposit wallet  the key signs the wallet's EIP-712 Batch for its nonce() and sends it to
//	                the wallet (Polymarket/clob-client-v2 v1.1.0
//	                examples/account/approveDepositWalletAllowances.ts signs the same batch and
//	                gives it to Polymarket's relayer; executeBatch is the stand-in's entry point)

// SignatureTypeFile is the file, beside FunderFile in CLOBOptions.CredsDir, that holds the
// trading account's order signature type (0 to 3, one line): the demo reads it into
// live.signature_type.
const SignatureTypeFile = "polybot-signature-type"

// ParseWallet reads a wallet kind as polysim's --clob-wallet takes it: eoa, proxy, safe or
// deposit.
func ParseWallet(s string) (polymarket.WalletKind, error) {
	switch s {
	case "eoa":
		return polymarket.WalletEOA, nil
	case "proxy":
		return polymarket.WalletProxy, nil
	case "safe":
		return polymarket.WalletSafe, nil
	case "deposit":
		return polymarket.WalletDeposit, nil
	}
	return 0, fmt.Errorf("wallet %q: want eoa, proxy, safe or deposit", s)
}

// PlaceWallet adds to o the wallet of kind for owner, at the address Polygon derives for it, so
// that CLOBOptions{Wallet: kind} for owner's key finds it. It returns the wallet's address.
func (o *Options) PlaceWallet(kind polymarket.WalletKind, owner common.Address) (common.Address, error) {
	switch kind {
	case polymarket.WalletEOA:
		return owner, nil
	case polymarket.WalletProxy:
		o.ProxyOwners = append(o.ProxyOwners, owner)
		return polymarket.ProxyWallet(owner), nil
	case polymarket.WalletSafe:
		o.SafeOwners = append(o.SafeOwners, owner)
		return polymarket.SafeWallet(owner), nil
	case polymarket.WalletDeposit:
		addr := polymarket.DepositWallet(owner)
		o.DepositWallets = append(o.DepositWallets, DepositWallet{Owner: owner, Address: addr})
		return addr, nil
	}
	return common.Address{}, fmt.Errorf("wallet kind %d: want 0 (EOA) to 3 (deposit wallet)", int(kind))
}

// clobFunder is where the trading account of owner trades from with a wallet of kind: an
// error when polysim's genesis did not place that wallet.
func (s *Sim) clobFunder(kind polymarket.WalletKind, owner common.Address) (common.Address, error) {
	switch kind {
	case polymarket.WalletEOA:
		return owner, nil
	case polymarket.WalletProxy, polymarket.WalletSafe:
		owners, addr := s.opts.ProxyOwners, polymarket.ProxyWallet(owner)
		if kind == polymarket.WalletSafe {
			owners, addr = s.opts.SafeOwners, polymarket.SafeWallet(owner)
		}
		if !slices.Contains(owners, owner) {
			return common.Address{}, fmt.Errorf("the trading account's %s is not on the chain: place it with Options.PlaceWallet for %s (needs Options.Payouts)",
				kind, owner.Hex())
		}
		return addr, nil
	case polymarket.WalletDeposit:
		if placed, ok := s.placedDepositWallet(owner); ok {
			return placed, nil
		}
		return s.deployDepositWallet(owner)
	}
	return common.Address{}, fmt.Errorf("clob wallet kind %d: want 0 (EOA) to 3 (deposit wallet)", int(kind))
}

// writeWallet writes the funder, then the signature type, beside the key: each file appears
// whole (written aside, then renamed), so a reader that sees SignatureTypeFile finds both.
func (c *CLOB) writeWallet(dir string) error {
	for _, f := range []struct{ name, text string }{{FunderFile, c.funder.Hex()}, {SignatureTypeFile, strconv.Itoa(int(c.kind))}} {
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path+".new", []byte(f.text+"\n"), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

// Wallet is the kind of wallet the trading account trades from (its orders' signature type).
func (c *CLOB) Wallet() polymarket.WalletKind { return c.kind }

// walletCallGas covers a wrapped setApprovalForAll through any of the wallets.
const walletCallGas = 500_000

// sendFromWallet queues the call of `to` with data from the trading account's wallet, through
// the wallet's own path (above), signed and paid by the account's key. s.mu must be held.
func (c *CLOB) sendFromWallet(to common.Address, data []byte) error {
	s := c.sim
	addr := crypto.PubkeyToAddress(c.key.PublicKey)
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	nonce, err := s.client.PendingNonceAt(ctx, addr)
	if err != nil {
		return fmt.Errorf("nonce of %s: %w", addr.Hex(), err)
	}
	target, input := to, data
	switch c.kind {
	case polymarket.WalletProxy:
		type proxyCall struct {
			TypeCode uint8
			To       common.Address
			Value    *big.Int
			Data     []byte
		}
		target = polymarket.ProxyWalletFactory
		input, err = contracts.MustLoad("ProxyWalletFactory").ABI.Pack("proxy", []proxyCall{{TypeCode: 1, To: to, Value: new(big.Int), Data: data}})
	case polymarket.WalletSafe:
		// The pre-validated signature: r = the owner, s = 0, v = 1.
		sig := append(common.LeftPadBytes(addr.Bytes(), 32), make([]byte, 32)...)
		sig = append(sig, 1)
		target = c.funder
		input, err = contracts.MustLoad("GnosisSafe").ABI.Pack("execTransaction", to, new(big.Int), data, uint8(0),
			new(big.Int), new(big.Int), new(big.Int), common.Address{}, common.Address{}, sig)
	case polymarket.WalletDeposit:
		target = c.funder
		input, err = c.depositBatch(ctx, to, data)
	}
	if err != nil {
		return fmt.Errorf("from the %s %s: %w", c.kind, c.funder.Hex(), err)
	}
	_, err = s.queueCall(c.key, &nonce, target, input, walletCallGas, big.NewInt(params.GWei))
	return err
}

// depositBatch is executeBatch([call], deadline, signature) for the deposit wallet, the owner's
// signature over the EIP-712 Batch written from the stand-in's source (DepositWallet.sol) with
// the wallet's own domainSeparator() and nonce() read from the chain. s.mu must be held.
func (c *CLOB) depositBatch(ctx context.Context, to common.Address, data []byte) ([]byte, error) {
	s := c.sim
	dw := contracts.MustLoad("DepositWallet")
	nonce, err := s.callUint(dw, c.funder, "nonce")
	if err != nil {
		return nil, err
	}
	in, err := dw.ABI.Pack("domainSeparator")
	if err != nil {
		return nil, err
	}
	sep, err := s.client.CallContract(ctx, ethereum.CallMsg{To: &c.funder, Data: in}, nil)
	if err != nil || len(sep) != 32 {
		return nil, fmt.Errorf("domainSeparator: %x %v", sep, err)
	}
	// Valid for the 240 s the official example gives a batch, from the head's time.
	deadline := new(big.Int).SetUint64(s.backend.BlockChain().CurrentBlock().Time + 240)
	word := func(b []byte) []byte { return common.LeftPadBytes(b, 32) }
	callHash := crypto.Keccak256(crypto.Keccak256([]byte("Call(address target,uint256 value,bytes data)")), word(to.Bytes()), word(nil), crypto.Keccak256(data))
	batchType := crypto.Keccak256([]byte("Batch(address wallet,uint256 nonce,uint256 deadline,Call[] calls)Call(address target,uint256 value,bytes data)"))
	structHash := crypto.Keccak256(batchType, word(c.funder.Bytes()), word(nonce.Bytes()), word(deadline.Bytes()), crypto.Keccak256(callHash))
	sig, err := crypto.Sign(crypto.Keccak256([]byte{0x19, 0x01}, sep, structHash), c.key)
	if err != nil {
		return nil, err
	}
	sig[64] += 27
	type call struct {
		Target common.Address
		Value  *big.Int
		Data   []byte
	}
	return dw.ABI.Pack("executeBatch", []call{{Target: to, Value: new(big.Int), Data: data}}, deadline, sig)
}
