package order

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// vector is one entry of the shared Polymarket conformance vectors.
type vector struct {
	Name          string          `json:"name"`
	Category      string          `json:"category"`
	Inputs        json.RawMessage `json:"inputs"`
	Expected      json.RawMessage `json:"expected"`
	AlsoComputed  json.RawMessage `json:"also_computed"`
	Derived       bool            `json:"derived"`
	VerifiedNotes string          `json:"verified"`
}

// loadVectors reads testdata/polymarket-vectors.json at the repository root (the directory
// holding go.mod) and returns the vectors of category.
func loadVectors(t *testing.T, category string) []vector {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("cannot find the repository root (no go.mod above the test directory)")
		}
		dir = parent
	}
	path := filepath.Join(dir, "testdata", "polymarket-vectors.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("conformance vectors missing: %v (they live in testdata/ at the repository root)", err)
	}
	var file struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var out []vector
	for _, v := range file.Vectors {
		if v.Category == category {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no vectors of category %q", path, category)
	}
	return out
}

func decodeJSON(t *testing.T, raw json.RawMessage, dst any) {
	t.Helper()
	if err := json.Unmarshal(raw, dst); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
}

// runVectors runs f on each vector of category as a subtest and logs how many passed.
func runVectors(t *testing.T, category string, f func(t *testing.T, v vector)) {
	t.Helper()
	vs := loadVectors(t, category)
	passed := 0
	for _, v := range vs {
		if t.Run(v.Name, func(t *testing.T) { f(t, v) }) {
			passed++
		}
	}
	t.Logf("vectors %s: %d/%d passed", category, passed, len(vs))
}
