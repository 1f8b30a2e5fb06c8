package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/secrets"
)

type orderFlags struct {
	token, side, price, size, amount, typ, tickSize, protocol string
	negRisk, offline, asJSON                                  bool
	keyFile, clobURL, funder, exchange, owner                 string
	chainID                                                   int64
	sigType                                                   int
	salt, timestamp, expiration, nonce, feeRateBps            string
	makerAmount, takerAmount                                  string
}

func newOrderCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "order",
		Short: "Build and inspect CLOB orders without sending them",
	}
	cmd.AddCommand(newOrderBuildCmd(stdout))
	return cmd
}

func newOrderBuildCmd(stdout io.Writer) *cobra.Command {
	var f orderFlags
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Print a signed order exactly as it would be POSTed, without sending it",
		Long: `Build and sign one order and print it: amounts in base units (6 decimals), the order
hash, the signature and, with --owner (the API key), the exact POST /order body. Nothing is sent.
--size is shares; --amount is the USDC of a market BUY (FOK or FAK, priced at worst --price).
Without --offline the tick size and neg-risk flag are read from the CLOB (GET /book).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return buildOrder(cmd.Context(), &f, stdout)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.token, "token", "", "outcome token id (decimal)")
	fl.StringVar(&f.side, "side", "", "BUY or SELL")
	fl.StringVar(&f.price, "price", "", "limit price, or worst price of a market order")
	fl.StringVar(&f.size, "size", "", "size in shares (limit orders, market SELL)")
	fl.StringVar(&f.amount, "amount", "", "USDC to spend: a market BUY (with --type FOK or FAK)")
	fl.StringVar(&f.typ, "type", "GTC", "GTC, GTD, FOK or FAK")
	fl.StringVar(&f.tickSize, "tick-size", "", "tick size (required with --offline)")
	fl.BoolVar(&f.negRisk, "neg-risk", false, "the market trades on the neg-risk exchange (with --offline)")
	fl.StringVar(&f.protocol, "protocol", "v2", "exchange protocol: v2, v3 (ExchangeV3, domain version 3), or v1 for the historical vectors")
	fl.BoolVar(&f.offline, "offline", false, "contact nothing: use --tick-size and --neg-risk")
	fl.StringVar(&f.keyFile, "key-file", "", "0600 file holding the signing key (hex); default $CREDENTIALS_DIRECTORY/polybot-key")
	fl.BoolVar(&f.asJSON, "json", false, "print JSON")
	fl.StringVar(&f.clobURL, "clob-url", clob.DefaultBaseURL, "CLOB to read the market from (without --offline)")
	fl.Int64Var(&f.chainID, "chain-id", 137, "chain id of the signing domain")
	fl.IntVar(&f.sigType, "signature-type", 0, "0 EOA, 1 POLY_PROXY, 2 POLY_GNOSIS_SAFE, 3 POLY_1271")
	fl.StringVar(&f.funder, "funder", "", "maker wallet for signature types 1 to 3")
	fl.StringVar(&f.exchange, "exchange", "", "verifying contract (default: the protocol's exchange for --neg-risk)")
	fl.StringVar(&f.owner, "owner", "", "API key: print the full POST /order body")
	fl.StringVar(&f.salt, "salt", "", "salt (default random, at most 2^53-1)")
	fl.StringVar(&f.timestamp, "timestamp", "", "V2 creation time, unix ms (default now)")
	fl.StringVar(&f.expiration, "expiration", "0", "unix seconds; required for GTD")
	fl.StringVar(&f.nonce, "nonce", "0", "V1 nonce")
	fl.StringVar(&f.feeRateBps, "fee-rate-bps", "0", "V1 fee rate in basis points")
	fl.StringVar(&f.makerAmount, "maker-amount", "", "raw makerAmount in base units, overriding --price/--size (conformance checks)")
	fl.StringVar(&f.takerAmount, "taker-amount", "", "raw takerAmount in base units, with --maker-amount")
	return cmd
}

func parseBig(name, s string) (*big.Int, error) {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok || v.Sign() < 0 {
		return nil, fmt.Errorf("--%s %q: want a non-negative integer", name, s)
	}
	return v, nil
}

func parseDec(name, s string) (decimal.Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("--%s %q: want a decimal number", name, s)
	}
	return d, nil
}

// builtOrder is what order build prints.
type builtOrder struct {
	Protocol    string          `json:"protocol"`
	Exchange    string          `json:"exchange"`
	NegRisk     bool            `json:"negRisk"`
	TickSize    string          `json:"tickSize,omitempty"`
	OrderType   string          `json:"orderType"`
	Side        string          `json:"side"`
	Price       string          `json:"price,omitempty"`
	MakerAmount string          `json:"makerAmount"`
	TakerAmount string          `json:"takerAmount"`
	OrderHash   string          `json:"orderHash"`
	Signature   string          `json:"signature"`
	Order       json.RawMessage `json:"order"`
	// Body is the exact POST /order body, as a string so that no re-indenting touches it.
	Body string `json:"body,omitempty"`
}

func buildOrder(ctx context.Context, f *orderFlags, stdout io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	spec, err := parseOrderFlags(f)
	if err != nil {
		return err
	}
	if err := spec.readMarket(ctx, f); err != nil {
		return err
	}
	if err := spec.setAmounts(f); err != nil {
		return err
	}
	signed, exchange, err := signOrder(f, spec)
	if err != nil {
		return err
	}
	out, err := spec.built(f, signed, exchange)
	if err != nil {
		return err
	}
	if f.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	printBuiltOrder(stdout, out, spec.negRisk, f.chainID)
	return nil
}

// usageError is a bad command line: polybot exits with EX_USAGE.
func usageError(err error) error { return &exitError{code: exUsage, err: err} }

// orderSpec is the order that order build's flags ask for.
type orderSpec struct {
	proto              order.Protocol
	side               order.Side
	typ                order.OrderType
	tokenID            *big.Int
	raw                bool // --maker-amount and --taker-amount give the amounts
	tick               decimal.Decimal
	negRisk            bool
	price              decimal.Decimal // unset when raw
	makerAmt, takerAmt *big.Int
}

// parseOrderFlags checks the flags that say what to build.
func parseOrderFlags(f *orderFlags) (*orderSpec, error) {
	proto, err := order.ParseProtocol(f.protocol)
	if err != nil {
		return nil, usageError(fmt.Errorf("--protocol %q: want v2, v3 (ExchangeV3) or v1", f.protocol))
	}
	side, err := order.ParseSide(strings.ToUpper(f.side))
	if err != nil {
		return nil, usageError(fmt.Errorf("--side: %w", err))
	}
	typ, err := order.ParseOrderType(strings.ToUpper(f.typ))
	if err != nil {
		return nil, usageError(fmt.Errorf("--type: %w", err))
	}
	tokenID, ok := new(big.Int).SetString(f.token, 10)
	if !ok || tokenID.Sign() < 0 {
		return nil, usageError(fmt.Errorf("--token %q: want a decimal token id", f.token))
	}
	spec := &orderSpec{proto: proto, side: side, typ: typ, tokenID: tokenID, negRisk: f.negRisk,
		raw: f.makerAmount != "" || f.takerAmount != ""}
	if !spec.raw {
		if f.price == "" {
			return nil, usageError(errors.New("--price is required"))
		}
		if (f.size == "") == (f.amount == "") {
			return nil, usageError(errors.New("give one of --size (shares) and --amount (USDC of a market BUY)"))
		}
		if f.amount != "" && (side != order.Buy || (typ != order.FOK && typ != order.FAK)) {
			return nil, usageError(errors.New("--amount is a market BUY: use it with --side BUY and --type FOK or FAK (a market SELL takes --size)"))
		}
	}
	return spec, nil
}

// readMarket sets the tick size and neg-risk flag: from the flags with --offline or raw
// amounts, from the CLOB otherwise.
func (spec *orderSpec) readMarket(ctx context.Context, f *orderFlags) error {
	var err error
	if f.tickSize != "" {
		if spec.tick, err = parseDec("tick-size", f.tickSize); err != nil {
			return usageError(err)
		}
	}
	if f.offline {
		if f.tickSize == "" && !spec.raw {
			return usageError(errors.New("--offline needs --tick-size"))
		}
		return nil
	}
	if spec.raw {
		return nil
	}
	c, err := clob.NewClient(clob.Options{BaseURL: f.clobURL, ChainID: f.chainID})
	if err != nil {
		return usageError(err)
	}
	defer c.Close()
	m, err := c.Market(ctx, spec.tokenID.String())
	if err != nil {
		return fmt.Errorf("read the market (or pass --offline --tick-size T [--neg-risk]): %w", err)
	}
	if f.tickSize != "" && !spec.tick.Equal(m.TickSize) {
		return fmt.Errorf("--tick-size %s differs from the market's %s", spec.tick, m.TickSize)
	}
	spec.tick, spec.negRisk = m.TickSize, m.NegRisk
	return nil
}

// setAmounts sets the maker and taker amounts: raw, or from the price and the size or the
// amount of a market BUY.
func (spec *orderSpec) setAmounts(f *orderFlags) error {
	var err error
	if spec.raw {
		if spec.makerAmt, err = parseBig("maker-amount", f.makerAmount); err != nil {
			return usageError(err)
		}
		if spec.takerAmt, err = parseBig("taker-amount", f.takerAmount); err != nil {
			return usageError(err)
		}
		return nil
	}
	if spec.price, err = parseDec("price", f.price); err != nil {
		return usageError(err)
	}
	proto, side, price, tick := spec.proto, spec.side, spec.price, spec.tick
	switch {
	case f.amount != "":
		amt, err := parseDec("amount", f.amount)
		if err != nil {
			return usageError(err)
		}
		spec.makerAmt, spec.takerAmt, err = order.MarketAmounts(proto, side, price, amt, tick)
		if err != nil {
			return usageError(err)
		}
	case spec.typ == order.FOK || spec.typ == order.FAK:
		size, err := parseDec("size", f.size)
		if err != nil {
			return usageError(err)
		}
		if side == order.Sell {
			spec.makerAmt, spec.takerAmt, err = order.MarketAmounts(proto, side, price, size, tick)
		} else {
			spec.makerAmt, spec.takerAmt, err = order.LimitAmounts(side, price, size, tick)
		}
		if err != nil {
			return usageError(err)
		}
	default:
		size, err := parseDec("size", f.size)
		if err != nil {
			return usageError(err)
		}
		if err := order.ValidateSize(size, decimal.Zero); err != nil {
			return usageError(err)
		}
		if spec.makerAmt, spec.takerAmt, err = order.LimitAmounts(side, price, size, tick); err != nil {
			return usageError(err)
		}
	}
	return nil
}

// signOrder signs spec with the key of --key-file for the exchange it is built for.
func signOrder(f *orderFlags, spec *orderSpec) (*order.Signed, common.Address, error) {
	key, err := secrets.LoadKey(secrets.KeyOptions{KeyFile: f.keyFile})
	if err != nil {
		return nil, common.Address{}, usageError(fmt.Errorf("signing key: %w", err))
	}
	signer := crypto.PubkeyToAddress(key.PublicKey)
	st := order.SignatureType(f.sigType)
	maker := signer
	if st != order.EOA {
		if !common.IsHexAddress(f.funder) {
			return nil, common.Address{}, usageError(fmt.Errorf("--signature-type %s needs --funder", st))
		}
		maker = common.HexToAddress(f.funder)
		if st == order.Poly1271 {
			signer = maker
		}
	}
	exchange, err := defaultExchange(spec.proto, spec.negRisk)
	if f.exchange != "" {
		if !common.IsHexAddress(f.exchange) {
			return nil, common.Address{}, usageError(fmt.Errorf("--exchange %q is not an address", f.exchange))
		}
		exchange, err = common.HexToAddress(f.exchange), nil
	}
	if err != nil {
		return nil, common.Address{}, usageError(err)
	}
	p, err := orderParams(f, spec)
	if err != nil {
		return nil, common.Address{}, err
	}
	p.Maker, p.Signer, p.SignatureType = maker, signer, st
	signed, err := order.Sign(key, spec.proto, f.chainID, exchange, p)
	if err != nil {
		return nil, common.Address{}, usageError(err)
	}
	return signed, exchange, nil
}

// orderParams is the order to sign but for its maker, signer and signature type.
func orderParams(f *orderFlags, spec *orderSpec) (order.Params, error) {
	salt, err := orderSalt(f.salt)
	if err != nil {
		return order.Params{}, usageError(err)
	}
	expiration, err := parseBig("expiration", f.expiration)
	if err != nil {
		return order.Params{}, usageError(err)
	}
	p := order.Params{Salt: salt, TokenID: spec.tokenID, MakerAmount: spec.makerAmt, TakerAmount: spec.takerAmt,
		Side: spec.side, Expiration: expiration}
	if spec.proto == order.V1 {
		if p.Nonce, err = parseBig("nonce", f.nonce); err != nil {
			return order.Params{}, usageError(err)
		}
		if p.FeeRateBps, err = parseBig("fee-rate-bps", f.feeRateBps); err != nil {
			return order.Params{}, usageError(err)
		}
	} else {
		p.Timestamp = big.NewInt(time.Now().UnixMilli())
		if f.timestamp != "" {
			if p.Timestamp, err = parseBig("timestamp", f.timestamp); err != nil {
				return order.Params{}, usageError(err)
			}
		}
	}
	return p, nil
}

// built is what order build prints of a signed order.
func (spec *orderSpec) built(f *orderFlags, signed *order.Signed, exchange common.Address) (builtOrder, error) {
	out := builtOrder{
		Protocol: spec.proto.String(), Exchange: exchange.Hex(), NegRisk: spec.negRisk, OrderType: spec.typ.String(), Side: spec.side.String(),
		MakerAmount: spec.makerAmt.String(), TakerAmount: spec.takerAmt.String(),
		OrderHash: signed.Hash.Hex(), Signature: "0x" + common.Bytes2Hex(signed.Signature()),
	}
	if !spec.tick.IsZero() {
		out.TickSize = spec.tick.String()
	}
	if !spec.raw {
		out.Price = spec.price.String()
	}
	var err error
	if out.Order, err = signed.MarshalJSON(); err != nil {
		return builtOrder{}, usageError(err)
	}
	if f.owner != "" {
		body, err := signed.PostOrderBody(f.owner, spec.typ, false)
		if err != nil {
			return builtOrder{}, usageError(err)
		}
		out.Body = string(body)
	}
	return out, nil
}

// printBuiltOrder prints out for a reader.
func printBuiltOrder(stdout io.Writer, out builtOrder, negRisk bool, chainID int64) {
	fmt.Fprintf(stdout, "protocol:     %s (exchange %s, neg-risk %t, chain %d)\n", out.Protocol, out.Exchange, negRisk, chainID)
	fmt.Fprintf(stdout, "order:        %s %s", out.Side, out.OrderType)
	if out.Price != "" {
		fmt.Fprintf(stdout, " at %s", out.Price)
	}
	if out.TickSize != "" {
		fmt.Fprintf(stdout, " (tick %s)", out.TickSize)
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "makerAmount:  %s\n", out.MakerAmount)
	fmt.Fprintf(stdout, "takerAmount:  %s\n", out.TakerAmount)
	fmt.Fprintf(stdout, "order hash:   %s\n", out.OrderHash)
	fmt.Fprintf(stdout, "signature:    %s\n", out.Signature)
	fmt.Fprintf(stdout, "order:        %s\n", out.Order)
	if out.Body != "" {
		fmt.Fprintf(stdout, "POST /order:  %s\n", out.Body)
	} else {
		fmt.Fprintln(stdout, "POST /order:  (pass --owner <API key> to print the full body)")
	}
}

// defaultExchange is the verifying contract of proto's exchange for a normal or neg-risk market.
// V3 orders (Protocol V2 positions) go to ExchangeV3 whether the market is neg-risk or not, as
// clob-client-v2 signs them (order.VenueFor).
func defaultExchange(proto order.Protocol, negRisk bool) (common.Address, error) {
	switch proto {
	case order.V1:
		return map[bool]common.Address{false: polymarket.CTFExchangeV1, true: polymarket.NegRiskCTFExchangeV1}[negRisk], nil
	case order.V3:
		return polymarket.ExchangeV3, nil
	default:
		return map[bool]common.Address{false: polymarket.CTFExchangeV2, true: polymarket.NegRiskCTFExchangeV2}[negRisk], nil
	}
}

func orderSalt(s string) (*big.Int, error) {
	if s != "" {
		v, err := parseBig("salt", s)
		if err != nil {
			return nil, err
		}
		if v.Cmp(big.NewInt(order.MaxSalt)) > 0 {
			return nil, fmt.Errorf("--salt %s exceeds 2^53-1", s)
		}
		return v, nil
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return new(big.Int).SetUint64(binary.BigEndian.Uint64(b[:])&order.MaxSalt | 1), nil
}
