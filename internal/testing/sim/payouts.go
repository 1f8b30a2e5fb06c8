package sim

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/contracts"
)

// With Options.Payouts, polysim's chain holds Solidity stand-ins (internal/testing/contracts)
// for the contracts that pay winnings out, at the addresses they have on Polygon:
//
//	the CTF                    ConditionalTokens at Options.CTF (instead of the log emitter):
//	                           ResolveMarket prepares the market's condition and reports its
//	                           payouts as its oracle; positions are credited by CreditPosition
//	USDC.e and pUSD            Token at polymarket.USDCe and polymarket.CollateralPUSD
//	the collateral adapter     CtfCollateralAdapter at polymarket.CtfRedeemAdapter: redeems a
//	                           condition's positions on the CTF and mints the payout in pUSD
//	the proxy wallet factory   ProxyWalletFactory at polymarket.ProxyWalletFactory
//	wallets                    a ProxyWallet for each of Options.ProxyOwners and a 1-of-1
//	                           GnosisSafe for each of Options.SafeOwners, at the address Polygon
//	                           derives from the owner (polymarket.ProxyWallet, SafeWallet)
//
// Each stand-in's source says which real contract it stands for and what it keeps of it.
// Neg-risk markets' adapters are not placed.

// OracleAddress is the oracle of polysim's markets (MarketOracle): ConditionID derives from it,
// and with Options.Payouts it reports the payouts to the CTF stand-in.
var OracleAddress = crypto.PubkeyToAddress(oracleKey.PublicKey)

// oracleKey is a fixed key, so that ConditionID is the same on every polysim chain.
var oracleKey = func() *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("polysim oracle")))
	if err != nil {
		panic(err)
	}
	return k
}()

// proxyOwnerSlot is ProxyWalletLib's _OWNER_SLOT. Its source comment calls it keccak256("owner"),
// which it is not; the literal is what the deployed wallets read.
var proxyOwnerSlot = common.HexToHash("0x734a2a5caf82146a5ddd5263d9af379f9f72724959f0567ddc9df2c40cf2cc20")

// PositionID is the CTF position id of outcome slot `outcome` of token's market on the CTF
// stand-in (USDC.e collateral, no parent collection). The stand-in's collection id is the
// CTF's older keccak rule, so these ids are polysim's own, not Polygon's.
func PositionID(token *big.Int, outcome int) *big.Int {
	indexSet := new(big.Int).Lsh(big.NewInt(1), uint(outcome))
	collection := crypto.Keccak256(ConditionID(token).Bytes(), common.LeftPadBytes(indexSet.Bytes(), 32))
	return new(big.Int).SetBytes(crypto.Keccak256(polymarket.USDCe.Bytes(), collection))
}

// payouts is the state of the payout stand-ins; nil without Options.Payouts.
type payouts struct {
	ctf, adapter, tok contracts.Artifact
	oracleNonce       uint64
}

// placePayouts puts the payout stand-ins and the wallets into the genesis allocation.
func placePayouts(alloc types.GenesisAlloc, opts *Options, admin common.Address) (*payouts, error) {
	p := &payouts{}
	var err error
	for _, l := range []struct {
		a    *contracts.Artifact
		name string
	}{{&p.ctf, "ConditionalTokens"}, {&p.adapter, "CtfCollateralAdapter"}, {&p.tok, "Token"}} {
		if *l.a, err = contracts.Load(l.name); err != nil {
			return nil, err
		}
	}
	place := func(addr common.Address, a contracts.Artifact, storage map[common.Hash]common.Hash, args ...any) error {
		code, err := a.Runtime(args...)
		if err != nil {
			return err
		}
		alloc[addr] = types.Account{Code: code, Storage: storage, Balance: new(big.Int)}
		return nil
	}
	factory, err := contracts.Load("ProxyWalletFactory")
	if err != nil {
		return nil, err
	}
	wallet, err := contracts.Load("ProxyWallet")
	if err != nil {
		return nil, err
	}
	safe, err := contracts.Load("GnosisSafe")
	if err != nil {
		return nil, err
	}
	errs := []error{
		place(opts.CTF, p.ctf, nil),
		place(polymarket.USDCe, p.tok, nil, "USD Coin (PoS)", "USDC.e"),
		place(polymarket.CollateralPUSD, p.tok, nil, "Polymarket USD", "pUSD"),
		place(polymarket.CtfRedeemAdapter, p.adapter, nil, opts.CTF, polymarket.CollateralPUSD, polymarket.USDCe, admin),
		place(polymarket.ProxyWalletFactory, factory, nil),
	}
	for _, owner := range opts.ProxyOwners {
		errs = append(errs, place(polymarket.ProxyWallet(owner), wallet,
			map[common.Hash]common.Hash{proxyOwnerSlot: common.BytesToHash(polymarket.ProxyWalletFactory.Bytes())}))
	}
	for _, owner := range opts.SafeOwners {
		errs = append(errs, place(polymarket.SafeWallet(owner), safe,
			map[common.Hash]common.Hash{{}: common.BytesToHash(owner.Bytes())}))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("place the payout stand-ins: %w", err)
	}
	alloc[OracleAddress] = types.Account{Balance: new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether))}
	return p, nil
}

// CTF is the address of the Conditional Tokens contract (Options.CTF).
func (s *Sim) CTF() common.Address { return s.opts.CTF }

// queueCall signs a call from key with the next of *nonce and queues it for the next Commit.
// tip orders it in its block (the higher, the earlier). s.mu must be held.
func (s *Sim) queueCall(key *ecdsa.PrivateKey, nonce *uint64, to common.Address, data []byte, gas uint64, tip *big.Int) (*types.Transaction, error) {
	if s.closed {
		return nil, ErrClosed
	}
	if len(s.unsent) >= maxCallsPerBlock {
		return nil, ErrBacklog
	}
	feeCap := new(big.Int).Add(new(big.Int).Lsh(s.backend.BlockChain().CurrentBlock().BaseFee, 1), tip)
	tx, err := types.SignNewTx(key, s.signer, &types.DynamicFeeTx{
		ChainID: s.chainID, Nonce: *nonce, GasTipCap: tip, GasFeeCap: feeCap, Gas: gas, To: &to, Data: data,
	})
	if err != nil {
		return nil, fmt.Errorf("sign call: %w", err)
	}
	*nonce++
	s.unsent = append(s.unsent, tx)
	return tx, nil
}

func (s *Sim) needPayouts() error {
	if s.pay == nil {
		return errors.New("polysim was started without Options.Payouts: no payout contracts on its chain")
	}
	return nil
}

// resolvePayouts prepares token's condition on the CTF stand-in and reports num as its oracle,
// at the next Commit. s.mu must be held.
func (s *Sim) resolvePayouts(token *big.Int, num []*big.Int) (common.Hash, error) {
	prep, err := s.pay.ctf.ABI.Pack("prepareCondition", OracleAddress, marketOfToken(token).question, big.NewInt(2))
	if err != nil {
		return common.Hash{}, err
	}
	// The oracle sends both (anyone may prepare a condition), so that its nonces order them.
	if _, err := s.queueCall(oracleKey, &s.pay.oracleNonce, s.opts.CTF, prep, 500_000, big.NewInt(params.GWei)); err != nil {
		return common.Hash{}, err
	}
	report, err := s.pay.ctf.ABI.Pack("reportPayouts", marketOfToken(token).question, num)
	if err != nil {
		return common.Hash{}, err
	}
	tx, err := s.queueCall(oracleKey, &s.pay.oracleNonce, s.opts.CTF, report, 500_000, big.NewInt(params.GWei))
	if err != nil {
		return common.Hash{}, err
	}
	return tx.Hash(), nil
}

// CreditPosition gives holder `shares` of outcome slot `outcome` of token's market on the CTF
// stand-in, at the next Commit, with the USDC.e that backs them paid into the CTF (as a split
// would). Needs Options.Payouts.
func (s *Sim) CreditPosition(holder common.Address, token *big.Int, outcome int, shares uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.needPayouts(); err != nil {
		return err
	}
	return s.creditPosition(holder, token, outcome, shares)
}

// creditPosition is CreditPosition with s.mu held.
func (s *Sim) creditPosition(holder common.Address, token *big.Int, outcome int, shares uint64) error {
	amount := new(big.Int).SetUint64(shares)
	mint, err := s.pay.ctf.ABI.Pack("mintPosition", holder, PositionID(token, outcome), amount)
	if err != nil {
		return err
	}
	back, err := s.pay.tok.ABI.Pack("mint", s.opts.CTF, amount)
	if err != nil {
		return err
	}
	if _, err := s.queueCall(s.key, &s.nonce, s.opts.CTF, mint, 500_000, big.NewInt(params.GWei)); err != nil {
		return err
	}
	_, err = s.queueCall(s.key, &s.nonce, polymarket.USDCe, back, 500_000, big.NewInt(params.GWei))
	return err
}

// approveAdapter has the CLOB's trading account approve the collateral adapter on the CTF
// stand-in (setApprovalForAll) from the wallet it trades from, through that wallet's own path
// (clobwallet.go), as polymarket.com's onboarding does for a new account, once: at its first
// settled trade, when StartCLOB's gas has long been mined and before polybot sends any
// transaction of its own (redemptions come after a resolution). s.mu must be held.
func (c *CLOB) approveAdapter() error {
	if c.approved {
		return nil
	}
	data, err := c.sim.pay.ctf.ABI.Pack("setApprovalForAll", polymarket.CtfRedeemAdapter, true)
	if err != nil {
		return err
	}
	if err := c.sendFromWallet(c.sim.opts.CTF, data); err != nil {
		return fmt.Errorf("approve the adapter: %w", err)
	}
	c.approved = true
	return nil
}

// PauseRedemptions pauses (or unpauses) the collateral adapter stand-in at the next Commit, as
// its admin may on Polygon: its redeemPositions then reverts with OnlyUnpaused(). The call is
// sent with a high tip, so that it is mined before the other transactions of its block.
func (s *Sim) PauseRedemptions(paused bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.needPayouts(); err != nil {
		return err
	}
	method := "unpause"
	if paused {
		method = "pause"
	}
	data, err := s.pay.adapter.ABI.Pack(method, polymarket.USDCe)
	if err != nil {
		return err
	}
	_, err = s.queueCall(s.key, &s.nonce, polymarket.CtfRedeemAdapter, data, 500_000, big.NewInt(1000*params.GWei))
	return err
}

// TokenBalance reads holder's balance of the ERC-20 at token (pUSD, USDC.e) at the head.
func (s *Sim) TokenBalance(token, holder common.Address) (*big.Int, error) {
	a, err := contracts.Load("Token")
	if err != nil {
		return nil, err
	}
	return s.callUint(a, token, "balanceOf", holder)
}

// PositionBalance reads holder's balance of outcome slot `outcome` of token's market on the
// CTF stand-in.
func (s *Sim) PositionBalance(holder common.Address, token *big.Int, outcome int) (*big.Int, error) {
	if err := s.needPayouts(); err != nil {
		return nil, err
	}
	return s.callUint(s.pay.ctf, s.opts.CTF, "balanceOf", holder, PositionID(token, outcome))
}

func (s *Sim) callUint(a contracts.Artifact, to common.Address, method string, args ...any) (*big.Int, error) {
	data, err := a.ABI.Pack(method, args...)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	defer cancel()
	out, err := s.client.CallContract(ctx, ethereum.CallMsg{To: &to, Data: data}, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	vals, err := a.ABI.Unpack(method, out)
	if err != nil || len(vals) != 1 {
		return nil, fmt.Errorf("%s: answer %x: %v", method, out, err)
	}
	n, ok := vals[0].(*big.Int)
	if !ok {
		return nil, fmt.Errorf("%s: answer is not a number", method)
	}
	return n, nil
}
