package app

import (
	"os"
	"testing"
	"time"

	"github.com/polybot/polybot/internal/store"
)

// The maintenance sweep keeps a consistent copy of the store next to it, one file, which
// opens (and passes the consistency check) as a polybot store.
func TestTheMaintenanceSweepKeepsABackupOfTheStore(t *testing.T) {
	s := startSim(t)
	cfg := demoConfig(t, s)
	cfg.Maintenance.Interval = time.Second
	r := start(t, Options{Config: cfg})
	waitFor(t, "the store's backup copy", 20*time.Second, func() bool {
		_, ok := store.BackupTime(cfg.StateDir)
		return ok
	})
	r.stop(t)

	dir := t.TempDir()
	copyInto(t, store.BackupPath(cfg.StateDir), store.Path(dir))
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatalf("the backup copy does not open as a store: %v", err)
	}
	_ = st.Close()
}

func copyInto(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
