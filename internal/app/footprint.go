package app

import (
	"fmt"

	"github.com/polybot/polybot/internal/admin"
	"github.com/polybot/polybot/internal/maintenance"
	"github.com/polybot/polybot/internal/store"
)

// storeFile is the state store's file size and live data; zeros when it cannot be read.
func (a *App) storeFile() store.FileStats {
	fs, _ := a.store.FileStats()
	return fs
}

// memoryStatus is the footprint `polybot status` shows.
func (a *App) memoryStatus(dedupBytes int64) admin.Memory {
	m := admin.Memory{DedupBytes: dedupBytes}
	if mem, err := maintenance.ReadMemory(); err == nil {
		m.RSSBytes, m.RSSAnonBytes, m.RSSFileBytes = mem.RSS, mem.Anon, mem.File
	}
	fs := a.storeFile()
	m.StoreFileBytes, m.StoreLiveBytes = fs.FileBytes, fs.LiveBytes
	return m
}

// footprintLine is the STATUS= line's memory part: ", RSS 41 MiB (anon 17, file 24), store
// 20 MiB", or "" where /proc cannot be read.
func (a *App) footprintLine() string {
	mem, err := maintenance.ReadMemory()
	if err != nil {
		return ""
	}
	return fmt.Sprintf(", RSS %s (anon %s, file %s), store %s", mib(mem.RSS), mib(mem.Anon), mib(mem.File), mib(a.storeFile().FileBytes))
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }
