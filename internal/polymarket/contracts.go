package polymarket

import (
	"github.com/ethereum/go-ethereum/common"
)

// Polymarket's exchange contracts on Polygon (chain 137). This is the one place polybot spells
// their addresses: config defaults, the order CLI, the simulators and the tests refer to these.
// polybot reads the addresses it watches and signs for from its config, so a testnet or a local
// node works without code changes.
var (
	// CTFExchangeV2 and NegRiskCTFExchangeV2 are the CLOB V2 exchanges (live since 2026-04-28):
	// EIP-712 domain version "2", V2 OrderFilled.
	CTFExchangeV2        = common.HexToAddress("0xE111180000d2663C0091e4f400237545B87B996B")
	NegRiskCTFExchangeV2 = common.HexToAddress("0xe2222d279d744050d28e00520010520000310F59")
	// ExchangeV3 is the Protocol V2 exchange added in 2026: EIP-712 domain version "3" over the
	// same Order struct as V2, and the V2 OrderFilled event unchanged. Its address comes from the
	// official V2 client's configuration only, so it is a config default, not a hard rule.
	ExchangeV3 = common.HexToAddress("0xe3333700cA9d93003F00f0F71f8515005F6c00Aa")
	// CTFExchangeV1 and NegRiskCTFExchangeV1 are the V1 exchanges: V1 orders are refused since
	// 2026-04-28; their logs matter for history only.
	CTFExchangeV1        = common.HexToAddress("0x4bFb41d5B3570DeFd03C39a9A4D8dE6Bd8B8982E")
	NegRiskCTFExchangeV1 = common.HexToAddress("0xC5d563A36AE78145C45a50134d48A1215220f80a")
)

// The contracts around the exchanges: where outcome tokens live, resolve and are redeemed.
var (
	// ConditionalTokens is the Gnosis Conditional Tokens (CTF, ERC1155) contract: it holds the
	// outcome tokens, emits ConditionResolution and redeems standard markets' positions.
	ConditionalTokens = common.HexToAddress("0x4D97DCd97eC945f40cF65F87097ACe5EA0476045")
	// NegRiskAdapter is the current Neg Risk Adapter (late 2026), which redeems neg-risk
	// markets' positions.
	NegRiskAdapter = common.HexToAddress("0xadA2005600Dec949baf300f4C6120000bDB6eAab")
	// USDCe is USDC.e, the collateral the CTF's outcome tokens are backed by (6 decimals).
	USDCe = common.HexToAddress("0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174")
)

// Exchange describes one known exchange contract.
type Exchange struct {
	Name    string
	Address common.Address
	// Events is the OrderFilled layout the exchange emits.
	Events Version
	// DomainVersion is the version of the EIP-712 domain its orders are signed under.
	DomainVersion string
	// NegRisk is set for the neg-risk exchanges (NegRiskAdapter positions).
	NegRisk bool
	// Current is set for the exchanges that trade today, which polybot watches by default.
	Current bool
}

// Exchanges lists the known exchanges: the current ones first, in the order of the default
// chain.exchanges.
var Exchanges = []Exchange{
	{Name: "CTF Exchange V2", Address: CTFExchangeV2, Events: V2, DomainVersion: "2", Current: true},
	{Name: "NegRisk CTF Exchange V2", Address: NegRiskCTFExchangeV2, Events: V2, DomainVersion: "2", NegRisk: true, Current: true},
	{Name: "ExchangeV3", Address: ExchangeV3, Events: V2, DomainVersion: "3", Current: true},
	{Name: "CTF Exchange V1", Address: CTFExchangeV1, Events: V1, DomainVersion: "1"},
	{Name: "NegRisk CTF Exchange V1", Address: NegRiskCTFExchangeV1, Events: V1, DomainVersion: "1", NegRisk: true},
}

// CurrentExchanges returns the addresses of the exchanges that trade today: the default
// chain.exchanges.
func CurrentExchanges() []common.Address {
	var out []common.Address
	for _, e := range Exchanges {
		if e.Current {
			out = append(out, e.Address)
		}
	}
	return out
}

// LookupExchange returns the known exchange at addr.
func LookupExchange(addr common.Address) (Exchange, bool) {
	for _, e := range Exchanges {
		if e.Address == addr {
			return e, true
		}
	}
	return Exchange{}, false
}
