package resolution

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/contracts"
	"github.com/polybot/polybot/internal/testing/sim"
	"github.com/polybot/polybot/internal/wallet"
)

// payoutRig is polybot's resolution watcher in live trading against polysim's chain with the
// payout stand-ins: a CTF, pUSD, the collateral adapter and the funder's wallet.
type payoutRig struct {
	t      *testing.T
	s      *sim.Sim
	ec     *ethclient.Client
	owner  common.Address
	caller wallet.Caller
	dir    string
	st     *store.Store
	w      *Watcher
	sends  *countingRedeemer
	token  *big.Int
	now    time.Time
}

// chainReader is the watcher's view of the node; it leaves closing the shared client to the test.
type chainReader struct{ c *ethclient.Client }

func (r chainReader) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	return r.c.FilterLogs(ctx, q)
}

func (r chainReader) HeaderByNumber(ctx context.Context, n *big.Int) (*types.Header, error) {
	return r.c.HeaderByNumber(ctx, n)
}

// countingRedeemer counts the redemptions sent.
type countingRedeemer struct {
	Redeemer
	mu   sync.Mutex
	sent int
}

func (c *countingRedeemer) Redeem(ctx context.Context, p store.Position) (common.Hash, error) {
	c.mu.Lock()
	c.sent++
	c.mu.Unlock()
	return c.Redeemer.Redeem(ctx, p)
}

func (c *countingRedeemer) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent
}

// newPayoutRig starts polysim with the wallet of kind ("eoa", "proxy", "safe", "deposit") for a fresh
// owner key, funds the owner's gas and approves the collateral adapter on the CTF from the
// funder, through the wallet (as the user did on polymarket.com).
func newPayoutRig(t *testing.T, kind string) *payoutRig {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	owner := crypto.PubkeyToAddress(key.PublicKey)
	opts := sim.Options{Payouts: true, Leaders: 1, Markets: 1}
	switch kind {
	case "proxy":
		opts.ProxyOwners = []common.Address{owner}
	case "safe":
		opts.SafeOwners = []common.Address{owner}
	case "deposit":
		opts.DepositWallets = []sim.DepositWallet{{Owner: owner, Address: polymarket.DepositWallet(owner)}}
	}
	s, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ec, err := ethclient.Dial(s.HTTPURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ec.Close)
	r := &payoutRig{t: t, s: s, ec: ec, owner: owner, dir: t.TempDir(), token: s.Markets()[0], now: t0}
	if err := s.Fund(owner, new(big.Int).Mul(big.NewInt(10), big.NewInt(params.Ether))); err != nil {
		t.Fatal(err)
	}
	r.commit()
	r.caller = callerOf(kind, ec, key)
	ctf := contracts.MustLoad("ConditionalTokens")
	approve, err := ctf.ABI.Pack("setApprovalForAll", polymarket.CtfRedeemAdapter, true)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := r.caller.Send(context.Background(), s.CTF(), approve)
	if err != nil {
		t.Fatalf("approve the adapter from the %s wallet: %v", kind, err)
	}
	r.commit()
	if rc := r.receipt(tx); rc.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("approval from the %s wallet reverted", kind)
	}
	r.open()
	return r
}

func callerOf(kind string, ec *ethclient.Client, key *ecdsa.PrivateKey) wallet.Caller {
	switch kind {
	case "proxy":
		return wallet.Proxy{Client: ec, Key: key}
	case "safe":
		return wallet.Safe{Client: ec, Key: key}
	case "deposit":
		return wallet.DepositWallet{Client: ec, Key: key, Wallet: polymarket.DepositWallet(crypto.PubkeyToAddress(key.PublicKey))}
	}
	return wallet.EOA{Client: ec, Key: key}
}

// open opens the store in the rig's directory and a watcher on it (again after close: a restart).
func (r *payoutRig) open() {
	r.t.Helper()
	st, err := store.Open(store.Options{Dir: r.dir, Now: func() time.Time { return r.now }, LockTimeout: 50 * time.Millisecond})
	if err != nil {
		r.t.Fatal(err)
	}
	r.st = st
	r.sends = &countingRedeemer{Redeemer: &ChainRedeemer{Caller: r.caller, Receipts: r.ec,
		Standard: polymarket.CtfRedeemAdapter, NegRisk: polymarket.NegRiskRedeemAdapter,
		Collateral: polymarket.CollateralPUSD, PayoutSources: []common.Address{r.s.CTF()}}}
	w, err := New(Options{
		Dial:     func(context.Context) (Chain, error) { return chainReader{r.ec}, nil },
		CTF:      r.s.CTF(),
		Store:    st,
		Markets:  fakeMarkets{r.token.String(): {Condition: sim.ConditionID(r.token), Outcome: 0, Slots: 2}},
		Redeemer: r.sends,
		Now:      func() time.Time { return r.now },
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.w = w
}

func (r *payoutRig) close() {
	r.t.Helper()
	if err := r.st.Close(); err != nil {
		r.t.Fatal(err)
	}
}

func (r *payoutRig) commit() {
	r.t.Helper()
	if _, err := r.s.Commit(); err != nil {
		r.t.Fatal(err)
	}
}

// receipt waits for tx's receipt: the simulated chain indexes a mined block in the background.
func (r *payoutRig) receipt(tx common.Hash) *types.Receipt {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rc, err := r.ec.TransactionReceipt(context.Background(), tx)
		if err == nil {
			return rc
		}
		if !errors.Is(err, ethereum.NotFound) || time.Now().After(deadline) {
			r.t.Fatalf("receipt of %s: %v", tx, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *payoutRig) round() {
	r.t.Helper()
	if err := r.w.Round(context.Background()); err != nil {
		r.t.Fatalf("round: %v", err)
	}
}

// resolution is the rig's one resolved position as the store has it.
func (r *payoutRig) resolution() store.Resolution {
	r.t.Helper()
	closed, err := r.st.ClosedPositions(time.Time{})
	if err != nil || len(closed) != 1 || closed[0].Resolution == nil {
		r.t.Fatalf("closed positions %+v %v", closed, err)
	}
	return *closed[0].Resolution
}

// sendAndMine runs a round that sends the redemption, mines it and waits for its receipt.
func (r *payoutRig) sendAndMine() common.Hash {
	r.t.Helper()
	r.round()
	res := r.resolution()
	if res.RedeemState != store.RedeemSent || res.RedeemTx == (common.Hash{}) {
		r.t.Fatalf("redemption not sent: %+v", res)
	}
	r.commit()
	r.receipt(res.RedeemTx)
	return res.RedeemTx
}

func (r *payoutRig) pusd() uint64 {
	r.t.Helper()
	b, err := r.s.TokenBalance(polymarket.CollateralPUSD, r.caller.Funder())
	if err != nil {
		r.t.Fatal(err)
	}
	return b.Uint64()
}

// hold gives polybot a position of 7 shares in the rig's market, and the funder `held` shares
// of outcome slot `outcome` on the chain; then the market resolves for outcome 0.
func (r *payoutRig) hold(outcome int, held uint64) {
	r.t.Helper()
	buy(r.t, r.st, r.token.String(), 7*usdc, 4*usdc)
	if held > 0 {
		if err := r.s.CreditPosition(r.caller.Funder(), r.token, outcome, held); err != nil {
			r.t.Fatal(err)
		}
	}
	h, err := r.s.ResolveMarket(r.token, true)
	if err != nil {
		r.t.Fatal(err)
	}
	r.commit()
	if rc := r.receipt(h); rc.Status != types.ReceiptStatusSuccessful || len(rc.Logs) != 1 {
		r.t.Fatalf("the oracle's report on the CTF: status %d, %d logs", rc.Status, len(rc.Logs))
	}
}

// From every wallet type polybot redeems with the owner key, the winnings arrive in the
// funder's wallet as pUSD, and only the receipt's payout makes them "redeemed".
func TestRedemptionPaysPUSDFromEachWalletType(t *testing.T) {
	for _, kind := range []string{"eoa", "proxy", "safe", "deposit"} {
		t.Run(kind, func(t *testing.T) {
			r := newPayoutRig(t, kind)
			r.hold(0, 7*usdc)
			r.sendAndMine()
			if n, _ := r.w.Redemptions(); n != 0 {
				t.Fatal("redemption counted as paid before its receipt was read")
			}
			r.round()
			res := r.resolution()
			if res.RedeemState != store.RedeemPaid || res.RedeemPaid != 7*usdc || res.RedeemError != "" {
				t.Fatalf("after the receipt: %+v", res)
			}
			if got := r.pusd(); got != 7*usdc {
				t.Fatalf("funder %s holds %d pUSD, want 7", r.caller.Funder(), got)
			}
			if bal, err := r.s.PositionBalance(r.caller.Funder(), r.token, 0); err != nil || bal.Sign() != 0 {
				t.Fatalf("winning tokens left in the funder's wallet: %v %v", bal, err)
			}
			if n, last := r.w.Redemptions(); n != 1 || !strings.Contains(last, "7 paid") {
				t.Fatalf("redemptions told: %d %q", n, last)
			}
			r.round()
			if r.sends.count() != 1 {
				t.Fatalf("%d redemptions sent, want 1", r.sends.count())
			}
			if kind != "eoa" {
				if owner, err := r.s.TokenBalance(polymarket.CollateralPUSD, r.owner); err != nil || owner.Sign() != 0 {
					t.Fatalf("pUSD went to the owner key, not the %s wallet: %v %v", kind, owner, err)
				}
			}
		})
	}
}

// A redemption that reverts (the adapter paused between the send and the block) is a failure
// told to the operator and retried after the backoff, never "winnings redeemed".
func TestARevertedRedemptionIsAnErrorRetriedAfterTheBackoff(t *testing.T) {
	r := newPayoutRig(t, "eoa")
	r.hold(0, 7*usdc)
	r.round()
	tx := r.resolution().RedeemTx
	if err := r.s.PauseRedemptions(true); err != nil {
		t.Fatal(err)
	}
	r.commit()
	if rc := r.receipt(tx); rc.Status != types.ReceiptStatusFailed {
		t.Fatal("the redemption did not revert behind the pause")
	}
	r.round()
	res := r.resolution()
	if res.RedeemState == store.RedeemPaid || res.RedeemAttempts != 1 || !strings.Contains(res.RedeemError, "reverted") ||
		!res.RedeemRetryAt.Equal(r.now.Add(DefaultRedeemBackoff)) {
		t.Fatalf("reverted redemption recorded as %+v", res)
	}
	if n, last := r.w.RedemptionFailures(); n != 1 || !strings.Contains(last, "reverted") {
		t.Fatalf("failure told: %d %q", n, last)
	}
	if n, _ := r.w.Redemptions(); n != 0 {
		t.Fatal("a reverted redemption counted as redeemed")
	}
	if sum, err := r.st.Redemptions(); err != nil || sum.Failing != 1 || sum.Paid != 0 || !strings.Contains(sum.LastError, "reverted") {
		t.Fatalf("status summary %+v %v", sum, err)
	}
	// Before the backoff has passed nothing is sent again.
	r.round()
	if r.sends.count() != 1 {
		t.Fatalf("%d sends before the backoff passed, want 1", r.sends.count())
	}
	if err := r.s.PauseRedemptions(false); err != nil {
		t.Fatal(err)
	}
	r.commit()
	r.now = r.now.Add(DefaultRedeemBackoff)
	r.sendAndMine()
	r.round()
	if res := r.resolution(); res.RedeemState != store.RedeemPaid || res.RedeemPaid != 7*usdc || r.pusd() != 7*usdc {
		t.Fatalf("retried redemption: %+v, %d pUSD", res, r.pusd())
	}
	if sum, err := r.st.Redemptions(); err != nil || sum.Failing != 0 || sum.Paid != 1 {
		t.Fatalf("status summary after the retry %+v %v", sum, err)
	}
}

// A redemption that succeeds but pays nothing (the funder holds only the losing outcome) is an
// error too, retried with a growing backoff.
func TestAZeroPayoutIsAnErrorRetriedWithAGrowingBackoff(t *testing.T) {
	r := newPayoutRig(t, "proxy")
	r.hold(1, 7*usdc)
	tx := r.sendAndMine()
	if rc := r.receipt(tx); rc.Status != types.ReceiptStatusSuccessful {
		t.Fatal("the empty redemption reverted; it should succeed and pay 0")
	}
	r.round()
	res := r.resolution()
	if res.RedeemState == store.RedeemPaid || res.RedeemAttempts != 1 || !strings.Contains(res.RedeemError, "payout of 0") {
		t.Fatalf("zero payout recorded as %+v", res)
	}
	if n, _ := r.w.Redemptions(); n != 0 {
		t.Fatal("a zero payout counted as redeemed")
	}
	r.now = r.now.Add(DefaultRedeemBackoff)
	r.sendAndMine()
	r.round()
	res = r.resolution()
	if res.RedeemAttempts != 2 || !res.RedeemRetryAt.Equal(r.now.Add(2*DefaultRedeemBackoff)) {
		t.Fatalf("second failure: %+v", res)
	}
	if n, _ := r.w.RedemptionFailures(); n != 2 || r.pusd() != 0 {
		t.Fatalf("failures %d, pUSD %d", n, r.pusd())
	}
}

// A restart between the send and the receipt check checks the same transaction: the winnings
// are paid once, and no second redemption is sent.
func TestARestartChecksTheSentRedemptionInsteadOfSendingAgain(t *testing.T) {
	r := newPayoutRig(t, "safe")
	r.hold(0, 7*usdc)
	r.round()
	tx := r.resolution().RedeemTx
	r.close()
	r.commit()
	r.receipt(tx)

	r.open() // the restart
	r.round()
	res := r.resolution()
	if r.sends.count() != 0 {
		t.Fatalf("%d redemptions sent after the restart, want 0", r.sends.count())
	}
	if res.RedeemState != store.RedeemPaid || res.RedeemTx != tx || r.pusd() != 7*usdc {
		t.Fatalf("after the restart: %+v, %d pUSD", res, r.pusd())
	}
	r.round()
	if r.sends.count() != 0 || r.pusd() != 7*usdc {
		t.Fatalf("a later round sent %d, pUSD %d", r.sends.count(), r.pusd())
	}
}
