package order_test

import (
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/polybot/polybot/internal/order"
)

func ExampleLimitAmounts() {
	price := decimal.RequireFromString("0.56")
	size := decimal.RequireFromString("21.04")
	tick := decimal.RequireFromString("0.01")
	maker, taker, err := order.LimitAmounts(order.Buy, price, size, tick)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("pay", maker, "USDC units for", taker, "share units")
	// Output: pay 11782400 USDC units for 21040000 share units
}

func ExampleMarketPrice() {
	// Asks as GET /book returns them, best (lowest) last.
	asks := []order.Level{
		{Price: decimal.RequireFromString("0.60"), Size: decimal.RequireFromString("100")},
		{Price: decimal.RequireFromString("0.55"), Size: decimal.RequireFromString("100")},
	}
	p, err := order.MarketPrice(order.Buy, asks, decimal.RequireFromString("80"), order.FOK)
	fmt.Println(p, err)
	// Output: 0.6 <nil>
}
