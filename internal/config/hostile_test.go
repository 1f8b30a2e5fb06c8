package config

import (
	"strings"
	"testing"
	"time"
)

// TestHostileYAMLIsRefusedWithoutBlowingUp feeds Parse documents built to cost time or memory:
// an alias bomb ("billion laughs"), deep nesting, a huge exponent and a megabyte of digits. Each
// is answered, with an error where the document is not a valid config. The 10 s bound catches a
// hang only; it is not a timing target.
func TestHostileYAMLIsRefusedWithoutBlowingUp(t *testing.T) {
	var bomb strings.Builder
	bomb.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		bomb.WriteString("a" + itoa(i) + ": &a" + itoa(i) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				bomb.WriteString(", ")
			}
			bomb.WriteString("*a" + itoa(i-1))
		}
		bomb.WriteString("]\n")
	}
	leaders := "leaders:\n  - address: 0x1000000000000000000000000000000000000001\n"
	cases := []struct {
		name string
		doc  string
	}{
		{"an alias bomb", leaders + bomb.String()},
		{"nesting ten thousand deep", leaders + "copy: " + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + "\n"},
		{"a huge exponent", leaders + "copy:\n  copy_ratio: 1e999999999\n"},
		{"a tiny exponent", leaders + "copy:\n  copy_ratio: 1e-999999999\n"},
		{"an exponent the decimal parser accepts", leaders + "copy:\n  max_trade_usdc: 1e9999\n"},
		{"a megabyte of digits", leaders + "copy:\n  max_trade_usdc: \"" + strings.Repeat("9", 1<<20) + "\"\n"},
		{"a megabyte key", leaders + strings.Repeat("k", 1<<20) + ": 1\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := Parse([]byte(c.doc))
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("Parse accepted the document")
				}
				if n := len(err.Error()); n > 4096+len(c.doc)/100 {
					t.Errorf("a %d-byte error message", n)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Parse did not answer within 10 s")
			}
		})
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func TestMetricsBeyondLoopbackNeedsTheOptIn(t *testing.T) {
	base := "leaders:\n  - address: 0x1000000000000000000000000000000000000001\nmetrics:\n  listen: "
	for _, addr := range []string{"0.0.0.0:9464", "[::]:9464", ":9464", "192.0.2.7:9464", "metrics.example.com:9464"} {
		_, err := Parse([]byte(base + "\"" + addr + "\"\n"))
		if err == nil || !strings.Contains(err.Error(), "metrics.listen") {
			t.Errorf("metrics.listen %s without allow_non_loopback: %v, want a problem naming metrics.listen", addr, err)
		}
		if _, err := Parse([]byte(base + "\"" + addr + "\"\n  allow_non_loopback: true\n")); err != nil {
			t.Errorf("metrics.listen %s with allow_non_loopback: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:9464", "localhost:9464", "[::1]:9464"} {
		if _, err := Parse([]byte(base + "\"" + addr + "\"\n")); err != nil {
			t.Errorf("metrics.listen %s: %v", addr, err)
		}
	}
}
