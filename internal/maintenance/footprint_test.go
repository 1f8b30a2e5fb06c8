package maintenance

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestParseStatus(t *testing.T) {
	status := "Name:\tpolybot\nVmPeak:\t 1262716 kB\nVmRSS:\t   45096 kB\nRssAnon:\t   17320 kB\nRssFile:\t   27776 kB\nRssShmem:\t       0 kB\nThreads:\t9\n"
	m, err := parseStatus([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Memory{RSS: 45096 << 10, Anon: 17320 << 10, File: 27776 << 10}); m != want {
		t.Errorf("parseStatus = %+v, want %+v", m, want)
	}
	if _, err := parseStatus([]byte("Name:\tpolybot\nVmRSS:\t 1 kB\n")); err == nil {
		t.Error("a status without RssAnon and RssFile parsed without an error")
	}
	if _, err := parseStatus([]byte("VmRSS:\t x kB\nRssAnon:\t 1 kB\nRssFile:\t 1 kB\n")); err == nil {
		t.Error("a status with a bad number parsed without an error")
	}
}

// A mapped file's pages count in RSS once read, as file-backed memory: what the state store's
// file does to polybot's footprint.
func TestReadMemoryCountsAMappedFile(t *testing.T) {
	const size = 16 << 20
	path := filepath.Join(t.TempDir(), "mapped")
	if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	defer syscall.Munmap(data)
	before, err := ReadMemory()
	if err != nil {
		t.Fatal(err)
	}
	sum := byte(0)
	for i := 0; i < size; i += os.Getpagesize() {
		sum += data[i]
	}
	after, err := ReadMemory()
	if err != nil {
		t.Fatal(err)
	}
	if grew := after.File - before.File; grew < size*3/4 {
		t.Errorf("file-backed RSS grew by %d bytes after reading a %d-byte mapped file (sum %d), want most of it", grew, size, sum)
	}
	if after.RSS < after.Anon+after.File {
		t.Errorf("RSS %d < anon %d + file %d", after.RSS, after.Anon, after.File)
	}
}
