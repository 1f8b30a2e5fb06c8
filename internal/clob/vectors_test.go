package clob

import (
	"encoding/json"
	"testing"

	"github.com/polybot/polybot/internal/testing/vectors"
)

// vector is one entry of the Polymarket conformance vectors (testdata/ at the repository root).
type vector = vectors.Vector

func loadVectors(t *testing.T, category string) []vector { return vectors.Load(t, category) }

func decodeJSON(t *testing.T, raw json.RawMessage, dst any) { vectors.Decode(t, raw, dst) }

func runVectors(t *testing.T, category string, f func(t *testing.T, v vector)) {
	vectors.Run(t, category, f)
}
