package broker

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/order"
	"github.com/polybot/polybot/internal/polymarket"
)

// Terms are what the exchange asks of a BUY copy of one leader fill, and what it charges: the
// executor reads them before deciding, so that the strategy raises or skips a copy below a
// minimum and counts the fee in every cap (strategy.Market).
type Terms struct {
	// Price is the price a BUY copy is signed at (LimitPrice), micro-USDC per share; 0 when
	// the broker fills at the leader's price (plain paper) or the copy cannot be priced (the
	// broker then refuses it when placing).
	Price uint64
	// MinShares is the least size of a copy in base units: the market's min_order_size. The
	// CLOB asks it of resting orders; polybot holds its market orders to it too (minSizeFor).
	MinShares uint64
	// MinNotional is the least collateral a BUY copy may spend: order.MinMarketableBuy where
	// the CLOB's rule applies; 0 for none.
	MinNotional uint64
	// FeeRateBps and FeeExponent are the market's taker fee schedule (order.ScheduleFee), read
	// from FeeSource.
	FeeRateBps, FeeExponent int
	FeeSource               string
}

// Terms reads the market of f's token (cached; clob.Client.Market) for a BUY copy of f.
func (b *CLOB) Terms(ctx context.Context, f *polymarket.Fill) (Terms, error) {
	if f.TokenID == nil || f.TokenID.Sign() <= 0 {
		return Terms{}, fmt.Errorf("%w: no token id", ErrRefused)
	}
	m, err := b.client.Market(ctx, f.TokenID.String())
	if err != nil {
		return Terms{}, err
	}
	t := Terms{MinShares: shareUnits(m.MinSize), MinNotional: order.MinMarketableBuy, FeeRateBps: m.FeeRateBps,
		FeeExponent: m.FeeExponent, FeeSource: m.FeeSource}
	if price, err := LimitPrice(polymarket.Buy, f.Collateral, f.Shares, b.slippage, m.TickSize); err == nil {
		t.Price = shareUnits(price)
	}
	return t, nil
}

// marketSource is a BookSource that also serves a token's tick and minimum size from a cache
// (*clob.Client.Market): the terms then cost no second GET /book, the one PlaceOrder fills on.
type marketSource interface {
	Market(ctx context.Context, tokenID string) (clob.MarketInfo, error)
}

// Terms reads the market of f's token for a BUY copy of f (from the source's cache when it has
// one, else its book): the same minimums as the CLOB's, and the configured paper fee rate.
func (p *PaperBook) Terms(ctx context.Context, f *polymarket.Fill) (Terms, error) {
	if f.TokenID == nil || f.TokenID.Sign() <= 0 {
		return Terms{}, fmt.Errorf("%w: no token id", ErrRefused)
	}
	var minSize, tick decimal.Decimal
	if ms, ok := p.books.(marketSource); ok {
		m, err := ms.Market(ctx, f.TokenID.String())
		if err != nil {
			return Terms{}, fmt.Errorf("read the market of token %s: %w", f.TokenID, err)
		}
		minSize, tick = m.MinSize, m.TickSize
	} else {
		bk, err := p.books.Book(ctx, f.TokenID.String())
		if err != nil {
			return Terms{}, fmt.Errorf("read the book of token %s: %w", f.TokenID, err)
		}
		minSize, tick = bk.MinOrderSize, bk.TickSize
	}
	t := Terms{MinShares: shareUnits(minSize), MinNotional: order.MinMarketableBuy, FeeRateBps: p.feeBps,
		FeeExponent: 1, FeeSource: "live.paper_fee_rate_bps"}
	if price, err := LimitPrice(polymarket.Buy, f.Collateral, f.Shares, p.slippage, tick); err == nil {
		t.Price = shareUnits(price)
	}
	return t, nil
}

// Terms of plain paper: fills at the leader's price with no minimum, at the configured fee rate.
func (p Paper) Terms(context.Context, *polymarket.Fill) (Terms, error) {
	return Terms{FeeRateBps: p.FeeRateBps, FeeExponent: 1, FeeSource: "live.paper_fee_rate_bps"}, nil
}

// belowMinNotional refuses a BUY of size shares at price whose collateral (cut to cents, as a
// market BUY's is) is below the CLOB's minimum for a marketable BUY. The executor raises or
// skips such a copy before it gets here (copy.raise_to_minimum); this is the last guard.
func belowMinNotional(side polymarket.Side, price, size decimal.Decimal) error {
	if side != polymarket.Buy {
		return nil
	}
	amount := size.Mul(price).Truncate(2)
	if amount.Shift(6).LessThan(decimal.NewFromInt(order.MinMarketableBuy)) {
		return fmt.Errorf("%w: a BUY of %s shares at %s spends $%s, below the CLOB's $1 minimum for a marketable BUY (copy.raise_to_minimum)",
			ErrRefused, size, price, amount)
	}
	return nil
}

// shareUnits converts a non-negative decimal (shares or a price) to base units, rounding up:
// a minimum read in base units is never below the market's.
func shareUnits(d decimal.Decimal) uint64 {
	u := d.Shift(6).Ceil()
	if !u.IsPositive() || u.BigInt().BitLen() > 63 {
		return 0
	}
	return u.BigInt().Uint64()
}
