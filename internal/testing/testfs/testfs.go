// Package testfs gives polybot's disk-fault tests a real small file system to fill up or make
// read-only. Mounting needs root; where the tests run as an ordinary user, InUserNamespace
// (called first in the package's TestMain) runs the package's test binary again inside a new
// unprivileged user and mount namespace, where it is root over its own mounts. A disk-fault
// test that still cannot mount fails, naming the opt-out OptOut; it never skips silently.
package testfs

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// OptOut is the environment variable that, set to 1, skips the disk-fault tests on purpose
// (where neither root nor user namespaces are available); the skip says so.
const OptOut = "POLYBOT_SKIP_DISKFAULT"

// childEnv marks the test binary run inside the namespace, so that it does not re-run itself.
const childEnv = "POLYBOT_TESTFS_USERNS"

// nsErr is why the namespace could not be entered, when it could not.
var nsErr error

// InUserNamespace makes the calling test binary able to mount: as root it returns at once; as
// an ordinary user it runs the same binary with the same arguments in a new user+mount namespace
// (mapping the user to root there: CLONE_NEWUSER|CLONE_NEWNS, as unshare --map-root-user
// --mount does), passes its output through and exits with its exit code. Where the namespace
// cannot be created it returns, and Tmpfs fails the tests that need it with the reason.
// Call it first in TestMain.
func InUserNamespace() {
	if os.Geteuid() == 0 || os.Getenv(childEnv) != "" || os.Getenv(OptOut) == "1" {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		nsErr = err
		return
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	if err := cmd.Start(); err != nil {
		nsErr = fmt.Errorf("cannot create an unprivileged user+mount namespace: %w", err)
		return
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		os.Exit(0)
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		os.Exit(exit.ExitCode())
	default:
		fmt.Fprintf(os.Stderr, "testfs: the test binary in the user namespace failed: %v\n", err)
		os.Exit(2)
	}
}

// Tmpfs mounts a tmpfs of size bytes on a fresh directory under t.TempDir and unmounts it when
// the test ends. Where it cannot mount, it fails the test with the reason and the opt-out;
// with OptOut=1 it skips the test and says why.
func Tmpfs(t testing.TB, size int) string {
	t.Helper()
	if os.Getenv(OptOut) == "1" {
		t.Skipf("%s=1: the disk-fault tests are skipped on request", OptOut)
	}
	if os.Geteuid() != 0 {
		why := "the test runs as an ordinary user and its TestMain does not call testfs.InUserNamespace"
		if nsErr != nil {
			why = nsErr.Error()
		}
		t.Fatalf("mounting a tmpfs needs root or a user namespace: %s; run as root, allow unprivileged "+
			"user namespaces (sysctl kernel.unprivileged_userns_clone=1), or set %s=1 to skip the disk-fault tests", why, OptOut)
	}
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Fatalf("mount tmpfs: %v; set %s=1 to skip the disk-fault tests where mounting is not allowed", err, OptOut)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// Fill writes a filler file in dir until its file system is full (ENOSPC) and returns the
// filler's path: removing it gives the space back.
func Fill(t testing.TB, dir string) (filler string) {
	t.Helper()
	filler = filepath.Join(dir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return filler
		}
	}
}
