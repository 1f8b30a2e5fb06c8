// Package vectors loads the Polymarket conformance vectors polybot's protocol tests check
// against: testdata/polymarket-vectors.json at the repository root, taken from the official
// clients' own tests (each vector names its source).
package vectors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Vector is one conformance vector; Inputs, Expected and AlsoComputed are decoded by the test
// that knows the category's shape.
type Vector struct {
	Name          string          `json:"name"`
	Category      string          `json:"category"`
	Inputs        json.RawMessage `json:"inputs"`
	Expected      json.RawMessage `json:"expected"`
	AlsoComputed  json.RawMessage `json:"also_computed"`
	Derived       bool            `json:"derived"`
	VerifiedNotes string          `json:"verified"`
}

// Path is the vectors file: testdata/polymarket-vectors.json in the directory holding go.mod,
// found upwards from the test's directory, so a fresh clone in any folder finds it.
func Path(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "polymarket-vectors.json")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("cannot find the repository root (no go.mod above the test directory)")
		}
		dir = parent
	}
}

// Load returns the vectors of category; it fails the test when the file is missing or holds
// none of them.
func Load(t testing.TB, category string) []Vector {
	t.Helper()
	path := Path(t)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("conformance vectors missing: %v (they live in testdata/ at the repository root)", err)
	}
	var file struct {
		Vectors []Vector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var out []Vector
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

// Decode decodes a vector's raw field into dst, failing the test if it cannot.
func Decode(t testing.TB, raw json.RawMessage, dst any) {
	t.Helper()
	if err := json.Unmarshal(raw, dst); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
}

// Run runs f on each vector of category as a subtest and logs how many passed.
func Run(t *testing.T, category string, f func(t *testing.T, v Vector)) {
	t.Helper()
	vs := Load(t, category)
	passed := 0
	for _, v := range vs {
		if t.Run(v.Name, func(t *testing.T) { f(t, v) }) {
			passed++
		}
	}
	t.Logf("vectors %s: %d/%d passed", category, passed, len(vs))
}
