package main

import (
	"os"
	"path/filepath"
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
