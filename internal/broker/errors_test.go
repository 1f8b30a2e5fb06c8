package broker

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/polybot/polybot/internal/clob"
)

// The executor decides what became of an order from the broker's sentinels alone: each CLOB
// error must carry the right ones, and keep its message (it is logged and journaled).
func TestClassifyNamesWhatAnOrderErrorMeans(t *testing.T) {
	unknown := fmt.Errorf("%w: %w", clob.ErrUnknownOutcome, &clob.APIError{Status: 502, Kind: clob.KindRetryable})
	for _, c := range []struct {
		name                     string
		err                      error
		outage, rejected, placed bool
	}{
		{"unknown outcome", unknown, true, false, true},
		{"5xx", &clob.APIError{Status: 503, Kind: clob.KindRetryable}, true, false, true},
		{"malformed", fmt.Errorf("%w: x", clob.ErrMalformedResponse), true, false, true},
		{"timeout", context.DeadlineExceeded, true, false, true},
		{"validation", &clob.APIError{Status: 400, Kind: clob.KindValidation}, false, true, true},
		{"balance", &clob.APIError{Status: 400, Kind: clob.KindInsufficientBalance}, false, true, true},
		{"unknown outcome of a rejection kind", fmt.Errorf("%w: %w", clob.ErrUnknownOutcome, &clob.APIError{Status: 400, Kind: clob.KindValidation}), true, false, true},
		{"not placed", fmt.Errorf("post: %w", clob.ErrNotPlaced), false, false, false},
		{"refused here", ErrRefused, false, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Classify(c.err)
			if err.Error() != c.err.Error() {
				t.Errorf("message %q, want %q", err, c.err)
			}
			if got := errors.Is(err, ErrOutage); got != c.outage {
				t.Errorf("outage %v, want %v", got, c.outage)
			}
			if got := errors.Is(err, ErrRejected); got != c.rejected {
				t.Errorf("rejected %v, want %v", got, c.rejected)
			}
			if got := !errors.Is(err, ErrNotPlaced); got != c.placed {
				t.Errorf("placed %v, want %v", got, c.placed)
			}
			if !errors.Is(err, c.err) {
				t.Error("the classified error no longer wraps the original")
			}
		})
	}
	if Classify(nil) != nil {
		t.Error("Classify(nil) is not nil")
	}
}
