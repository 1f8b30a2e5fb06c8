package main

import (
	"encoding/json"
	"math/big"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
)

// order build --protocol v3 signs the V2 struct for ExchangeV3 under domain version "3".
func TestOrderBuildProtocolV3(t *testing.T) {
	keyFile := writeFile(t, filepath.Join(t.TempDir(), "key"), "0x"+vectorKey+"\n")
	code, out, errOut := runCLI(t, "order", "build", "--offline", "--json", "--key-file", keyFile, "--token", "1234", "--side", "BUY",
		"--salt", "479249096354", "--maker-amount", "100000000", "--taker-amount", "50000000", "--protocol", "v3", "--timestamp", "1780449126930")
	if code != exOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got builtOrder
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	key, err := crypto.HexToECDSA(vectorKey)
	if err != nil {
		t.Fatal(err)
	}
	signer := crypto.PubkeyToAddress(key.PublicKey)
	o := order.OrderV2{Salt: big.NewInt(479249096354), Maker: signer, Signer: signer, TokenID: big.NewInt(1234),
		MakerAmount: big.NewInt(100000000), TakerAmount: big.NewInt(50000000), Side: order.Buy, Timestamp: big.NewInt(1780449126930)}
	v3 := polymarket.ExchangeV3
	want := o.Hash(order.Domain{Name: "Polymarket CTF Exchange", Version: "3", ChainID: 137, VerifyingContract: &v3})
	if got.Protocol != "V3" || got.Exchange != polymarket.ExchangeV3.Hex() || got.OrderHash != want.Hex() {
		t.Fatalf("protocol %s exchange %s hash %s; want V3 on %s with hash %s", got.Protocol, got.Exchange, got.OrderHash, v3.Hex(), want.Hex())
	}

	// A neg-risk Protocol V2 market's order still goes to ExchangeV3 (clob-client-v2
	// tests/client/positionOrders.test.ts signs a negRisk position order for exchangeV3).
	code, out, errOut = runCLI(t, "order", "build", "--offline", "--json", "--key-file", keyFile, "--token", "1", "--side", "BUY", "--price", "0.5",
		"--size", "10", "--tick-size", "0.01", "--protocol", "v3", "--neg-risk")
	if code != exOK {
		t.Fatalf("--protocol v3 --neg-risk: exit %d: %s", code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Exchange != polymarket.ExchangeV3.Hex() {
		t.Fatalf("--protocol v3 --neg-risk signed for %s (%v), want ExchangeV3", got.Exchange, err)
	}
}
