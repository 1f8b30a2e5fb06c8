package config

import (
	"os"

	"go.yaml.in/yaml/v3"
)

// Locate reads only where a daemon started from the config at path keeps its admin socket and
// its state (admin.socket, state_dir), leniently: a file that does not validate, or even does
// not parse past those keys, still tells `polybot status` where to ask the running daemon,
// which is exactly when an operator needs it. Keys it cannot read keep their defaults; the
// environment overrides them as it does at Load (POLYBOT_ADMIN_SOCKET, POLYBOT_STATE_DIR).
func Locate(path string) *Config {
	cfg := Default()
	if b, err := os.ReadFile(path); err == nil {
		var raw struct {
			StateDir string `yaml:"state_dir"`
			Admin    struct {
				Socket string `yaml:"socket"`
			} `yaml:"admin"`
		}
		// A partly broken file may still decode these keys; an error leaves what was read.
		_ = yaml.Unmarshal(b, &raw)
		if raw.StateDir != "" {
			cfg.StateDir = raw.StateDir
		}
		if raw.Admin.Socket != "" {
			cfg.Admin.Socket = raw.Admin.Socket
		}
	}
	if v := os.Getenv(EnvPrefix + "_STATE_DIR"); v != "" {
		cfg.StateDir = v
	}
	if v := os.Getenv(EnvPrefix + "_ADMIN_SOCKET"); v != "" {
		cfg.Admin.Socket = v
	}
	return cfg
}
