package sim

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/contracts"
)

// With CLOBOptions.Wallet the trading account trades from the wallet Polygon derives for its
// key, and its one-time approval of the collateral adapter (which redemption needs) is made by
// that wallet, through the wallet's own path: the CTF records the wallet, not the key, as the
// approver. The funder and the signature type are written beside the credentials for the demo.
func TestTheCLOBsAccountTradesAndApprovesFromEachWalletType(t *testing.T) {
	for _, name := range []string{"eoa", "proxy", "safe", "deposit"} {
		t.Run(name, func(t *testing.T) {
			kind, err := ParseWallet(name)
			if err != nil {
				t.Fatal(err)
			}
			key, err := crypto.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			owner := crypto.PubkeyToAddress(key.PublicKey)
			opts := Options{Payouts: true}
			want, err := opts.PlaceWallet(kind, owner)
			if err != nil {
				t.Fatal(err)
			}
			s := newSim(t, opts)
			dir := t.TempDir()
			c, err := s.StartCLOB(CLOBOptions{Wallet: kind, Key: key, CredsDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			if c.Funder() != want || c.Wallet() != kind {
				t.Fatalf("the account trades from %s (%s), want the key's %s %s", c.Funder().Hex(), c.Wallet(), kind, want.Hex())
			}
			if got := c.Server().Balance(want).Collateral; got != DefaultCLOBCollateral {
				t.Fatalf("the CLOB holds %d collateral at the wallet, want %d", got, int64(DefaultCLOBCollateral))
			}
			for file, text := range map[string]string{FunderFile: want.Hex(), SignatureTypeFile: strconv.Itoa(int(kind))} {
				if b, err := os.ReadFile(filepath.Join(dir, file)); err != nil || strings.TrimSpace(string(b)) != text {
					t.Fatalf("%s holds %q, %v; want %s", file, b, err, text)
				}
			}
			if _, err := s.Commit(); err != nil { // the account's gas
				t.Fatal(err)
			}
			s.mu.Lock()
			err = c.approveAdapter()
			s.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			cl := dial(t, s.HTTPURL())
			ctf := contracts.MustLoad("ConditionalTokens")
			approved := func(holder common.Address) bool {
				return common.BytesToHash(callOut(t, cl, s.CTF(), ctf, "isApprovedForAll", holder, polymarket.CtfRedeemAdapter)).Big().Sign() != 0
			}
			if !approved(want) {
				t.Fatalf("the %s %s has not approved the collateral adapter", kind, want.Hex())
			}
			if kind != polymarket.WalletEOA && approved(owner) {
				t.Fatalf("the approval came from the key %s, not from its %s", owner.Hex(), kind)
			}
		})
	}
}

// A proxy or Safe that polysim did not place for the key cannot be traded from.
func TestTheCLOBRefusesAWalletNotOnTheChain(t *testing.T) {
	s := newSim(t, Options{Payouts: true})
	for _, kind := range []polymarket.WalletKind{polymarket.WalletProxy, polymarket.WalletSafe} {
		if c, err := s.StartCLOB(CLOBOptions{Wallet: kind}); err == nil {
			c.Close()
			t.Errorf("StartCLOB traded from a %s that is not on the chain", kind)
		} else if !strings.Contains(err.Error(), "not on the chain") {
			t.Errorf("%s: %v", kind, err)
		}
	}
}
