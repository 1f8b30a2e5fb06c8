package store

import (
	"errors"
	"syscall"

	berrors "go.etcd.io/bbolt/errors"
)

// Fault sorts a store error by what the daemon should do about it.
type Fault uint8

// Faults.
const (
	// FaultNone: not a fault of the file or its disk. nil, or the caller's own mistake
	// (ErrBadIntent, ErrIntentExists…): the same call fails again whatever the disk does.
	FaultNone Fault = iota
	// FaultRecoverable: the disk is full (ENOSPC), over quota (EDQUOT) or read-only (EROFS). A
	// failed bbolt transaction is rolled back and the file stays consistent; the same open store
	// takes writes again once the operator frees space or remounts the file system read-write.
	FaultRecoverable
	// FaultFatal: the store cannot be expected to come back without a restart: the file is closed,
	// an I/O error (EIO: after a failed fsync the kernel may have dropped the written pages, so
	// only a reopen, which checks the meta pages, can be trusted), a record that does not decode,
	// the file opened read-only, or any error polybot does not know.
	FaultFatal
)

var faultNames = [...]string{"none", "recoverable", "fatal"}

// String names the fault.
func (f Fault) String() string {
	if int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "unknown"
}

// FaultOf classifies an error returned by a Store method.
func FaultOf(err error) Fault {
	switch {
	case err == nil:
		return FaultNone
	case errors.Is(err, ErrIntentExists), errors.Is(err, ErrIntentNotFound), errors.Is(err, ErrIntentCompleted),
		errors.Is(err, ErrBadIntent), errors.Is(err, ErrBadResult):
		return FaultNone
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), errors.Is(err, syscall.EROFS),
		errors.Is(err, berrors.ErrDatabaseReadOnly):
		return FaultRecoverable
	default: // EIO, ErrDatabaseNotOpen, ErrReadOnly, a record that does not decode, anything else
		return FaultFatal
	}
}

// ProblemOf says in a few words what a fault of the state directory dir means for the operator
// and how to fix it, or "" when err is not a disk fault polybot recognises.
func ProblemOf(dir string, err error) string {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return "the file system holding state_dir " + dir + " is full: free space on it"
	case errors.Is(err, syscall.EDQUOT):
		return "the polybot user's disk quota on state_dir " + dir + " is used up: raise the quota or free space"
	case errors.Is(err, syscall.EROFS):
		return "state_dir " + dir + " is on a read-only file system: remount it read-write, or set state_dir to a writable directory"
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return "state_dir " + dir + " is not writable by this user: give the polybot user write access to it (systemd: StateDirectory=polybot)"
	case errors.Is(err, syscall.EIO):
		return "I/O error on the disk holding state_dir " + dir + ": check the disk (dmesg) before restarting"
	}
	return ""
}
