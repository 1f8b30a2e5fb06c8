package app

import (
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common/mclock"
	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/store"
)

// backupEvery is how often the maintenance sweep replaces the store's backup copy
// (store.BackupPath, one rolling file); the first is taken at the first sweep after start.
const backupEvery = time.Hour

// backupState is when the store was last copied.
type backupState struct {
	taken atomic.Bool
	at    atomic.Int64 // mclock.AbsTime
}

// backupIfDue copies the store when the last copy is older than backupEvery. A store whose
// consistency check fails is not copied (the last good copy stays) and the error is logged.
func (a *App) backupIfDue() {
	now := a.clock.Now()
	if a.backup.taken.Load() && now.Sub(mclock.AbsTime(a.backup.at.Load())) < backupEvery {
		return
	}
	a.backup.taken.Store(true)
	a.backup.at.Store(int64(now))
	size, err := a.store.Backup()
	if err != nil {
		a.log.Error("state store backup failed; the last good copy is kept", zap.String("backup", store.BackupPath(a.cfg.Load().StateDir)), zap.Error(err))
		return
	}
	a.log.Info("state store backed up", zap.String("backup", store.BackupPath(a.cfg.Load().StateDir)), zap.Int64("bytes", size),
		zap.Duration("took", a.clock.Now().Sub(now).Round(time.Millisecond)))
}
