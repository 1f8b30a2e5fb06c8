package sim

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/contracts"
)

// The Safe stand-in takes the owner's signature as Safe 1.3.0 does and nobody else's: an
// EIP-712 SafeTx signature by the owner, or the pre-validated v = 1 form only in the owner's own
// transaction; another signer or another sender is refused with the real error codes.
func TestTheSafeStandInChecksTheOwnersSignature(t *testing.T) {
	owner, _ := crypto.GenerateKey()
	other, _ := crypto.GenerateKey()
	ownerAddr, otherAddr := crypto.PubkeyToAddress(owner.PublicKey), crypto.PubkeyToAddress(other.PublicKey)
	s, err := New(Options{Payouts: true, SafeOwners: []common.Address{ownerAddr}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ec, err := ethclient.Dial(s.HTTPURL())
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	safe := polymarket.SafeWallet(ownerAddr)
	safeABI := contracts.MustLoad("GnosisSafe").ABI
	inner, _ := contracts.MustLoad("Token").ABI.Pack("mint", safe, big.NewInt(1))
	to, zero := polymarket.CollateralPUSD, new(big.Int)

	// The SafeTx digest, computed here from the Safe 1.3.0 spec (EIP-712 domain {chainId,
	// verifyingContract}, nonce 0), not by the stand-in.
	word := func(b []byte) []byte { return common.LeftPadBytes(b, 32) }
	domain := crypto.Keccak256(crypto.Keccak256([]byte("EIP712Domain(uint256 chainId,address verifyingContract)")),
		word(new(big.Int).SetUint64(s.ChainID()).Bytes()), word(safe.Bytes()))
	structHash := crypto.Keccak256(
		crypto.Keccak256([]byte("SafeTx(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,uint256 gasPrice,address gasToken,address refundReceiver,uint256 nonce)")),
		word(to.Bytes()), word(nil), crypto.Keccak256(inner), word(nil), word(nil), word(nil), word(nil), word(nil), word(nil), word(nil))
	digest := crypto.Keccak256(append(append([]byte{0x19, 0x01}, domain...), structHash...))
	sigOf := func(key *ecdsa.PrivateKey) []byte {
		sig, err := crypto.Sign(digest, key)
		if err != nil {
			t.Fatal(err)
		}
		sig[64] += 27
		return sig
	}
	preValidated := make([]byte, 65)
	copy(preValidated[12:32], ownerAddr.Bytes())
	preValidated[64] = 1

	call := func(from common.Address, sig []byte) error {
		data, err := safeABI.Pack("execTransaction", to, zero, inner, uint8(0), zero, zero, zero, common.Address{}, common.Address{}, sig)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ec.CallContract(context.Background(), ethereum.CallMsg{From: from, To: &safe, Data: data}, nil)
		return err
	}
	for _, c := range []struct {
		name string
		from common.Address
		sig  []byte
		want string // "" accepted, else the revert text
	}{
		{"the owner's EIP-712 signature, sent by anyone", otherAddr, sigOf(owner), ""},
		{"another key's signature", ownerAddr, sigOf(other), "GS026"},
		{"pre-validated, sent by the owner", ownerAddr, preValidated, ""},
		{"pre-validated, sent by another key", otherAddr, preValidated, "GS025"},
		{"a short signature", ownerAddr, preValidated[:64], "GS020"},
	} {
		err := call(c.from, c.sig)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want a revert with %s", c.name, err, c.want)
		}
	}
}

// Only the owner's own call through the factory reaches its proxy wallet: the factory finds the
// wallet from msg.sender, and the wallet takes calls from the factory alone.
func TestTheProxyWalletStandInTakesOnlyItsOwnersCalls(t *testing.T) {
	owner, _ := crypto.GenerateKey()
	ownerAddr := crypto.PubkeyToAddress(owner.PublicKey)
	stranger := common.HexToAddress("0x5afe")
	s, err := New(Options{Payouts: true, ProxyOwners: []common.Address{ownerAddr}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ec, err := ethclient.Dial(s.HTTPURL())
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()
	wallet := polymarket.ProxyWallet(ownerAddr)
	inner, _ := contracts.MustLoad("Token").ABI.Pack("transfer", stranger, big.NewInt(0))
	type proxyCall struct {
		TypeCode uint8
		To       common.Address
		Value    *big.Int
		Data     []byte
	}
	data, err := contracts.MustLoad("ProxyWalletFactory").ABI.Pack("proxy", []proxyCall{{1, polymarket.CollateralPUSD, new(big.Int), inner}})
	if err != nil {
		t.Fatal(err)
	}
	callAs := func(from, to common.Address) error {
		_, err := ec.CallContract(context.Background(), ethereum.CallMsg{From: from, To: &to, Data: data}, nil)
		return err
	}
	if err := callAs(ownerAddr, polymarket.ProxyWalletFactory); err != nil {
		t.Fatalf("the owner's call through the factory: %v", err)
	}
	if err := callAs(stranger, polymarket.ProxyWalletFactory); err == nil || !strings.Contains(err.Error(), "no proxy wallet") {
		t.Fatalf("a stranger's call through the factory: %v", err)
	}
	if err := callAs(ownerAddr, wallet); err == nil || !strings.Contains(err.Error(), "must be called be owner") {
		t.Fatalf("the owner calling its wallet directly: %v", err)
	}
}
