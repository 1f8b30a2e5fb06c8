package contracts

import (
	"bytes"
	"context"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/ethconfig"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/node"
	"github.com/ethereum/go-ethereum/params"

	"github.com/polybot/polybot/internal/testing/vectors"
)

// poly1271Vector is the official POLY_1271 order signature (py-clob-client-v2): the deposit
// wallet, its owner, the chain, and the exchange's final order hash the wallet is asked about.
type poly1271Vector struct {
	wallet, owner common.Address
	chainID       int64
	hash          common.Hash
	sig           []byte
}

func loadPoly1271Vector(t *testing.T) poly1271Vector {
	t.Helper()
	for _, v := range vectors.Load(t, "order_v2_eip712") {
		var in struct {
			PrivateKey string `json:"privateKey"`
			ChainID    int64  `json:"chainId"`
			Order      struct {
				Signer        string `json:"signer"`
				SignatureType string `json:"signatureType"`
			} `json:"order"`
		}
		vectors.Decode(t, v.Inputs, &in)
		if in.Order.SignatureType != "3" {
			continue
		}
		var want struct {
			Signature string `json:"signature"`
		}
		vectors.Decode(t, v.Expected, &want)
		var also map[string]string
		vectors.Decode(t, v.AlsoComputed, &also)
		key, err := crypto.HexToECDSA(in.PrivateKey[2:])
		if err != nil {
			t.Fatal(err)
		}
		sep, contents := common.HexToHash(also["appDomainSeparator"]), common.HexToHash(also["orderStructHash(contentsHash)"])
		return poly1271Vector{
			wallet: common.HexToAddress(in.Order.Signer), owner: crypto.PubkeyToAddress(key.PublicKey), chainID: in.ChainID,
			hash: crypto.Keccak256Hash([]byte{0x19, 0x01}, sep[:], contents[:]),
			sig:  hexutil.MustDecode(want.Signature),
		}
	}
	t.Fatal("no POLY_1271 order vector")
	return poly1271Vector{}
}

// withChainID runs the simulated chain under chainID: the wrapper binds the chain id, so the
// official vector verifies only on its own chain.
func withChainID(chainID int64) func(*node.Config, *ethconfig.Config) {
	return func(_ *node.Config, ec *ethconfig.Config) {
		cfg := *params.AllDevChainProtocolChanges
		cfg.ChainID = big.NewInt(chainID)
		ec.Genesis.Config = &cfg
		ec.NetworkId = uint64(chainID)
	}
}

// isValidSignature asks the wallet, by eth_call, what ERC-1271 asks it.
func isValidSignature(t *testing.T, c simulated.Client, wallet common.Address, hash common.Hash, sig []byte) [4]byte {
	t.Helper()
	in, err := MustLoad("DepositWallet").ABI.Pack("isValidSignature", hash, sig)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.CallContract(context.Background(), ethereum.CallMsg{To: &wallet, Data: in}, nil)
	if err != nil {
		t.Fatalf("isValidSignature: %v", err)
	}
	if len(out) != 32 {
		t.Fatalf("isValidSignature returned %x", out)
	}
	var got [4]byte
	copy(got[:], out)
	return got
}

// The stand-in deposit wallet accepts the official POLY_1271 order signature of its owner (the
// exchange's ERC-1271 check of a type-3 order) and refuses it when anything is off: another
// owner, a wrapper naming other contents, another order hash. A wallet that accepted all of these
// would let clobsim take orders the real exchange refuses.
func TestDepositWalletChecksTheOfficialERC7739Signature(t *testing.T) {
	v := loadPoly1271Vector(t)
	stranger := common.HexToAddress("0x2222222222222222222222222222222222222222")
	owned, err := DepositWalletAccount(v.owner)
	if err != nil {
		t.Fatal(err)
	}
	other, err := DepositWalletAccount(stranger)
	if err != nil {
		t.Fatal(err)
	}
	backend := simulated.NewBackend(types.GenesisAlloc{v.wallet: owned}, withChainID(v.chainID))
	defer backend.Close()
	c := backend.Client()
	// The same wallet address, owned by someone else.
	strangers := simulated.NewBackend(types.GenesisAlloc{v.wallet: other}, withChainID(v.chainID))
	defer strangers.Close()
	invalid := [4]byte{0xff, 0xff, 0xff, 0xff}

	if got := isValidSignature(t, c, v.wallet, v.hash, v.sig); got != DepositWalletMagic {
		t.Fatalf("the official vector: isValidSignature = %x, want %x", got, DepositWalletMagic)
	}
	tamperedContents := bytes.Clone(v.sig)
	tamperedContents[100] ^= 1
	tamperedType := bytes.Clone(v.sig)
	tamperedType[130] ^= 1 // "Order(" -> another contents type
	tamperedInner := bytes.Clone(v.sig)
	tamperedInner[10] ^= 1
	for _, c2 := range []struct {
		name  string
		chain simulated.Client
		hash  common.Hash
		sig   []byte
	}{
		{"the wallet owned by another key", strangers.Client(), v.hash, v.sig},
		{"another order hash", c, crypto.Keccak256Hash(v.hash[:]), v.sig},
		{"a wrapper naming other contents", c, v.hash, tamperedContents},
		{"a wrapper with another contents type", c, v.hash, tamperedType},
		{"a damaged inner signature", c, v.hash, tamperedInner},
		{"the bare inner signature", c, v.hash, v.sig[:65]},
	} {
		if got := isValidSignature(t, c2.chain, v.wallet, c2.hash, c2.sig); got != invalid {
			t.Errorf("%s: isValidSignature = %x, want %x", c2.name, got, invalid)
		}
	}
}
