package testfs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestMain(m *testing.M) {
	InUserNamespace()
	os.Exit(m.Run())
}

// TestTmpfsFillsUpAndGivesTheSpaceBack: the tmpfs is a real file system of the asked size (as
// root, or as an ordinary user inside the user namespace): Fill stops at ENOSPC near its size,
// a write then fails, and removing the filler makes room again.
func TestTmpfsFillsUpAndGivesTheSpaceBack(t *testing.T) {
	const size = 256 << 10
	dir := Tmpfs(t, size)
	filler := Fill(t, dir)
	st, err := os.Stat(filler)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() <= 0 || st.Size() > size {
		t.Fatalf("filler of %d bytes on a %d-byte tmpfs", st.Size(), size)
	}
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, make([]byte, 8192), 0o600); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("a write on the full tmpfs: %v, want ENOSPC", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(probe, make([]byte, 8192), 0o600); err != nil {
		t.Fatalf("a write after freeing space: %v", err)
	}
}
