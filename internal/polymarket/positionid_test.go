package polymarket

import (
	"math/big"
	"strconv"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm/runtime"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"

	"github.com/polybot/polybot/internal/testing/contracts"
)

// evmIDs runs the Conditional Tokens id views (polysim's Solidity stand-in of CTHelpers.sol)
// in a throw-away EVM.
type evmIDs struct {
	t    *testing.T
	art  contracts.Artifact
	code []byte
}

func newEVMIDs(t *testing.T) *evmIDs {
	art := contracts.MustLoad("PositionIds")
	code, err := art.Runtime()
	if err != nil {
		t.Fatal(err)
	}
	return &evmIDs{t: t, art: art, code: code}
}

func (e *evmIDs) call(method string, args ...any) []any {
	e.t.Helper()
	in, err := e.art.ABI.Pack(method, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	ret, _, err := runtime.Execute(e.code, in, &runtime.Config{ChainConfig: params.AllDevChainProtocolChanges, GasLimit: 10_000_000,
		BlockNumber: big.NewInt(1), Time: 1})
	if err != nil {
		e.t.Fatalf("%s: %v", method, err)
	}
	out, err := e.art.ABI.Unpack(method, ret)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// The ids polybot derives are the ones the Conditional Tokens contract's own formulas give, run
// in the EVM: a wrong id would tie a token to no market, or to the wrong outcome slot.
func TestPositionIDsAreTheContractsOwn(t *testing.T) {
	e := newEVMIDs(t)
	oracle := common.HexToAddress("0x00000000000000000000000000000000000000aa")
	for i := range 40 {
		q := crypto.Keccak256Hash([]byte("question " + strconv.Itoa(i)))
		cond := ConditionIDOf(oracle, q, 2)
		if got := e.call("getConditionId", oracle, q, big.NewInt(2))[0].([32]byte); common.Hash(got) != cond {
			t.Fatalf("condition %d: polybot %s, contract %x", i, cond, got)
		}
		for _, set := range []int64{1, 2, 3} {
			want := common.Hash(e.call("getCollectionId", [32]byte{}, [32]byte(cond), big.NewInt(set))[0].([32]byte))
			got := CollectionID(cond, big.NewInt(set))
			if got != want {
				t.Fatalf("condition %d index set %d: collection polybot %s, contract %s", i, set, got, want)
			}
			for _, c := range PositionCollaterals {
				if p, w := PositionID(c, got), e.call("getPositionId", c, [32]byte(want))[0].(*big.Int); p.Cmp(w) != 0 {
					t.Fatalf("position id over %s: polybot %s, contract %s", c, p, w)
				}
			}
		}
	}
}

func TestSlotOf(t *testing.T) {
	e := newEVMIDs(t)
	cond := ConditionIDOf(common.Address{1}, common.Hash{2}, 2)
	other := ConditionIDOf(common.Address{1}, common.Hash{3}, 2)
	for slot := range 2 {
		for _, c := range PositionCollaterals {
			coll := e.call("getCollectionId", [32]byte{}, [32]byte(cond), big.NewInt(1<<slot))[0].([32]byte)
			token := e.call("getPositionId", c, coll)[0].(*big.Int)
			got, gotColl, ok := SlotOf(cond, 2, token, PositionCollaterals)
			if !ok || got != slot || gotColl != c {
				t.Errorf("token of slot %d over %s: slot %d over %s (found %v)", slot, c, got, gotColl, ok)
			}
			if _, _, ok := SlotOf(other, 2, token, PositionCollaterals); ok {
				t.Errorf("token of slot %d found in another condition", slot)
			}
			if _, _, ok := SlotOf(cond, 2, token, []common.Address{{9}}); ok {
				t.Errorf("token of slot %d found over another collateral", slot)
			}
		}
	}
}

func TestMatchOrdersCondition(t *testing.T) {
	cond := common.HexToHash("0x1234")
	in := append(append([]byte(nil), MatchOrdersV2Selector...), cond.Bytes()...)
	if got, err := MatchOrdersCondition(append(in, make([]byte, 64)...)); err != nil || got != cond {
		t.Fatalf("condition %s, %v; want %s", got, err, cond)
	}
	for name, bad := range map[string][]byte{"empty": nil, "short": in[:30], "another selector": append([]byte{1, 2, 3, 4}, cond.Bytes()...)} {
		if _, err := MatchOrdersCondition(bad); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
