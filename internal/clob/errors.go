package clob

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors of the client, wrapped with details.
var (
	// ErrUnknownOutcome: POST /order was sent but no answer came back (timeout, broken connection,
	// gateway error). The order may or may not be on the book: look it up by its hash with
	// GetOrder before sending it again. It is never retried blindly.
	ErrUnknownOutcome = errors.New("order outcome unknown: look the order up by hash before resending")
	// ErrOrderNotFound: the CLOB has no order with that id.
	ErrOrderNotFound = errors.New("order not found")
	// ErrNotV2: the CLOB does not speak protocol version 2, the only one polybot signs for.
	ErrNotV2 = errors.New("CLOB is not protocol version 2")
	// ErrMalformedResponse: the CLOB answered 2xx with a body polybot cannot read.
	ErrMalformedResponse = errors.New("malformed CLOB response")
	// ErrNoCredentials: a private call was made before API credentials were set or derived.
	ErrNoCredentials = errors.New("no CLOB API credentials")
	// ErrNotCanceled: the CLOB refused to cancel an order.
	ErrNotCanceled = errors.New("order not canceled")
	// ErrNotPlaced: POST /order was refused because the CLOB could not take orders (425 while
	// its matching engine restarts, 503 in cancel-only or post-only mode) for longer than the
	// client waited. The order certainly did not trade; it is not a rejection of the order.
	ErrNotPlaced = errors.New("order not placed: the CLOB is not taking orders")
)

// ErrorKind sorts CLOB failures by what the caller should do about them.
type ErrorKind uint8

// Error kinds.
const (
	// KindUnknown: an error the client cannot place; do not retry.
	KindUnknown ErrorKind = iota
	// KindRetryable: 5xx, 429, timeouts and connection errors; the client already retried.
	KindRetryable
	// KindValidation: the CLOB refused the request as invalid (bad signature, size below the
	// minimum, wrong owner…). Sending it again will fail again.
	KindValidation
	// KindInsufficientBalance: not enough collateral/shares, or not enough allowance.
	KindInsufficientBalance
	// KindGeoblocked: 403, trading is refused from this region.
	KindGeoblocked
	// KindVersionMismatch: the order was signed for another exchange version
	// (order_version_mismatch); the client re-resolves GET /version.
	KindVersionMismatch
	// KindTickSize: the price is off the market's tick grid; the tick size may have changed, so
	// call InvalidateMarket and re-price.
	KindTickSize
	// KindDuplicate: an order with the same hash was already placed.
	KindDuplicate
	// KindAuth: L1 or L2 authentication was refused (401).
	KindAuth
	// KindNotFound: 404, no such market or order.
	KindNotFound
	// KindNotFilled: a FOK order could not be filled in full, or a FAK order found nothing to
	// match; nothing was traded.
	KindNotFilled
)

var kindNames = [...]string{"unknown", "retryable", "validation", "insufficient balance/allowance", "geoblocked",
	"version mismatch", "tick size", "duplicate", "auth", "not found", "not filled"}

// String names the kind.
func (k ErrorKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("ErrorKind(%d)", uint8(k))
}

// APIError is a failed CLOB call: an HTTP error answer, a POST /order answered with
// success=false, or (Status 0) a transport failure. Message is the API's own text.
type APIError struct {
	Status     int
	Message    string
	Kind       ErrorKind
	Method     string
	Path       string
	RetryAfter time.Duration // from a Retry-After header, when there was one
	Err        error         // the transport error, for Status 0

	notSent bool // the request certainly did not reach the server (dial failure)
}

// Error reads "clob POST /order: 400 Bad Request: <message> (validation)", followed by the fix
// when the refusal is one of the account set-up refusals of hints.go.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("clob ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	b.WriteString(": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d %s", e.Status, http.StatusText(e.Status))
		if e.Message != "" {
			b.WriteString(": ")
		}
	}
	b.WriteString(e.Message)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	fmt.Fprintf(&b, " (%s)", e.Kind)
	if h := hintFor(e.Message); h != "" {
		b.WriteString(": ")
		b.WriteString(h)
	}
	return b.String()
}

// Unwrap returns the transport error, if any.
func (e *APIError) Unwrap() error { return e.Err }

// KindOf returns the kind of the APIError in err's chain, or KindUnknown.
func KindOf(err error) ErrorKind {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Kind
	}
	return KindUnknown
}

// IsRetryable reports whether err is a transient CLOB failure (5xx, 429, timeout, connection)
// that may succeed if the same call is made again later. An ErrUnknownOutcome is not retryable:
// the order must be looked up first.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, ErrUnknownOutcome) {
		return false
	}
	return KindOf(err) == KindRetryable
}

// classify sorts an error answer by its status and the API's message.
func classify(status int, msg string) ErrorKind {
	m := strings.ToLower(msg)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(m, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("order_version_mismatch", "version mismatch"):
		return KindVersionMismatch
	case status == http.StatusTooManyRequests || status == http.StatusTooEarly || status >= 500:
		return KindRetryable
	case status == http.StatusUnauthorized:
		return KindAuth
	case status == http.StatusForbidden:
		return KindGeoblocked
	case has("duplicat"):
		return KindDuplicate
	case has("tick size", "tick_size"):
		return KindTickSize
	case has("not enough balance", "allowance", "insufficient", "not_enough_balance"):
		return KindInsufficientBalance
	case has("fully filled or killed", "no orders found to match", "couldn't be fully filled"):
		return KindNotFilled
	case status == http.StatusNotFound:
		return KindNotFound
	case status >= 400 || status == 200:
		return KindValidation
	default:
		return KindUnknown
	}
}
