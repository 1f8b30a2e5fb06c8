package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProcMemSplitsAnonymousAndFileBackedMemory(t *testing.T) {
	r, err := procMem(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if r.total == 0 || r.anon == 0 || r.file == 0 {
		t.Fatalf("RSS %+v: every part of a running Go process is resident", r)
	}
	// VmRSS is RssAnon + RssFile + RssShmem, read at one moment.
	if r.anon+r.file > r.total {
		t.Fatalf("RssAnon %d + RssFile %d exceed VmRSS %d", r.anon, r.file, r.total)
	}
}

func TestCSVKeepsEveryColumnAndReadsOlderFiles(t *testing.T) {
	dir := t.TempDir()
	in := []sample{
		{elapsed: time.Second, fills: 10, rss: 1 << 20, rssAnon: 600 << 10, rssFile: 400 << 10, heapInuse: 3, liveHeap: 4,
			goroutines: 5, fds: 6, dedupEntries: 7, dedupBytes: 8, storeBytes: 9},
		{elapsed: 2 * time.Second, fills: 20, rss: 2 << 20, rssAnon: 1 << 20, rssFile: 1 << 20, storeBytes: 90},
	}
	path := filepath.Join(dir, "soak.csv")
	if err := writeCSV(path, in); err != nil {
		t.Fatal(err)
	}
	out, err := readCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("read %d samples, wrote %d", len(out), len(in))
	}
	for i := range in {
		if out[i] != in[i] {
			t.Errorf("sample %d: wrote %+v, read %+v", i, in[i], out[i])
		}
	}
	// A soak.csv from before store_bytes and the RSS split still plots.
	old := filepath.Join(dir, "old.csv")
	csv := "elapsed_s,fills,rss_bytes,heap_inuse_bytes,live_heap_bytes,goroutines,open_fds,dedup_entries,dedup_bytes\n" +
		"1.000,10,100,3,4,5,6,7,8\n2.000,20,200,3,4,5,6,7,8\n"
	if err := os.WriteFile(old, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readCSV(old)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1].rss != 200 || got[1].storeBytes != 0 {
		t.Fatalf("old CSV read as %+v", got)
	}
}

func TestVerdictChecksTheTotalRSSAgainstTheBound(t *testing.T) {
	after := []sample{
		{fills: 100, rss: 40 << 20, rssAnon: 15 << 20, rssFile: 25 << 20},
		{fills: 200, rss: 70 << 20, rssAnon: 16 << 20, rssFile: 54 << 20}, // the mapped store grew
		{fills: 300, rss: 50 << 20, rssAnon: 16 << 20, rssFile: 34 << 20},
	}
	s := &soak{o: options{maxRSS: 64 << 20}}
	err := s.check(after[0], after[2], after)
	if err == nil || !strings.Contains(err.Error(), "70.0 MiB") {
		t.Fatalf("check with a peak of 70 MiB against 64 MiB = %v, want a failure naming 70.0 MiB", err)
	}
	if line := rssVerdict(after, 64<<20); !strings.Contains(line, "max 70.0 MiB (anonymous 16.0 + file-backed 54.0 MiB") || !strings.Contains(line, "FAIL") {
		t.Errorf("verdict line %q: want the peak split into its parts, and FAIL", line)
	}
	s.o.maxRSS = 80 << 20
	if err := s.check(after[0], after[2], after); err != nil {
		t.Errorf("check with a peak of 70 MiB against 80 MiB = %v, want nil", err)
	}
}
