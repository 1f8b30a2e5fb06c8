package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
)

// BookSource reads an outcome token's order book (GET /book); *clob.Client is one.
type BookSource interface {
	Book(ctx context.Context, tokenID string) (*clob.Book, error)
}

// PaperBookOptions configure a PaperBook.
type PaperBookOptions struct {
	Books     BookSource
	Slippage  decimal.Decimal
	OrderType order.OrderType // FAK, FOK or GTC, as live
	// FeeRateBps is the taker fee rate charged on each fill (order.TakerFee); 0 charges none.
	FeeRateBps int
	Log        *zap.Logger
}

// PaperBook fills copies on paper against the CLOB's real order book: at the limit price the
// live broker would use (LimitPrice), walking the opposite side best first and taking each
// level at its own price, with the live order type's semantics: FOK fills all or nothing, FAK
// and GTC fill what crosses (a GTC rest is not simulated). Nothing is sent but GET /book.
type PaperBook struct {
	books     BookSource
	slippage  decimal.Decimal
	orderType order.OrderType
	feeBps    int
	log       *zap.Logger
}

// NewPaperBook validates opts and returns the broker.
func NewPaperBook(opts PaperBookOptions) (*PaperBook, error) {
	if opts.Books == nil {
		return nil, errors.New("paper book broker: no book source")
	}
	if opts.Slippage.IsNegative() {
		return nil, fmt.Errorf("paper book broker: slippage %s is negative", opts.Slippage)
	}
	switch opts.OrderType {
	case order.FAK, order.FOK, order.GTC:
	default:
		return nil, fmt.Errorf("paper book broker: order type %s (valid: FAK, FOK, GTC)", opts.OrderType)
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.FeeRateBps < 0 || opts.FeeRateBps > 10000 {
		return nil, fmt.Errorf("paper book broker: fee rate %d bps outside [0, 10000]", opts.FeeRateBps)
	}
	return &PaperBook{books: opts.Books, slippage: opts.Slippage, orderType: opts.OrderType, feeBps: opts.FeeRateBps,
		log: opts.Log.Named("paper_book")}, nil
}

// PlaceOrder fills o against the current book. Refusals match the live broker's: a size below
// the market minimum or no price within the slippage bound is an error, nothing to match is an
// execution of zero shares.
func (p *PaperBook) PlaceOrder(ctx context.Context, o Order) (_ Execution, err error) {
	defer func() { err = Classify(err) }()
	if o.TokenID == nil || o.TokenID.Sign() <= 0 {
		return Execution{}, fmt.Errorf("paper %s: %w: no token id", o.Side, ErrRefused)
	}
	bk, err := p.books.Book(ctx, o.TokenID.String())
	if err != nil {
		return Execution{}, fmt.Errorf("paper %s of token %s: read the book: %w", o.Side, o.Market, err)
	}
	price, err := LimitPrice(o.Side, o.Collateral, o.Shares, p.slippage, bk.TickSize)
	if err != nil {
		return Execution{}, fmt.Errorf("paper %s of token %s: %w", o.Side, o.Market, err)
	}
	size := sharesOf(o.Shares)
	if err := order.ValidateSize(size, minSizeFor(o, p.orderType, bk.MinOrderSize)); err != nil {
		return Execution{}, fmt.Errorf("paper %s of token %s: %w: %w", o.Side, o.Market, ErrRefused, err)
	}
	if err := belowMinNotional(o.Side, price, size); err != nil {
		return Execution{}, fmt.Errorf("paper %s of token %s: %w", o.Side, o.Market, err)
	}
	want, _ := toUnits(size)
	levels := bk.Asks
	if o.Side == polymarket.Sell {
		levels = bk.Bids
	}
	shares, coll := Walk(o.Side, levels, price, want)
	if p.orderType == order.FOK && shares < want {
		shares, coll = 0, 0
	}
	p.log.Debug("paper fill against the book", zap.String("token", o.Market), zap.Stringer("side", o.Side),
		zap.String("limit", price.String()), zap.String("size", size.String()), zap.String("filled", sharesUnits(shares)),
		zap.String("usdc", sharesUnits(coll)))
	e := execution(o, shares, coll)
	e.Fee = order.TakerFee(shares, coll, p.feeBps)
	return e, nil
}

// Walk takes up to want shares (base units) from levels (as GET /book sends them: best last) at
// prices no worse than limit, each level at its own price, and returns the shares and collateral
// (base units; each level's collateral rounded down, as the CLOB's matching does).
func Walk(side polymarket.Side, levels []order.Level, limit decimal.Decimal, want uint64) (shares, collateral uint64) {
	for i := len(levels) - 1; i >= 0 && shares < want; i-- {
		l := levels[i]
		if (side == polymarket.Buy && l.Price.GreaterThan(limit)) || (side == polymarket.Sell && l.Price.LessThan(limit)) {
			break
		}
		avail, err := toUnits(l.Size)
		if err != nil || avail == 0 {
			continue
		}
		q := min(avail, want-shares)
		shares += q
		collateral += decimal.NewFromUint64(q).Mul(l.Price).Floor().BigInt().Uint64()
	}
	return shares, collateral
}
