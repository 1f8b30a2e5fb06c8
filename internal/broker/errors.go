package broker

import (
	"context"
	"errors"
	"net"

	"github.com/polybot/polybot/internal/clob"
)

// What an order's failure means. A broker's Prepare and PlaceOrder return errors that match
// these with errors.Is (Classify adds them to the CLOB client's errors), so that a caller
// decides what became of an order from the broker's answer alone, without reading the CLOB's
// errors. An error that matches none of them leaves the order's outcome unknown.
var (
	// ErrRefused: the copy was refused before anything was sent (size below the market
	// minimum, price off the grid, no source fill). Nothing traded; the CLOB was not asked.
	ErrRefused = errors.New("copy refused before sending")
	// ErrPriceBound: no price on the tick grid keeps a copy within its slippage bound. Nothing
	// was sent.
	ErrPriceBound = errors.New("no price within the slippage bound")
	// ErrRejected: the CLOB answered and refused the order (validation, balance, geoblock,
	// version, tick size, auth, not filled): it did not trade.
	ErrRejected = errors.New("order rejected by the CLOB")
	// ErrNotPlaced: the CLOB was not taking orders (engine restart, cancel-only mode): the
	// order did not trade, and it is not a rejection.
	ErrNotPlaced = clob.ErrNotPlaced
	// ErrOutage: the CLOB did not answer usefully: a 5xx or 429 after the client's retries, a
	// timeout, a broken connection, an answer that cannot be read, or an order whose outcome
	// is unknown. It counts towards the CLOB circuit breaker.
	ErrOutage = errors.New("CLOB outage")
	// ErrUnknownOutcome: the order may or may not have traded; look it up by its hash before
	// sending anything again. It is also an outage.
	ErrUnknownOutcome = clob.ErrUnknownOutcome
	// ErrOrderNotFound: an order looked up (Lookup, Resolve) is not known to the CLOB.
	ErrOrderNotFound = clob.ErrOrderNotFound
	// ErrMarketClosed: the CLOB no longer knows the market (its /book answers 404 once the
	// market has closed): nothing was sent, and no order in it can trade.
	ErrMarketClosed = errors.New("market closed: the CLOB no longer lists its book")
	// ErrNotCanceled: the CLOB did not cancel an order (CancelOrder): it may be final already.
	ErrNotCanceled = clob.ErrNotCanceled
	// ErrVersionMismatch: the CLOB refused the order as signed for an order version it no
	// longer takes (order_version_mismatch; also ErrRejected). The broker has re-read GET
	// /version: preparing the copy again signs it for the version the CLOB now wants, when
	// polybot can sign it.
	ErrVersionMismatch = errors.New("order signed for a version the CLOB no longer takes")
	// ErrGeoblocked: the CLOB refused the order for the caller's region (HTTP 403; also
	// ErrRejected). No order can trade from this host.
	ErrGeoblocked = errors.New("orders refused from this region (geoblock)")
)

// Classify adds to err, an error of an order's preparation or placement, the sentinels above
// that say what it means (ErrOutage, ErrRejected); its message is unchanged. The brokers here
// classify their own errors; Classify is exported for brokers that stand in for them.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var c *classified
	if errors.As(err, &c) {
		return err
	}
	var kinds []error
	if outage(err) {
		kinds = append(kinds, ErrOutage)
	}
	if rejected(err) {
		kinds = append(kinds, ErrRejected)
		switch clob.KindOf(err) {
		case clob.KindVersionMismatch:
			kinds = append(kinds, ErrVersionMismatch)
		case clob.KindGeoblocked:
			kinds = append(kinds, ErrGeoblocked)
		}
	}
	if kinds == nil {
		return err
	}
	return &classified{err: err, kinds: kinds}
}

// classified is an error with the sentinels Classify found it means.
type classified struct {
	err   error
	kinds []error
}

func (c *classified) Error() string { return c.err.Error() }

func (c *classified) Unwrap() []error { return append([]error{c.err}, c.kinds...) }

func outage(err error) bool {
	if errors.Is(err, clob.ErrUnknownOutcome) || errors.Is(err, clob.ErrMalformedResponse) || clob.KindOf(err) == clob.KindRetryable {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)
}

func rejected(err error) bool {
	if errors.Is(err, clob.ErrUnknownOutcome) {
		return false
	}
	switch clob.KindOf(err) {
	case clob.KindValidation, clob.KindInsufficientBalance, clob.KindGeoblocked, clob.KindVersionMismatch,
		clob.KindTickSize, clob.KindAuth, clob.KindNotFilled:
		return true
	}
	return false
}
