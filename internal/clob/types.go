package clob

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/shopspring/decimal"
)

// fieldError is a JSON value polybot refuses; it names the value's problem, never the value.
type fieldError struct{ msg string }

func (e *fieldError) Error() string { return e.msg }

// maxNumberLen bounds a number's text: enough for any uint256 (78 digits).
const maxNumberLen = 100

// number is a decimal the CLOB sends as a JSON string or number. "" and null read as zero.
// Exponent notation is refused, so a hostile "1e999999999" cannot cost memory later.
type number struct{ decimal.Decimal }

func (n *number) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		n.Decimal = decimal.Zero
		return nil
	}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	if len(b) == 0 {
		n.Decimal = decimal.Zero
		return nil
	}
	if len(b) > maxNumberLen || bytes.ContainsAny(b, "eE") {
		return &fieldError{"a number is too long or uses exponent notation"}
	}
	d, err := decimal.NewFromString(string(b))
	if err != nil {
		return &fieldError{"a number is not a decimal"}
	}
	n.Decimal = d
	return nil
}

// integer is an int64 the CLOB sends as a JSON string or number; "" and null read as zero.
type integer int64

func (n *integer) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	if len(b) == 0 || string(b) == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return &fieldError{"an integer field is not an integer"}
	}
	*n = integer(v)
	return nil
}

// flag is a bool the CLOB may send as true/false or "true"/"false".
type flag bool

func (f *flag) UnmarshalJSON(b []byte) error {
	switch string(bytes.Trim(bytes.TrimSpace(b), `"`)) {
	case "true":
		*f = true
	case "false", "", "null":
		*f = false
	default:
		return &fieldError{"a boolean field is not true or false"}
	}
	return nil
}

// text is a string the CLOB may send as a JSON string or, for ids, a number.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*t = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
		return nil
	}
	if _, err := strconv.ParseFloat(string(b), 64); err == nil && len(b) <= maxNumberLen {
		*t = text(b)
		return nil
	}
	return &fieldError{"a text field is neither a string nor a number"}
}

// checkRange fails unless lo <= d <= hi.
func checkRange(name string, d, lo, hi decimal.Decimal) error {
	if d.LessThan(lo) || d.GreaterThan(hi) {
		return fmt.Errorf("%w: %s %s is outside [%s, %s]", ErrMalformedResponse, name, d, lo, hi)
	}
	return nil
}
