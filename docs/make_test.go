package docs

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// `make help` is how a newcomer finds the targets: it lists every phony target of the Makefile,
// those with digits in their names too (e2e-systemd was missing once).
func TestMakeHelpListsEveryTarget(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is not installed: %v", err)
	}
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	phony := regexp.MustCompile(`(?m)^\.PHONY:(.*)$`).FindSubmatch(mk)
	if phony == nil {
		t.Fatal("the Makefile declares no .PHONY targets")
	}
	out, err := exec.Command("make", "-s", "-C", "..", "help").CombinedOutput()
	if err != nil {
		t.Fatalf("make help: %v\n%s", err, out)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			listed[f[0]] = true
		}
	}
	for _, target := range strings.Fields(string(phony[1])) {
		if !listed[target] {
			t.Errorf("make help does not list %q; give its rule a `## what it does` comment", target)
		}
	}
}
