package main

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/secrets"
)

// What polybot checks about live.funder before it trades: which of the signing key's wallets it
// is (its address follows from the key: CREATE2 for the proxy, the Safe and the deposit wallet),
// whether live.signature_type is that wallet's, whether the wallet is deployed, and what it holds
// and has approved on chain. A funder of another kind or another owner makes every order fail
// (the exchange checks proxy and Safe makers by CREATE2 from the signer, deposit wallets by
// ERC-1271), so that is a config error: exit 78, which systemd does not restart.

// chainReader is what the on-chain checks need from the node (*ethclient.Client is one).
type chainReader interface {
	CodeAt(ctx context.Context, account common.Address, block *big.Int) ([]byte, error)
	CallContract(ctx context.Context, msg ethereum.CallMsg, block *big.Int) ([]byte, error)
}

// walletFinding is what live.funder is to the signing key.
type walletFinding struct {
	owner   common.Address
	funder  common.Address // the address that holds the funds: the owner for an EOA
	wallets polymarket.OwnerWallets
	kind    polymarket.WalletKind
	// detail and fix are set when live.funder or live.signature_type is wrong: what is wrong
	// and the config change that fixes it.
	detail, fix string
}

// problem is the finding as a config error, or nil.
func (f walletFinding) problem() error {
	if f.detail == "" {
		return nil
	}
	return fmt.Errorf("invalid config: %s: %s", f.detail, f.fix)
}

// findWallet tells what cfg's funder is to owner. reader, when not nil, is asked for the
// deposit wallet factory's current beacon (a factory upgrade moves new wallets' addresses).
func findWallet(ctx context.Context, cfg *config.Config, owner common.Address, reader chainReader) walletFinding {
	var beacons []common.Address
	if reader != nil {
		if b, err := factoryBeacon(ctx, reader); err == nil {
			beacons = append(beacons, b)
		}
	}
	w := polymarket.WalletsOf(owner, beacons...)
	f := walletFinding{owner: owner, funder: cfg.Live.Funder, wallets: w, kind: w.KindOf(cfg.Live.Funder)}
	if f.kind == polymarket.WalletEOA {
		f.funder = owner
	}
	st := polymarket.WalletKind(cfg.Live.SignatureType)
	switch {
	case f.kind == polymarket.NotOwnersWallet:
		f.detail = fmt.Sprintf("live.funder %s is none of the wallets of the signing key %s", cfg.Live.Funder.Hex(), owner.Hex())
		f.fix = fmt.Sprintf("set live.funder to the key's wallet that holds the funds (proxy %s, Safe %s, deposit wallet %s; polymarket.com shows it), or use the key that owns %s",
			w.Proxy.Hex(), w.Safe.Hex(), w.Address(polymarket.WalletDeposit).Hex(), cfg.Live.Funder.Hex())
	case st < polymarket.WalletEOA || st > polymarket.WalletDeposit:
		f.detail = fmt.Sprintf("live.signature_type %d is not 0 to 3", cfg.Live.SignatureType)
		f.fix = fmt.Sprintf("set live.signature_type: %d (live.funder is the key's %s)", int(f.kind), f.kind)
	case f.kind != st && f.kind == polymarket.WalletEOA:
		f.detail = fmt.Sprintf("live.signature_type %d (%s) but live.funder %s is the signing key itself", int(st), st, funderText(cfg.Live.Funder))
		f.fix = fmt.Sprintf("set live.funder: %s (the key's %s), or live.signature_type: 0", w.Address(st).Hex(), st)
	case f.kind != st:
		f.detail = fmt.Sprintf("live.signature_type %d (%s) but live.funder %s is the signing key's %s", int(st), st, cfg.Live.Funder.Hex(), f.kind)
		f.fix = fmt.Sprintf("set live.signature_type: %d", int(f.kind))
	}
	return f
}

func funderText(a common.Address) string {
	if a == (common.Address{}) {
		return `""`
	}
	return a.Hex()
}

// factoryBeacon reads DepositWalletFactory.BEACON(); an error when the factory is absent (no
// code: not Polygon) or answers something else than an address.
func factoryBeacon(ctx context.Context, r chainReader) (common.Address, error) {
	code, err := r.CodeAt(ctx, polymarket.DepositWalletFactory, nil)
	if err != nil {
		return common.Address{}, err
	}
	if len(code) == 0 {
		return common.Address{}, errors.New("no deposit wallet factory on this chain")
	}
	out, err := r.CallContract(ctx, ethereum.CallMsg{To: &polymarket.DepositWalletFactory, Data: polymarket.DepositWalletBeaconSelector}, nil)
	if err != nil {
		return common.Address{}, err
	}
	if len(out) != 32 {
		return common.Address{}, fmt.Errorf("BEACON() answered %d bytes", len(out))
	}
	return common.BytesToAddress(out), nil
}

// liveWalletProblem is the daemon's start check, run before anything is traded: in mode live, a
// funder that is not the key's wallet of live.signature_type's kind stops the start with exit 78.
// It needs the chain only when the funder matches none of the derived addresses (to ask the
// deposit wallet factory for a newer beacon).
func liveWalletProblem(ctx context.Context, cfg *config.Config) error {
	if cfg.Mode != config.ModeLive {
		return nil
	}
	key, err := secrets.LoadKey(secrets.KeyOptions{KeyFile: cfg.Live.KeyFile, KeystoreFile: cfg.Live.KeystoreFile, PassphraseFile: cfg.Live.PassphraseFile})
	if err != nil {
		return nil // liveKeyProblem reports it
	}
	owner := crypto.PubkeyToAddress(key.PublicKey)
	f := findWallet(ctx, cfg, owner, nil)
	if f.kind == polymarket.NotOwnersWallet {
		if rpc, err := chain.Dial(ctx, cfg.Chain.RPCURL, cfg.Chain.ChainID, cfg.Chain.DialTimeout); err == nil {
			if r, ok := rpc.(chainReader); ok {
				rctx, cancel := context.WithTimeout(ctx, cfg.Chain.RPCTimeout)
				f = findWallet(rctx, cfg, owner, r)
				cancel()
			}
			rpc.Close()
		}
	}
	if err := f.problem(); err != nil {
		return &exitError{code: exConfig, err: fmt.Errorf("%w (polybot preflight shows every wallet check)", err)}
	}
	return nil
}

// walletChecks are preflight's lines about the funder: its kind, its contract, its pUSD and its
// approvals, read on chain. A wrong funder or signature type is a config failure (exit 78).
func walletChecks(ctx context.Context, cfg *config.Config, owner common.Address) []check {
	var reader chainReader
	if rpc, err := chain.Dial(ctx, cfg.Chain.RPCURL, cfg.Chain.ChainID, cfg.Chain.DialTimeout); err == nil {
		defer rpc.Close()
		reader, _ = rpc.(chainReader)
	}
	rctx, cancel := context.WithTimeout(ctx, cfg.Chain.RPCTimeout)
	defer cancel()
	f := findWallet(rctx, cfg, owner, reader)
	var out []check
	if f.detail != "" {
		c := fail("wallet type", f.detail, f.fix)
		c.config = true
		out = append(out, c)
	} else {
		out = append(out, pass("wallet type", fmt.Sprintf("%s (signature type %d): owner %s, funder %s", f.kind, int(f.kind), owner.Hex(), f.funder.Hex())))
	}
	names := []string{"wallet contract", "funder pusd", "pusd approvals", "ctf approvals"}
	if reader == nil {
		for _, n := range names {
			out = append(out, skip(n, "no RPC connection"))
		}
		return out
	}
	out = append(out, contractCheck(rctx, reader, f))
	out = append(out, pusdChecks(rctx, reader, cfg, f)...)
	return append(out, ctfApprovalCheck(rctx, reader, cfg, f))
}

// contractCheck cross-checks the kind with the code at the funder: a proxy, Safe or deposit
// wallet must be deployed to approve anything, and a deposit wallet to answer isValidSignature.
func contractCheck(ctx context.Context, r chainReader, f walletFinding) check {
	const name = "wallet contract"
	if f.kind == polymarket.WalletEOA || f.kind == polymarket.NotOwnersWallet {
		return skip(name, fmt.Sprintf("%s: no wallet contract to check", f.kind))
	}
	code, err := r.CodeAt(ctx, f.funder, nil)
	if err != nil {
		return fail(name, "read the code at "+f.funder.Hex()+": "+err.Error(), "check chain.rpc_url")
	}
	if len(code) > 0 {
		return pass(name, fmt.Sprintf("%s deployed at %s (%d bytes of code)", f.kind, f.funder.Hex(), len(code)))
	}
	if f.kind == polymarket.WalletDeposit && f.funder == polymarket.DepositWalletUUPS(f.owner) {
		return fail(name, "no contract at "+f.funder.Hex()+": it is the key's legacy (UUPS) deposit wallet address, which the upgraded factory no longer deploys",
			"use the key's current deposit wallet "+f.wallets.Address(polymarket.WalletDeposit).Hex()+" as live.funder (py-builder-relayer-client issue 27: funds sent to the undeployed legacy address cannot be moved by polybot)")
	}
	return fail(name, fmt.Sprintf("no contract at %s: the key's %s is not deployed yet", f.funder.Hex(), f.kind),
		"log in to polymarket.com with this key and finish the account setup: Polymarket deploys the wallet (for free, through its relayer)")
}

// The selectors preflight calls: ERC-20 balanceOf(address) and allowance(address,address),
// ERC-1155 isApprovedForAll(address,address).
var (
	selBalanceOf        = crypto.Keccak256([]byte("balanceOf(address)"))[:4]
	selAllowance        = crypto.Keccak256([]byte("allowance(address,address)"))[:4]
	selIsApprovedForAll = crypto.Keccak256([]byte("isApprovedForAll(address,address)"))[:4]
)

func callWord(ctx context.Context, r chainReader, to common.Address, sel []byte, args ...common.Address) (*big.Int, error) {
	data := append([]byte{}, sel...)
	for _, a := range args {
		data = append(data, common.LeftPadBytes(a.Bytes(), 32)...)
	}
	out, err := r.CallContract(ctx, ethereum.CallMsg{To: &to, Data: data}, nil)
	if err != nil {
		return nil, err
	}
	if len(out) != 32 {
		return nil, fmt.Errorf("answered %d bytes, not one word", len(out))
	}
	return new(big.Int).SetBytes(out), nil
}

// approvalHow says how the funder sends an approval: the key itself for an EOA, polymarket.com
// for a wallet contract (polybot sends no approvals).
func approvalHow(f walletFinding) string {
	if f.kind == polymarket.WalletEOA {
		return "send it from the key's address " + f.owner.Hex() + " (it pays the gas in POL)"
	}
	return "log in to polymarket.com with this key and enable trading: it signs these approvals for the " + f.kind.String() + " " + f.funder.Hex()
}

// pusdChecks read the funder's pUSD balance and its allowance for each trading spender.
func pusdChecks(ctx context.Context, r chainReader, cfg *config.Config, f walletFinding) []check {
	token := polymarket.CollateralPUSD
	code, err := r.CodeAt(ctx, token, nil)
	if err != nil {
		return []check{fail("funder pusd", "read the code at pUSD "+token.Hex()+": "+err.Error(), "check chain.rpc_url"), skip("pusd approvals", "pUSD unreadable")}
	}
	if len(code) == 0 {
		why := fmt.Sprintf("no pUSD contract at %s on chain %d", token.Hex(), cfg.Chain.ChainID)
		return []check{skip("funder pusd", why), skip("pusd approvals", why)}
	}
	var out []check
	bal, err := callWord(ctx, r, token, selBalanceOf, f.funder)
	switch {
	case err != nil:
		out = append(out, fail("funder pusd", "pUSD balanceOf("+f.funder.Hex()+"): "+err.Error(), "check chain.rpc_url"))
	case bal.Sign() == 0:
		out = append(out, fail("funder pusd", "0 pUSD at "+f.funder.Hex(), "deposit pUSD to "+f.funder.Hex()+" (polymarket.com's Deposit, or send pUSD on Polygon)"))
	default:
		out = append(out, pass("funder pusd", units(bigDecimal(bal))+" pUSD at "+f.funder.Hex()))
	}
	var missing, fixes []string
	for _, sp := range polymarket.TradingSpenders(cfg.Live.CTFExchange, cfg.Live.NegRiskExchange) {
		a, err := callWord(ctx, r, token, selAllowance, f.funder, sp)
		if err != nil {
			return append(out, fail("pusd approvals", "pUSD allowance("+f.funder.Hex()+", "+sp.Hex()+"): "+err.Error(), "check chain.rpc_url"))
		}
		if a.Sign() == 0 {
			missing = append(missing, spenderName(cfg, sp))
			fixes = append(fixes, "approve("+sp.Hex()+", 2^256-1) on pUSD "+token.Hex())
		}
	}
	if len(missing) > 0 {
		return append(out, fail("pusd approvals", "no pUSD allowance for "+strings.Join(missing, ", "),
			strings.Join(fixes, "; ")+": "+approvalHow(f)))
	}
	return append(out, pass("pusd approvals", "pUSD approved for both V2 exchanges and the NegRisk Adapter"))
}

// ctfApprovalCheck reads isApprovedForAll on the CTF for each trading operator: SELLs and
// neg-risk conversions move the funder's outcome tokens through them.
func ctfApprovalCheck(ctx context.Context, r chainReader, cfg *config.Config, f walletFinding) check {
	const name = "ctf approvals"
	ctf := cfg.Resolution.CTF
	var missing, fixes []string
	for _, op := range polymarket.TradingSpenders(cfg.Live.CTFExchange, cfg.Live.NegRiskExchange) {
		ok, err := callWord(ctx, r, ctf, selIsApprovedForAll, f.funder, op)
		if err != nil {
			return skip(name, "cannot read isApprovedForAll on the CTF "+ctf.Hex()+" (resolution.ctf): "+err.Error()+"; check the approvals on polygonscan")
		}
		if ok.Sign() == 0 {
			missing = append(missing, spenderName(cfg, op))
			fixes = append(fixes, "setApprovalForAll("+op.Hex()+", true) on the CTF "+ctf.Hex())
		}
	}
	if len(missing) > 0 {
		return fail(name, "outcome tokens not approved for "+strings.Join(missing, ", "), strings.Join(fixes, "; ")+": "+approvalHow(f))
	}
	return pass(name, "outcome tokens approved for both V2 exchanges and the NegRisk Adapter")
}

func spenderName(cfg *config.Config, a common.Address) string {
	switch a {
	case cfg.Live.CTFExchange:
		return "the CTF exchange " + a.Hex()
	case cfg.Live.NegRiskExchange:
		return "the neg-risk exchange " + a.Hex()
	case polymarket.NegRiskAdapterTrading:
		return "the NegRisk Adapter " + a.Hex()
	}
	return a.Hex()
}

func bigDecimal(b *big.Int) decimal.Decimal { return decimal.NewFromBigInt(b, 0) }
