package polymarket

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// walletVectors are the official clients' wallet address vectors, copied with their source
// into testdata/wallet-vectors.json.
type walletVectors struct {
	Safe, Proxy   []walletVector
	DepositUUPS   []walletVector `json:"deposit_uups"`
	DepositBeacon []walletVector `json:"deposit_beacon"`
}

type walletVector struct {
	Source, Owner, Factory, Implementation, Beacon, Wallet string
}

func loadWalletVectors(t *testing.T) walletVectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/wallet-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v walletVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Safe) == 0 || len(v.Proxy) == 0 || len(v.DepositUUPS) == 0 || len(v.DepositBeacon) == 0 {
		t.Fatal("a vector list is empty")
	}
	return v
}

// A wrong byte in a clone's init code or in the salt gives another address: preflight would
// then call the user's real deposit wallet "none of your wallets" and refuse to start.
func TestDepositWalletAddressesMatchTheOfficialVectors(t *testing.T) {
	v := loadWalletVectors(t)
	addr := common.HexToAddress
	for _, c := range v.DepositUUPS {
		if got := DepositWalletUUPSAddress(addr(c.Owner), addr(c.Factory), addr(c.Implementation)); got != addr(c.Wallet) {
			t.Errorf("%s: UUPS deposit wallet %s, want %s", c.Source, got.Hex(), c.Wallet)
		}
		if c.Factory == DepositWalletFactory.Hex() && c.Implementation == DepositWalletImplementation.Hex() {
			if got := DepositWalletUUPS(addr(c.Owner)); got != addr(c.Wallet) {
				t.Errorf("%s: DepositWalletUUPS %s, want %s", c.Source, got.Hex(), c.Wallet)
			}
		}
	}
	for _, c := range v.DepositBeacon {
		if got := DepositWalletBeaconAddress(addr(c.Owner), addr(c.Factory), addr(c.Beacon)); got != addr(c.Wallet) {
			t.Errorf("%s: beacon deposit wallet %s, want %s", c.Source, got.Hex(), c.Wallet)
		}
		if got := DepositWallet(addr(c.Owner)); got != addr(c.Wallet) {
			t.Errorf("%s: DepositWallet %s, want %s", c.Source, got.Hex(), c.Wallet)
		}
	}
}

func TestProxyAndSafeAddressesMatchTheVectorFile(t *testing.T) {
	v := loadWalletVectors(t)
	for _, c := range v.Safe {
		if c.Factory != SafeWalletFactory.Hex() {
			t.Fatalf("%s: factory %s is not SafeWalletFactory", c.Source, c.Factory)
		}
		if got := SafeWallet(common.HexToAddress(c.Owner)); got != common.HexToAddress(c.Wallet) {
			t.Errorf("%s: safe %s, want %s", c.Source, got.Hex(), c.Wallet)
		}
	}
	for _, c := range v.Proxy {
		if c.Factory != ProxyWalletFactory.Hex() {
			t.Fatalf("%s: factory %s is not ProxyWalletFactory", c.Source, c.Factory)
		}
		if got := ProxyWallet(common.HexToAddress(c.Owner)); got != common.HexToAddress(c.Wallet) {
			t.Errorf("%s: proxy %s, want %s", c.Source, got.Hex(), c.Wallet)
		}
	}
}

// The kind of a funder decides the signature type every order carries: a wrong answer here
// and preflight either passes a funder the exchange refuses or refuses the user's own wallet.
func TestKindOfTellsEachOfTheOwnersWallets(t *testing.T) {
	owner := common.HexToAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
	other := common.HexToAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")
	newBeacon := common.HexToAddress("0x00000000000000000000000000000000000b3ac0")
	w := WalletsOf(owner, newBeacon)
	for _, c := range []struct {
		name   string
		funder common.Address
		want   WalletKind
	}{
		{"no funder is the key itself", common.Address{}, WalletEOA},
		{"the key's address", owner, WalletEOA},
		{"the proxy", ProxyWallet(owner), WalletProxy},
		{"the Safe", SafeWallet(owner), WalletSafe},
		{"the beacon deposit wallet", DepositWallet(owner), WalletDeposit},
		{"the legacy UUPS deposit wallet", DepositWalletUUPS(owner), WalletDeposit},
		{"a deposit wallet of a beacon read on chain", DepositWalletBeaconAddress(owner, DepositWalletFactory, newBeacon), WalletDeposit},
		{"another key's proxy", ProxyWallet(other), NotOwnersWallet},
		{"another key's deposit wallet", DepositWallet(other), NotOwnersWallet},
		{"another key", other, NotOwnersWallet},
	} {
		if got := w.KindOf(c.funder); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
