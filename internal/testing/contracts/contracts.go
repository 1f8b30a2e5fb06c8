// Package contracts holds polysim's Solidity stand-ins for the contracts polybot meets on
// Polygon, compiled by scripts/contracts.sh with a pinned solc. The sources are in src/, the
// artifacts in build/ (committed: tests read only these, and CI's `scripts/contracts.sh --check`
// proves they are what the sources compile to). Each source says which real contract it stands
// in for and where its rules come from.
package contracts

import (
	"bytes"
	"embed"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm/runtime"
	"github.com/ethereum/go-ethereum/params"
)

//go:embed build/*.abi build/*.bin
var build embed.FS

// Artifact is one compiled contract.
type Artifact struct {
	Name string
	ABI  abi.ABI
	Bin  []byte // creation code, without constructor arguments
}

// Load reads the compiled contract name (the Solidity contract's name).
func Load(name string) (Artifact, error) {
	rawABI, err := build.ReadFile("build/" + name + ".abi")
	if err != nil {
		return Artifact{}, fmt.Errorf("contract %s: %w", name, err)
	}
	parsed, err := abi.JSON(bytes.NewReader(rawABI))
	if err != nil {
		return Artifact{}, fmt.Errorf("contract %s: abi: %w", name, err)
	}
	rawBin, err := build.ReadFile("build/" + name + ".bin")
	if err != nil {
		return Artifact{}, fmt.Errorf("contract %s: %w", name, err)
	}
	bin, err := hex.DecodeString(strings.TrimSpace(string(rawBin)))
	if err != nil {
		return Artifact{}, fmt.Errorf("contract %s: bin: %w", name, err)
	}
	return Artifact{Name: name, ABI: parsed, Bin: bin}, nil
}

// MustLoad is Load for package-level test fixtures; it panics on a missing artifact.
func MustLoad(name string) Artifact {
	a, err := Load(name)
	if err != nil {
		panic(err)
	}
	return a
}

// Creation is the creation code with the constructor's arguments appended: the data of a
// contract-creation transaction.
func (a Artifact) Creation(args ...any) ([]byte, error) {
	packed, err := a.ABI.Pack("", args...)
	if err != nil {
		return nil, fmt.Errorf("contract %s: constructor arguments: %w", a.Name, err)
	}
	return append(bytes.Clone(a.Bin), packed...), nil
}

// Runtime runs the constructor in a throw-away EVM and returns the deployed code, with any
// immutables baked in: the code to place at a fixed address in a genesis allocation (where a
// real contract would sit, such as a wallet at its CREATE2 address). Storage the constructor
// writes is not kept: contracts placed this way read their state from slots the allocation sets.
func (a Artifact) Runtime(args ...any) ([]byte, error) {
	init, err := a.Creation(args...)
	if err != nil {
		return nil, err
	}
	code, _, _, err := runtime.Create(init, &runtime.Config{
		ChainConfig: params.AllDevChainProtocolChanges,
		BlockNumber: big.NewInt(1),
		Time:        1,
		GasLimit:    30_000_000,
		Origin:      common.Address{},
	})
	if err != nil {
		return nil, fmt.Errorf("contract %s: run constructor: %w", a.Name, err)
	}
	return code, nil
}
