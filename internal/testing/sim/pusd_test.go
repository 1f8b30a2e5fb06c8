package sim

import (
	"context"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/contracts"
)

// The balances and allowances a test gives polysim's pUSD are what the token answers on chain:
// a wrong storage slot would leave every balance 0 and every preflight failing.
func TestPUSDAnswersTheGenesisBalancesAndAllowances(t *testing.T) {
	holder := common.HexToAddress("0x00000000000000000000000000000000000a11ce")
	code := []byte{0x00} // STOP: any non-empty code
	wallet := common.HexToAddress("0x00000000000000000000000000000000000b0b00")
	s, err := New(Options{
		PUSD: &PUSD{
			Balances:   map[common.Address]*big.Int{holder: big.NewInt(25_000_000)},
			Allowances: map[common.Address]map[common.Address]*big.Int{holder: {polymarket.CTFExchangeV2: MaxAllowance}},
		},
		Accounts: types.GenesisAlloc{wallet: {Code: code, Balance: new(big.Int)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	client, err := ethclient.Dial(s.HTTPURL())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()
	tok := contracts.MustLoad("Token")
	call := func(method string, args ...any) *big.Int {
		t.Helper()
		data, err := tok.ABI.Pack(method, args...)
		if err != nil {
			t.Fatal(err)
		}
		out, err := client.CallContract(ctx, ethereum.CallMsg{To: &polymarket.CollateralPUSD, Data: data}, nil)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return new(big.Int).SetBytes(out)
	}
	if got := call("balanceOf", holder); got.Int64() != 25_000_000 {
		t.Errorf("balanceOf = %v, want 25000000", got)
	}
	if got := call("totalSupply"); got.Int64() != 25_000_000 {
		t.Errorf("totalSupply = %v, want 25000000", got)
	}
	if got := call("allowance", holder, polymarket.CTFExchangeV2); got.Cmp(MaxAllowance) != 0 {
		t.Errorf("allowance for the exchange = %v, want max", got)
	}
	if got := call("allowance", holder, polymarket.NegRiskCTFExchangeV2); got.Sign() != 0 {
		t.Errorf("allowance never given = %v, want 0", got)
	}
	if got, err := client.CodeAt(ctx, wallet, nil); err != nil || len(got) == 0 {
		t.Errorf("code at the extra account: %x, %v", got, err)
	}
}

func TestAccountsMayNotReplacePolysimsContracts(t *testing.T) {
	_, err := New(Options{Accounts: types.GenesisAlloc{polymarket.CTFExchangeV2: {Code: []byte{0}, Balance: new(big.Int)}}})
	if err == nil {
		t.Fatal("an account over the exchange's emitter was accepted")
	}
}
