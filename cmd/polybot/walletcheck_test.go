package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/clobsim"
	"github.com/polybot/polybot/internal/testing/sim"
)

// walletEnv is polysim with pUSD and wallet code at fixed addresses, and a live config for an
// owner key of the test's own. Its CLOB URL points at a closed port: these tests look at the
// wallet lines only.
type walletEnv struct {
	owner      common.Address
	configPath string
}

// walletSetup is what polysim's genesis holds for a wallet test.
type walletSetup struct {
	funder        string // live.funder ("" for none)
	signatureType int
	deployed      []common.Address // addresses that get (any) code
	balance       int64            // the funder's pUSD, base units
	approved      []common.Address // the spenders the funder's pUSD is approved for
	// ctfOperators, when not nil, puts ctfApprovalsCode at testCTF (resolution.ctf) with the
	// funder's outcome tokens approved for these operators.
	ctfOperators []common.Address
}

// testCTF is where the walletSetup places its CTF stand-in (polysim's own CTF address holds
// the log emitter).
var testCTF = common.HexToAddress("0x00000000000000000000000000000000000c7f00")

// ctfApprovalsCode is a stand-in for the one view of the Conditional Tokens contract (Gnosis
// ERC1155) preflight reads: isApprovedForAll(owner, operator) returns the bool stored at
// _operatorApprovals[owner][operator], the mapping at slot 2 (after ERC165's
// _supportedInterfaces and ERC1155's _balances, gnosis/conditional-tokens-contracts
// ERC1155.sol); any other call reverts. Hand-assembled:
//
//	0x00 PUSH1 0 CALLDATALOAD PUSH1 0xe0 SHR PUSH4 0xe985e9c5 EQ PUSH1 0x13 JUMPI   selector check
//	0x0f PUSH1 0 DUP1 REVERT
//	0x13 JUMPDEST PUSH1 4 CALLDATALOAD PUSH1 0 MSTORE PUSH1 2 PUSH1 0x20 MSTORE
//	     PUSH1 0x40 PUSH1 0 SHA3                                         h = keccak(owner ‖ 2)
//	     PUSH1 0x20 MSTORE PUSH1 0x24 CALLDATALOAD PUSH1 0 MSTORE
//	     PUSH1 0x40 PUSH1 0 SHA3 SLOAD                                   sload(keccak(operator ‖ h))
//	     PUSH1 0 MSTORE PUSH1 0x20 PUSH1 0 RETURN
var ctfApprovalsCode = common.FromHex("0x60003560e01c63e985e9c514601357600080fd5b600435600052600260205260406000206020526024356000526040600020546000526020" + "6000f3")

func ctfApprovalSlot(owner, operator common.Address) common.Hash {
	h := crypto.Keccak256(common.LeftPadBytes(owner.Bytes(), 32), common.LeftPadBytes([]byte{2}, 32))
	return crypto.Keccak256Hash(common.LeftPadBytes(operator.Bytes(), 32), h)
}

func ownerKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func startWallet(t *testing.T, key *ecdsa.PrivateKey, ws walletSetup) *walletEnv {
	t.Helper()
	owner := crypto.PubkeyToAddress(key.PublicKey)
	holder := owner
	if ws.funder != "" {
		holder = common.HexToAddress(ws.funder)
	}
	accounts := types.GenesisAlloc{}
	for _, a := range ws.deployed {
		accounts[a] = types.Account{Code: []byte{0x00}, Balance: new(big.Int)} // STOP: any code
	}
	resolution := ""
	if ws.ctfOperators != nil {
		storage := map[common.Hash]common.Hash{}
		for _, op := range ws.ctfOperators {
			storage[ctfApprovalSlot(holder, op)] = common.BigToHash(big.NewInt(1))
		}
		accounts[testCTF] = types.Account{Code: ctfApprovalsCode, Storage: storage, Balance: new(big.Int)}
		resolution = "resolution:\n  ctf: \"" + testCTF.Hex() + "\"\n"
	}
	allow := map[common.Address]*big.Int{}
	for _, sp := range ws.approved {
		allow[sp] = sim.MaxAllowance
	}
	s, err := sim.New(sim.Options{Leaders: 1, Accounts: accounts, PUSD: &sim.PUSD{
		Balances:   map[common.Address]*big.Int{holder: big.NewInt(ws.balance)},
		Allowances: map[common.Address]map[common.Address]*big.Int{holder: allow},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("polysim: %v", err)
		}
	})
	if _, err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyPath := writeFile(t, filepath.Join(dir, "key"), hex.EncodeToString(crypto.FromECDSA(key))+"\n")
	funder := ""
	if ws.funder != "" {
		funder = "  funder: \"" + ws.funder + "\"\n"
	}
	cfg := fmt.Sprintf(`mode: live
chain:
  chain_id: %d
  rpc_url: %s
leaders:
  - address: %s
live:
  clob_url: http://127.0.0.1:1
  key_file: %s
  signature_type: %d
%s%sstate_dir: %s
`, s.ChainID(), s.WSURL(), s.LeaderAddresses()[0].Hex(), keyPath, ws.signatureType, funder, resolution, filepath.Join(dir, "state"))
	return &walletEnv{owner: owner, configPath: writeFile(t, filepath.Join(dir, "polybot.yaml"), cfg)}
}

var allSpenders = polymarket.TradingSpenders(polymarket.CTFExchangeV2, polymarket.NegRiskCTFExchangeV2)

// preflight names the wallet the funder is to the key, and checks on chain that the wallet is
// deployed and what it holds: the user sees which account polybot will trade from.
func TestPreflightDetectsEachWalletType(t *testing.T) {
	key := ownerKey(t)
	owner := crypto.PubkeyToAddress(key.PublicKey)
	for _, c := range []struct {
		name   string
		st     int
		funder common.Address
		kind   string
	}{
		{"EOA", 0, common.Address{}, "EOA"},
		{"proxy", 1, polymarket.ProxyWallet(owner), "Polymarket proxy"},
		{"Safe", 2, polymarket.SafeWallet(owner), "Gnosis Safe"},
		{"deposit wallet", 3, polymarket.DepositWallet(owner), "deposit wallet"},
		{"legacy deposit wallet, deployed", 3, polymarket.DepositWalletUUPS(owner), "deposit wallet"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := walletSetup{signatureType: c.st, balance: 12_500_000, approved: allSpenders, ctfOperators: allSpenders}
			holder := owner
			if c.st != 0 {
				ws.funder, holder = c.funder.Hex(), c.funder
				ws.deployed = []common.Address{c.funder}
			}
			env := startWallet(t, key, ws)
			code, out, errOut := runCLI(t, "preflight", "--config", env.configPath)
			if code != exFail { // the CLOB is unreachable on purpose
				t.Fatalf("exit %d, want %d:\n%s%s", code, exFail, out, errOut)
			}
			if !lineHas(out, "wallet type", "PASS", c.kind, fmt.Sprintf("signature type %d", c.st), "owner "+owner.Hex(), "funder "+holder.Hex()) {
				t.Errorf("wallet type:\n%s", out)
			}
			if c.st != 0 && !lineHas(out, "wallet contract", "PASS", "deployed at "+holder.Hex()) {
				t.Errorf("wallet contract:\n%s", out)
			}
			if !lineHas(out, "funder pusd", "PASS", "12.5 pUSD at "+holder.Hex()) {
				t.Errorf("pUSD balance:\n%s", out)
			}
			if !lineHas(out, "pusd approvals", "PASS") {
				t.Errorf("pUSD approvals:\n%s", out)
			}
			if !lineHas(out, "ctf approvals", "PASS") {
				t.Errorf("CTF approvals:\n%s", out)
			}
		})
	}
}

// A wrong live.signature_type, or a funder that is not the key's wallet, would have every order
// refused by the exchange: preflight stops with EX_CONFIG and says which change fixes it.
func TestPreflightStopsOnAFunderThatIsNotTheKeysWalletOfThatType(t *testing.T) {
	key := ownerKey(t)
	owner := crypto.PubkeyToAddress(key.PublicKey)
	other := crypto.PubkeyToAddress(ownerKey(t).PublicKey)
	for _, c := range []struct {
		name   string
		st     int
		funder common.Address
		want   []string
	}{
		{"the Safe signed as a deposit wallet", 3, polymarket.SafeWallet(owner),
			[]string{"live.signature_type 3 (deposit wallet) but live.funder " + polymarket.SafeWallet(owner).Hex() + " is the signing key's Gnosis Safe", "set live.signature_type: 2"}},
		{"the deposit wallet signed as a proxy", 1, polymarket.DepositWallet(owner),
			[]string{"is the signing key's deposit wallet", "set live.signature_type: 3"}},
		{"a proxy type without a funder", 1, common.Address{},
			[]string{"live.signature_type 1 (Polymarket proxy) but live.funder \"\" is the signing key itself", "set live.funder: " + polymarket.ProxyWallet(owner).Hex()}},
		{"another key's deposit wallet", 3, polymarket.DepositWallet(other),
			[]string{"live.funder " + polymarket.DepositWallet(other).Hex() + " is none of the wallets of the signing key " + owner.Hex(), "deposit wallet " + polymarket.DepositWallet(owner).Hex()}},
		{"another key's address as an EOA funder", 0, other,
			[]string{"is none of the wallets of the signing key"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := walletSetup{signatureType: c.st, balance: 1_000_000, approved: allSpenders}
			if c.funder != (common.Address{}) {
				ws.funder = c.funder.Hex()
				ws.deployed = []common.Address{c.funder}
			}
			env := startWallet(t, key, ws)
			code, out, errOut := runCLI(t, "preflight", "--config", env.configPath)
			if code != exConfig {
				t.Fatalf("exit %d, want %d (EX_CONFIG):\n%s%s", code, exConfig, out, errOut)
			}
			if !lineHas(out, "wallet type", "FAIL") {
				t.Errorf("no failed wallet type line:\n%s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) || !strings.Contains(out, w) {
					t.Errorf("%q missing from the table or stderr:\n%s\nstderr: %s", w, out, errOut)
				}
			}
		})
	}
}

// Each missing approval is its own fix: the call, on which contract, for which spender, and how
// the funder's kind sends it.
func TestPreflightPrintsEachMissingApprovalWithItsFix(t *testing.T) {
	key := ownerKey(t)
	owner := crypto.PubkeyToAddress(key.PublicKey)
	for _, c := range []struct {
		name string
		st   int
		how  string
	}{
		{"EOA", 0, "send it from the key's address " + owner.Hex()},
		{"deposit wallet", 3, "log in to polymarket.com with this key and enable trading"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ws := walletSetup{signatureType: c.st, approved: []common.Address{polymarket.CTFExchangeV2},
				ctfOperators: []common.Address{polymarket.NegRiskCTFExchangeV2}}
			if c.st == 3 {
				ws.funder = polymarket.DepositWallet(owner).Hex()
				ws.deployed = []common.Address{polymarket.DepositWallet(owner)}
			}
			env := startWallet(t, key, ws)
			code, out, _ := runCLI(t, "preflight", "--config", env.configPath)
			if code != exFail {
				t.Fatalf("exit %d, want %d:\n%s", code, exFail, out)
			}
			if !lineHas(out, "pusd approvals", "FAIL",
				"approve("+polymarket.NegRiskCTFExchangeV2.Hex()+", 2^256-1) on pUSD "+polymarket.CollateralPUSD.Hex(),
				"approve("+polymarket.NegRiskAdapterTrading.Hex()+", 2^256-1) on pUSD",
				c.how) {
				t.Errorf("pUSD approvals:\n%s", out)
			}
			if lineHas(out, "pusd approvals", "approve("+polymarket.CTFExchangeV2.Hex()) {
				t.Errorf("asks to approve the exchange already approved:\n%s", out)
			}
			if !lineHas(out, "ctf approvals", "FAIL",
				"setApprovalForAll("+polymarket.CTFExchangeV2.Hex()+", true) on the CTF "+testCTF.Hex(),
				"setApprovalForAll("+polymarket.NegRiskAdapterTrading.Hex()+", true)", c.how) ||
				lineHas(out, "ctf approvals", "setApprovalForAll("+polymarket.NegRiskCTFExchangeV2.Hex()) {
				t.Errorf("CTF approvals:\n%s", out)
			}
			if !lineHas(out, "funder pusd", "FAIL", "0 pUSD", "deposit pUSD to") {
				t.Errorf("empty funder:\n%s", out)
			}
		})
	}
}

// A wallet contract that is not on chain cannot approve or sign: preflight says so, and for the
// legacy deposit wallet address names the current one instead.
func TestPreflightReportsAnUndeployedWallet(t *testing.T) {
	key := ownerKey(t)
	owner := crypto.PubkeyToAddress(key.PublicKey)
	env := startWallet(t, key, walletSetup{signatureType: 1, funder: polymarket.ProxyWallet(owner).Hex(), balance: 1})
	_, out, _ := runCLI(t, "preflight", "--config", env.configPath)
	if !lineHas(out, "wallet contract", "FAIL", "not deployed", "polymarket.com") {
		t.Errorf("undeployed proxy:\n%s", out)
	}
	env = startWallet(t, key, walletSetup{signatureType: 3, funder: polymarket.DepositWalletUUPS(owner).Hex(), balance: 1})
	_, out, _ = runCLI(t, "preflight", "--config", env.configPath)
	if !lineHas(out, "wallet contract", "FAIL", "legacy", polymarket.DepositWallet(owner).Hex()) {
		t.Errorf("undeployed legacy deposit wallet:\n%s", out)
	}
}

// The daemon runs the same check at its start: a wrong signature type stops it with EX_CONFIG
// (which the unit's RestartPreventExitStatus keeps from restarting) before any order.
func TestRunStopsOnAWrongSignatureTypeBeforeAnyOrder(t *testing.T) {
	env := startLive(t, "")
	safe := polymarket.SafeWallet(crypto.PubkeyToAddress(env.clob.Key().PublicKey))
	raw, err := os.ReadFile(env.configPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(raw), "live:\n", "live:\n  signature_type: 3\n  funder: \""+safe.Hex()+"\"\n", 1)
	writeFile(t, env.configPath, cfg)
	srv := env.clob.Server()
	reached := func() int {
		return srv.Requests(clobsim.RoutePostOrder) + srv.Requests(clobsim.RouteBalanceAllowance) +
			srv.Requests(clobsim.RouteDeriveAPIKey) + srv.Requests(clobsim.RouteVersion)
	}
	var runErr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run([]string{"run", "--config", env.configPath}, io.Discard, &runErr) }()
	code := -1
	waitUntil(t, "the daemon to stop or to reach the CLOB", func() bool {
		select {
		case code = <-done:
			return true
		default:
			return reached() > 0
		}
	})
	if code == -1 { // it started: stop it the way systemd would
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		code = <-done
		t.Fatalf("the daemon started and reached the CLOB (exit %d after SIGTERM):\n%s", code, runErr.String())
	}
	errOut := runErr.String()
	if code != exConfig {
		t.Fatalf("exit %d, want %d:\n%s", code, exConfig, errOut)
	}
	for _, w := range []string{"live.signature_type 3 (deposit wallet) but live.funder " + safe.Hex() + " is the signing key's Gnosis Safe", "set live.signature_type: 2"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("%q missing:\n%s", w, errOut)
		}
	}
	if n := reached(); n != 0 {
		t.Errorf("the daemon reached the CLOB %d times before stopping", n)
	}
	// check-config, run before a restart, says the same.
	code, _, errOut = runCLI(t, "check-config", "--config", env.configPath)
	if code != exConfig || !strings.Contains(errOut, "set live.signature_type: 2") {
		t.Errorf("check-config: exit %d, want %d with the fix:\n%s", code, exConfig, errOut)
	}
}
