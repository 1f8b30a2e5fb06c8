package app

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"

	"github.com/polybot/polybot/internal/chain"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/resolution"
	"github.com/polybot/polybot/internal/store"
	"github.com/polybot/polybot/internal/testing/contracts"
	"github.com/polybot/polybot/internal/testing/sim"
	"github.com/polybot/polybot/internal/wallet"
)

// The daemon's redeemer, built from live.signature_type and live.funder as the config gives
// them, redeems a won position from each wallet type on polysim's chain: the winnings arrive in
// the funder's wallet as pUSD and the receipt check counts them. Signature type 3 goes through
// the deposit wallet's batch, signed by the owner key.
func TestTheDaemonRedeemsFromEachWalletType(t *testing.T) {
	for _, tc := range []struct {
		kind    string
		sigType int
	}{{"eoa", 0}, {"proxy", 1}, {"safe", 2}, {"deposit", 3}} {
		t.Run(tc.kind, func(t *testing.T) {
			key, err := crypto.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			owner := crypto.PubkeyToAddress(key.PublicKey)
			opts := sim.Options{Payouts: true, Leaders: 1, Markets: 1}
			funder := owner
			switch tc.kind {
			case "proxy":
				opts.ProxyOwners, funder = []common.Address{owner}, polymarket.ProxyWallet(owner)
			case "safe":
				opts.SafeOwners, funder = []common.Address{owner}, polymarket.SafeWallet(owner)
			case "deposit":
				funder = polymarket.DepositWallet(owner)
				opts.DepositWallets = []sim.DepositWallet{{Owner: owner, Address: funder}}
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
			ctx := context.Background()
			commit := func() {
				t.Helper()
				if _, err := s.Commit(); err != nil {
					t.Fatal(err)
				}
			}
			mined := func(tx common.Hash) {
				t.Helper()
				deadline := time.Now().Add(10 * time.Second)
				for {
					rc, err := ec.TransactionReceipt(ctx, tx)
					if err == nil {
						if rc.Status != types.ReceiptStatusSuccessful {
							t.Fatalf("transaction %s reverted", tx)
						}
						return
					}
					if !errors.Is(err, ethereum.NotFound) || time.Now().After(deadline) {
						t.Fatalf("receipt of %s: %v", tx, err)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			if err := s.Fund(owner, new(big.Int).Mul(big.NewInt(10), big.NewInt(params.Ether))); err != nil {
				t.Fatal(err)
			}
			commit()

			dial := func(ctx context.Context) (chain.Client, error) {
				return chain.Dial(ctx, s.HTTPURL(), s.ChainID(), 5*time.Second)
			}
			r := &redeemer{dial: dial, key: key, sigType: tc.sigType, funder: funder,
				standard: polymarket.CtfRedeemAdapter, negRisk: polymarket.NegRiskRedeemAdapter,
				collateral: polymarket.CollateralPUSD, sources: []common.Address{s.CTF()}}
			if f, err := r.funderOf(); err != nil || f != funder {
				t.Fatalf("the daemon redeems for %s (%v), want the %s wallet %s", f, err, tc.kind, funder)
			}

			// The one-time approval of the collateral adapter, from the wallet (polymarket.com's
			// onboarding does it), and a won position of 7 shares in the funder's wallet.
			approve, err := contracts.MustLoad("ConditionalTokens").ABI.Pack("setApprovalForAll", polymarket.CtfRedeemAdapter, true)
			if err != nil {
				t.Fatal(err)
			}
			var w wallet.Caller
			if err := r.with(ctx, func(cr *resolution.ChainRedeemer) error { w = cr.Caller; return nil }); err != nil {
				t.Fatal(err)
			}
			tx, err := w.Send(ctx, s.CTF(), approve)
			if err != nil {
				t.Fatalf("approve the adapter from the %s wallet: %v", tc.kind, err)
			}
			commit()
			mined(tx)
			token := s.Markets()[0]
			if err := s.CreditPosition(funder, token, 0, 7_000_000); err != nil {
				t.Fatal(err)
			}
			res, err := s.ResolveMarket(token, true)
			if err != nil {
				t.Fatal(err)
			}
			commit()
			mined(res)

			p := store.Position{Token: token.String(), Shares: 7_000_000,
				Market:     &store.Market{Condition: sim.ConditionID(token), Outcome: 0, Slots: 2},
				Resolution: &store.Resolution{Numerator: "1", Denominator: "1", Shares: 7_000_000}}
			tx, err = r.Redeem(ctx, p)
			if err != nil {
				t.Fatalf("redeem from the %s wallet: %v", tc.kind, err)
			}
			commit()
			mined(tx)
			paid, err := r.Confirm(ctx, p, tx)
			if err != nil || paid != 7_000_000 {
				t.Fatalf("the redemption's receipt: paid %d, %v; want 7 pUSD", paid, err)
			}
			if got, err := s.TokenBalance(polymarket.CollateralPUSD, funder); err != nil || got.Uint64() != 7_000_000 {
				t.Fatalf("the %s wallet holds %v pUSD (%v), want 7", tc.kind, got, err)
			}
		})
	}
}
