package wallet

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"strings"
	"sync"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/polymarket"
)

// proxyABI is the proxy wallet factory's entry point: proxy(ProxyCall[] calls) with
// ProxyCall{CallType typeCode; address to; uint256 value; bytes data} and CallType 1 = CALL.
// Source: Polymarket/proxy-factories packages/proxy-factory/contracts/ProxyWallet/
// ProxyWalletFactory.sol and ProxyWalletLib.sol; Polymarket/builder-relayer-client
// src/encode/proxy.ts encodes the same call for the relayer.
var proxyABI = sync.OnceValues(func() (abi.ABI, error) {
	return abi.JSON(strings.NewReader(`[{"type":"function","name":"proxy","stateMutability":"payable",
 "inputs":[{"name":"calls","type":"tuple[]","components":[{"name":"typeCode","type":"uint8"},{"name":"to","type":"address"},{"name":"value","type":"uint256"},{"name":"data","type":"bytes"}]}],
 "outputs":[{"name":"returnValues","type":"bytes[]"}]}]`))
})

// proxyCall is ProxyWalletLib.ProxyCall for the ABI encoder.
type proxyCall struct {
	TypeCode uint8
	To       common.Address
	Value    *big.Int
	Data     []byte
}

// callTypeCall is ProxyWalletLib.CallType.CALL.
const callTypeCall = 1

// Proxy is signature type 1, a Polymarket proxy wallet (email/Magic accounts): the owner key
// sends proxy([call]) to the factory, which forwards the call to the owner's wallet (found at
// its CREATE2 address from msg.sender alone), and the wallet makes it. Only the owner's own
// transaction reaches its wallet; the owner pays the gas.
type Proxy struct {
	Client Client
	Key    *ecdsa.PrivateKey
	// Factory is the proxy wallet factory; zero means polymarket.ProxyWalletFactory.
	Factory common.Address
}

func (p Proxy) factory() common.Address {
	if p.Factory == (common.Address{}) {
		return polymarket.ProxyWalletFactory
	}
	return p.Factory
}

// Funder implements Caller: the owner's proxy wallet, derived from the owner's address.
func (p Proxy) Funder() common.Address {
	return polymarket.ProxyWallet(crypto.PubkeyToAddress(p.Key.PublicKey))
}

// ProxyCalldata is the factory call that makes the owner's proxy wallet call `to` with `data`.
func ProxyCalldata(to common.Address, data []byte) ([]byte, error) {
	a, err := proxyABI()
	if err != nil {
		return nil, fmt.Errorf("proxy abi: %w", err)
	}
	return a.Pack("proxy", []proxyCall{{TypeCode: callTypeCall, To: to, Value: new(big.Int), Data: data}})
}

// Send implements Caller.
func (p Proxy) Send(ctx context.Context, to common.Address, data []byte) (common.Hash, error) {
	call, err := ProxyCalldata(to, data)
	if err != nil {
		return common.Hash{}, err
	}
	return SendTx(ctx, p.Client, p.Key, p.factory(), call)
}
