package checkpoint

import (
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
)

func TestFileRoundTripSurvivesReopen(t *testing.T) {
	path := Path(filepath.Join(t.TempDir(), "state"), 137)
	f := NewFile(path)
	if _, ok, err := f.Load(); ok || err != nil {
		t.Fatalf("fresh checkpoint: ok=%v err=%v, want nothing saved", ok, err)
	}
	for _, b := range []uint64{5, 70_000_000, 70_000_001} {
		if err := f.Save(b); err != nil {
			t.Fatal(err)
		}
	}
	got, ok, err := NewFile(path).Load()
	if err != nil || !ok || got != 70_000_001 {
		t.Fatalf("Load after reopen = %d %v %v, want 70000001", got, ok, err)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("state dir holds %d files, want only the checkpoint (no temporary files left)", len(entries))
	}
	if info, _ := os.Stat(filepath.Dir(path)); info.Mode().Perm() != 0o700 {
		t.Fatalf("state dir mode %v, want 0700", info.Mode().Perm())
	}
}

func TestFileRefusesACorruptCheckpoint(t *testing.T) {
	for name, body := range map[string]string{
		"truncated":     `{"version":1,"blo`,
		"other version": `{"version":9,"block":3}`,
		"negative":      `{"version":1,"block":-3}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cp.json")
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			if b, ok, err := NewFile(path).Load(); err == nil {
				t.Fatalf("Load accepted %q: block %d ok %v", body, b, ok)
			}
		})
	}
}

func TestPathNamesTheChain(t *testing.T) {
	if Path("/s", 137) == Path("/s", 80002) {
		t.Fatal("two chains share one checkpoint file")
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
