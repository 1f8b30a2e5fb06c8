package store

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	berrors "go.etcd.io/bbolt/errors"
)

func TestFaultOf(t *testing.T) {
	write := func(errno syscall.Errno) error {
		return fmt.Errorf("record decision: %w", &os.PathError{Op: "write", Path: "/s/polybot.db", Err: errno})
	}
	for _, c := range []struct {
		name string
		err  error
		want Fault
	}{
		{"nil", nil, FaultNone},
		{"intent exists", fmt.Errorf("begin intent x: %w", ErrIntentExists), FaultNone},
		{"bad intent", ErrBadIntent, FaultNone},
		{"disk full", write(syscall.ENOSPC), FaultRecoverable},
		{"quota", write(syscall.EDQUOT), FaultRecoverable},
		{"read-only file system", write(syscall.EROFS), FaultRecoverable},
		{"I/O error", write(syscall.EIO), FaultFatal},
		{"closed", fmt.Errorf("append decision: %w", berrors.ErrDatabaseNotOpen), FaultFatal},
		{"opened read-only", ErrReadOnly, FaultFatal},
		{"unknown", errors.New("key 01: invalid character"), FaultFatal},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := FaultOf(c.err); got != c.want {
				t.Fatalf("FaultOf(%v) = %s, want %s", c.err, got, c.want)
			}
		})
	}
}

func TestProblemOfNamesTheDirAndTheFix(t *testing.T) {
	for errno, want := range map[syscall.Errno]string{
		syscall.ENOSPC: "is full: free space",
		syscall.EROFS:  "read-only file system: remount it read-write",
		syscall.EACCES: "not writable by this user",
		syscall.EDQUOT: "quota",
		syscall.EIO:    "I/O error",
	} {
		got := ProblemOf("/var/lib/polybot", &os.PathError{Op: "open", Path: "/var/lib/polybot/polybot.db", Err: errno})
		if !strings.Contains(got, want) || !strings.Contains(got, "state_dir /var/lib/polybot") {
			t.Errorf("%v: %q; want the dir and %q", errno, got, want)
		}
	}
	if got := ProblemOf("/x", errors.New("schema version 2, want 1")); got != "" {
		t.Errorf("a non-disk error got a disk hint: %q", got)
	}
}
