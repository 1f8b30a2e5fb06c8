package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/polybot/polybot/internal/store"
)

// polybot run on a state file with damaged pages exits 65 (EX_DATAERR, which the unit's
// RestartPreventExitStatus= keeps from a restart loop) without a panic, with a message that
// names the file, what is wrong and how to recover from the backup copy. Restoring the copy as
// the message says lets the store open again.
func TestRunOnADamagedStateFileExits65AndNamesTheRecovery(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	dir := t.TempDir()
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetCheckpoint(31337); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Backup(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	path := store.Path(dir)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := os.Getpagesize()
	for i := 2 * page; i < len(raw); i++ { // every page after the two meta pages
		raw[i] = 0xA5
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "polybot.yaml")
	body := "leaders:\n  - address: 0x1000000000000000000000000000000000000001\nstate_dir: " + dir + "\nadmin:\n  enabled: false\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	code := run([]string{"run", "--config", cfg}, &stdout, &stderr)
	msg := stderr.String()
	if code != exDataErr || strings.Contains(msg, "goroutine ") {
		t.Fatalf("exit %d, want %d (EX_DATAERR) and no panic:\n%s", code, exDataErr, msg)
	}
	for _, want := range []string{path, "state file is damaged", "to recover", store.BackupPath(dir)} {
		if !strings.Contains(msg, want) {
			t.Fatalf("message lacks %q:\n%s", want, msg)
		}
	}
	unit, err := os.ReadFile("../../deploy/polybot.service")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(unit), "\nRestartPreventExitStatus=78 65\n") {
		t.Fatal("deploy/polybot.service does not keep systemd from restarting after exit 65")
	}

	// The recovery the message names.
	if err := os.Rename(path, path+".damaged"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(store.BackupPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err = store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatalf("the restored store does not open: %v", err)
	}
	defer st.Close()
	if cp, ok, err := st.Checkpoint(); err != nil || !ok || cp != 31337 {
		t.Fatalf("restored checkpoint %d %v %v, want 31337", cp, ok, err)
	}
}
