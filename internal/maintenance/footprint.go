package maintenance

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// Memory is the process's resident memory as the kernel counts it (/proc/self/status), in
// bytes. RSS = Anon + File + Shmem. Anon is the Go heap, stacks and the runtime's own memory;
// File is the pages of mapped files in memory: the executable's code and the state store's
// file, which bbolt maps read-only, so every page of it polybot reads counts here (and in the
// service's cgroup, with the rest of the file's page cache). A user sees RSS in top and ps.
type Memory struct {
	RSS, Anon, File, Shmem int64
}

// ReadMemory reads this process's resident memory from /proc/self/status.
func ReadMemory() (Memory, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return Memory{}, fmt.Errorf("read memory: %w", err)
	}
	return parseStatus(b)
}

// parseStatus reads the VmRSS, RssAnon, RssFile and RssShmem lines ("RssAnon:   1234 kB").
func parseStatus(b []byte) (Memory, error) {
	var m Memory
	found := 0
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) != 3 || string(f[2]) != "kB" {
			continue
		}
		var dst *int64
		switch string(f[0]) {
		case "VmRSS:":
			dst = &m.RSS
		case "RssAnon:":
			dst = &m.Anon
		case "RssFile:":
			dst = &m.File
		case "RssShmem:":
			dst = &m.Shmem
		default:
			continue
		}
		kb, err := strconv.ParseInt(string(f[1]), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("read memory: %s %q: %w", f[0], f[1], err)
		}
		*dst = kb << 10
		found++
	}
	if found < 3 {
		return Memory{}, errors.New("read memory: /proc/self/status lacks VmRSS, RssAnon or RssFile")
	}
	return m, nil
}
