package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/polybot/polybot/internal/admin"
)

// polybot status shows the footprint a user sees in top, split, and the store file behind it.
func TestStatusShowsTheFootprint(t *testing.T) {
	st := admin.Status{Version: "fake", Memory: admin.Memory{
		RSSBytes: 45 << 20, RSSAnonBytes: 18 << 20, RSSFileBytes: 27 << 20,
		StoreFileBytes: 24 << 20, StoreLiveBytes: 20 << 20, DedupBytes: 3 << 20,
	}}
	var b bytes.Buffer
	printStatus(&b, &st, "/run/polybot/admin.sock")
	for _, want := range []string{
		"RSS 45.0 MiB: 18.0 MiB anonymous, 27.0 MiB file-backed",
		"file 24.0 MiB, 20.0 MiB of it data",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("polybot status lacks %q:\n%s", want, b.String())
		}
	}
}
