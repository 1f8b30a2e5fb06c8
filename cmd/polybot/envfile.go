package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// unitEnvFile is the EnvironmentFile= of the unit that runs the config at configPath: the units
// in deploy/ read /etc/polybot/polybot.env for polybot.yaml and /etc/polybot/%i.env for
// %i.yaml, that is, the config's own name with .env.
func unitEnvFile(configPath string) string {
	if configPath == "" {
		return ""
	}
	return strings.TrimSuffix(configPath, filepath.Ext(configPath)) + ".env"
}

// applyEnvFile sets the variables of a systemd EnvironmentFile= (KEY=VALUE lines, # and ;
// comments, values optionally in quotes) in this process, so that check-config validates what
// the unit will run with. A missing file is no error, as for the unit's "-" prefix. It returns
// the names it set, never their values (the file is where secrets such as an RPC URL with an
// API key belong).
func applyEnvFile(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("environment file: %w", err)
	}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return names, fmt.Errorf("environment file %s line %d: want NAME=VALUE", path, n)
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		if err := os.Setenv(name, value); err != nil {
			return names, fmt.Errorf("environment file %s line %d: %w", path, n, err)
		}
		names = append(names, name)
	}
	return names, sc.Err()
}
