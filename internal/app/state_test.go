package app

import (
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/polybot/polybot/internal/config"
)

// An upgrade from a version that kept the checkpoint in <state_dir>/chain-<id>.checkpoint.json
// resumes from that block: the store takes it over once, and keeps its own afterwards.
func TestOpenStoreCarriesOverTheOldCheckpointFile(t *testing.T) {
	dir := t.TempDir()
	cfg := &config.Config{StateDir: dir}
	cfg.Chain.ChainID = 137
	old := filepath.Join(dir, "chain-137.checkpoint.json")
	if err := os.WriteFile(old, []byte(`{"version":1,"block":70000123}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Another chain's file is not this chain's checkpoint.
	if err := os.WriteFile(filepath.Join(dir, "chain-80002.checkpoint.json"), []byte(`{"version":1,"block":5}`), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := openStore(cfg, nil, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if b, ok, err := st.Checkpoint(); err != nil || !ok || b != 70000123 {
		t.Fatalf("checkpoint after the upgrade = %d, %v, %v; want 70000123 from the old file", b, ok, err)
	}
	if err := st.SetCheckpoint(70000200); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = openStore(cfg, nil, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if b, _, err := st.Checkpoint(); err != nil || b != 70000200 {
		t.Fatalf("checkpoint after a restart = %d, %v; want the store's own 70000200, not the old file's", b, err)
	}
}

func TestOpenStoreWithoutCheckpointFileStartsWithNone(t *testing.T) {
	cfg := &config.Config{StateDir: t.TempDir()}
	cfg.Chain.ChainID = 137
	st, err := openStore(cfg, nil, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if b, ok, err := st.Checkpoint(); err != nil || ok {
		t.Fatalf("checkpoint of a fresh state_dir = %d, %v, %v; want none", b, ok, err)
	}
}

// An old checkpoint file that does not parse, or has another format version, is not trusted:
// the store starts without a checkpoint (chain.start_block applies) instead of from a guess.
func TestOpenStoreLeavesAnUnreadableOldCheckpointFile(t *testing.T) {
	for _, content := range []string{`{"version":1,"block":`, `{"version":2,"block":42}`} {
		dir := t.TempDir()
		cfg := &config.Config{StateDir: dir}
		cfg.Chain.ChainID = 137
		if err := os.WriteFile(filepath.Join(dir, "chain-137.checkpoint.json"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := openStore(cfg, nil, zaptest.NewLogger(t))
		if err != nil {
			t.Fatalf("%s: %v", content, err)
		}
		b, ok, err := st.Checkpoint()
		_ = st.Close()
		if err != nil || ok {
			t.Errorf("old file %s: checkpoint %d, %v, %v; want none", content, b, ok, err)
		}
	}
}
