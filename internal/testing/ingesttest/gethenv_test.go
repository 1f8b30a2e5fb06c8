package ingesttest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestGethFromEnv(t *testing.T) {
	cases := []struct {
		name              string
		env               map[string]string
		bin, skip, errHas string
	}{
		{"a plain go test without geth skips and says how to run them", map[string]string{},
			"", "POLYBOT_GETH is not set", ""},
		{"make test without a geth binary fails", map[string]string{"POLYBOT_REQUIRE_GETH": "1"},
			"", "", "POLYBOT_SKIP_GETH=1"},
		{"the binary is used when set", map[string]string{"POLYBOT_GETH": "/opt/geth", "POLYBOT_REQUIRE_GETH": "1"},
			"/opt/geth", "", ""},
		{"the explicit opt-out skips even when geth is required",
			map[string]string{"POLYBOT_SKIP_GETH": "1", "POLYBOT_REQUIRE_GETH": "1"},
			"", "POLYBOT_SKIP_GETH=1", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bin, skip, err := gethFromEnv(func(k string) string { return c.env[k] })
			if c.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), c.errHas) {
					t.Fatalf("err = %v, want one naming %q", err, c.errHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if bin != c.bin {
				t.Errorf("bin = %q, want %q", bin, c.bin)
			}
			if (c.skip == "") != (skip == "") || !strings.Contains(skip, c.skip) {
				t.Errorf("skip = %q, want one containing %q", skip, c.skip)
			}
		})
	}
}

// TestMakeTestFailsWhenGethBuildFails runs the Makefile's test target with a geth build that
// fails and a stand-in for the go command that records how it was called.
func TestMakeTestFailsWhenGethBuildFails(t *testing.T) {
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make is not installed: the Makefile's test target cannot be checked")
	}
	dir := t.TempDir()
	record := filepath.Join(dir, "go-called")
	fakeGo := filepath.Join(dir, "go")
	writeScript(t, fakeGo, `printf 'GETH=%s REQUIRE=%s SKIP=%s ARGS=%s\n' "${POLYBOT_GETH:-}" "${POLYBOT_REQUIRE_GETH:-}" "${POLYBOT_SKIP_GETH:-}" "$*" >`+record)
	failingGeth := filepath.Join(dir, "geth-fails.sh")
	writeScript(t, failingGeth, `echo "go: downloading go-ethereum: connection refused" >&2; exit 1`)
	workingGeth := filepath.Join(dir, "geth-ok.sh")
	writeScript(t, workingGeth, `echo /cache/geth`)

	run := func(gethSH string, extraEnv ...string) (string, error) {
		_ = os.Remove(record)
		cmd := exec.Command(makeBin, "-s", "-C", "../../..", "test", "GO="+fakeGo, "GETH_SH="+gethSH, "TESTSUM=cat")
		// Run as a user would: none of the caller's geth settings or make state leak in.
		for _, kv := range os.Environ() {
			k, _, _ := strings.Cut(kv, "=")
			switch k {
			case "POLYBOT_GETH", "POLYBOT_SKIP_GETH", "POLYBOT_REQUIRE_GETH", "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES":
				continue
			}
			cmd.Env = append(cmd.Env, kv)
		}
		cmd.Env = append(cmd.Env, extraEnv...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	called := func() string {
		b, err := os.ReadFile(record)
		if os.IsNotExist(err) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}

	out, err := run(failingGeth)
	if err == nil {
		t.Fatalf("make test passed although the geth build failed:\n%s", out)
	}
	if !strings.Contains(out, "POLYBOT_SKIP_GETH=1") {
		t.Errorf("the failure does not name the opt-out POLYBOT_SKIP_GETH=1:\n%s", out)
	}
	if got := called(); got != "" {
		t.Errorf("go test ran after the failed geth build: %s", got)
	}

	out, err = run(failingGeth, "POLYBOT_SKIP_GETH=1")
	if err != nil {
		t.Fatalf("make test with POLYBOT_SKIP_GETH=1: %v\n%s", err, out)
	}
	if got := called(); !strings.Contains(got, "GETH= REQUIRE= SKIP=1 ARGS=test -race") {
		t.Errorf("with the opt-out go was called as %q, want SKIP=1 and no geth", got)
	}

	out, err = run(workingGeth)
	if err != nil {
		t.Fatalf("make test with a working geth build: %v\n%s", err, out)
	}
	if got := called(); !strings.Contains(got, "GETH=/cache/geth REQUIRE=1 SKIP= ARGS=test -race") {
		t.Errorf("with geth built go was called as %q, want POLYBOT_GETH set and POLYBOT_REQUIRE_GETH=1", got)
	}
}

func writeScript(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/usr/bin/env bash\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}
