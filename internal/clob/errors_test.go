package clob

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		status int
		msg    string
		want   ErrorKind
	}{
		{500, "internal error", KindRetryable},
		{502, "", KindRetryable},
		{429, "Too Many Requests", KindRetryable},
		{401, "Unauthorized/Invalid api key", KindAuth},
		{403, "Trading restricted in your region", KindGeoblocked},
		{400, "order_version_mismatch", KindVersionMismatch},
		{200, "order 0x1 is invalid. Duplicated.", KindDuplicate},
		{400, "order 0x1 is invalid. Price (0.555) breaks minimum tick size rule: 0.01", KindTickSize},
		{400, "not enough balance / allowance", KindInsufficientBalance},
		{400, "order couldn't be fully filled. FOK orders are fully filled or killed.", KindNotFilled},
		{400, "no orders found to match with FAK order. FAK orders are partially filled or killed if no match is found.", KindNotFilled},
		{404, "order not found", KindNotFound},
		{400, "invalid signature", KindValidation},
		{302, "moved", KindUnknown},
	}
	for _, c := range cases {
		if got := classify(c.status, c.msg); got != c.want {
			t.Errorf("classify(%d, %q) = %s, want %s", c.status, c.msg, got, c.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		"-1":                            0,
		"soon":                          0,
		"Sun, 22 Nov 2026 12:00:07 GMT": 7 * time.Second,
		"Sun, 22 Nov 2026 11:00:00 GMT": 0,
	}
	for in, want := range cases {
		if got := retryAfter(in, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestIsRetryableAndUnknownOutcome(t *testing.T) {
	ae := &APIError{Status: http.StatusBadGateway, Kind: KindRetryable, Method: "GET", Path: "/book"}
	if !IsRetryable(fmt.Errorf("wrapped: %w", ae)) {
		t.Error("a wrapped 502 is not retryable")
	}
	if IsRetryable(fmt.Errorf("%w: %w", ErrUnknownOutcome, ae)) {
		t.Error("an unknown outcome is retryable")
	}
	if IsRetryable(errors.New("other")) || IsRetryable(nil) {
		t.Error("a plain error is retryable")
	}
	if got := ae.Error(); got != "clob GET /book: 502 Bad Gateway (retryable)" {
		t.Errorf("Error() = %q", got)
	}
}

func TestNumberParsing(t *testing.T) {
	good := map[string]string{`"0.5"`: "0.5", `0.01`: "0.01", `""`: "0", `null`: "0", `"123456789012345678901234567890"`: "123456789012345678901234567890"}
	for in, want := range good {
		var n number
		if err := json.Unmarshal([]byte(in), &n); err != nil || !n.Equal(decimal.RequireFromString(want)) {
			t.Errorf("number %s = %s, %v; want %s", in, n.Decimal, err, want)
		}
	}
	for _, in := range []string{`"1e5"`, `"abc"`, `true`, `"0x10"`, `{}`} {
		var n number
		if err := json.Unmarshal([]byte(in), &n); err == nil {
			t.Errorf("number %s accepted as %s", in, n.Decimal)
		}
	}
}
