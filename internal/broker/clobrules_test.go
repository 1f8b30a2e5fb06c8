package broker

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/polybot/polybot/internal/clob"
	"github.com/polybot/polybot/internal/polymarket"
	"github.com/polybot/polybot/internal/testing/clobsim"
)

// TestCLOBRefusalsFailTheCopyClearly: each account or market rule of the CLOB refuses a live
// copy with an error that names the rule in the CLOB's words, is classified for the caller (a
// final refusal, never an unknown outcome to resend), and moves no money.
func TestCLOBRefusalsFailTheCopyClearly(t *testing.T) {
	for _, c := range []struct {
		name  string
		rule  func(f *fixture)
		o     Order
		kind  clob.ErrorKind
		text  string
		posts int // POST /order requests the refusal takes
	}{
		{"a geo-blocked region", func(f *fixture) { f.srv.SetGeoblocked(true) },
			copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit), clob.KindGeoblocked, "Trading restricted in your region", 1},
		{"closed-only mode refuses a BUY", func(f *fixture) { f.srv.SetClosedOnly(f.addr, true) },
			copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit), clob.KindValidation, "address in closed only mode", 1},
		{"an account that must use its deposit wallet", func(f *fixture) { f.srv.RequireDepositWallet(f.addr) },
			copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit), clob.KindValidation, "please use the deposit wallet flow", 1},
		{"a closed market", func(f *fixture) { f.srv.CloseMarket(tokenNormal) },
			copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit), clob.KindNotFound, "No orderbook exists", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, nil)
			if c.rule != nil {
				c.rule(f)
			}
			before := f.srv.Balance(f.addr)
			_, err := f.broker.PlaceOrder(context.Background(), c.o)
			if err == nil {
				t.Fatal("the copy was placed")
			}
			if clob.KindOf(err) != c.kind || !strings.Contains(err.Error(), c.text) {
				t.Errorf("err = %v (kind %s), want kind %s with %q", err, clob.KindOf(err), c.kind, c.text)
			}
			if errors.Is(err, clob.ErrUnknownOutcome) {
				t.Errorf("a refusal reported as an unknown outcome: %v", err)
			}
			if n := f.srv.Requests(clobsim.RoutePostOrder); n != c.posts {
				t.Errorf("%d POST /order, want %d (a final refusal is not retried)", n, c.posts)
			}
			if after := f.srv.Balance(f.addr); after.Collateral != before.Collateral {
				t.Errorf("collateral %d -> %d", before.Collateral, after.Collateral)
			}
		})
	}
}

// TestAChangedOrderVersionIsRefusedAsAVersionMismatch: once GET /version announces another
// version, the CLOB refuses the V2 order with order_version_mismatch and polybot reports that
// kind (its breaker and status act on it), not a plain validation error.
func TestAChangedOrderVersionIsRefusedAsAVersionMismatch(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.SetVersion(3)
	_, err := f.broker.PlaceOrder(context.Background(), copyOrder(tokenNormal, polymarket.Buy, 10*unit, 5*unit))
	if clob.KindOf(err) != clob.KindVersionMismatch || !strings.Contains(err.Error(), "order_version_mismatch") {
		t.Fatalf("err = %v (kind %s), want an order_version_mismatch", err, clob.KindOf(err))
	}
	if bal := f.srv.Balance(f.addr); bal.Collateral != 1000*unit {
		t.Errorf("collateral %d moved", bal.Collateral)
	}
}
