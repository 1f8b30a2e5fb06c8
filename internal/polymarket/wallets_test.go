package polymarket

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

// The vectors of Polymarket/rs-clob-client src/lib.rs (derive_proxy_wallet_polygon,
// derive_safe_wallet_polygon) for the public Anvil account: a wrong salt encoding or hash
// gives another address, and orders signed for it would be refused.
func TestWalletAddressesMatchTheOfficialVectors(t *testing.T) {
	owner := common.HexToAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
	if got, want := ProxyWallet(owner), common.HexToAddress("0x365f0cA36ae1F641E02Fe3b7743673DA42A13a70"); got != want {
		t.Errorf("proxy wallet %s, want %s", got.Hex(), want.Hex())
	}
	if got, want := SafeWallet(owner), common.HexToAddress("0xd93b25Cb943D14d0d34FBAf01fc93a0F8b5f6e47"); got != want {
		t.Errorf("safe wallet %s, want %s", got.Hex(), want.Hex())
	}
}
