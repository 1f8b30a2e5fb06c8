package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/secrets"
)

// installedCredentials is where the systemd install keeps the secrets that its drop-in hands
// the unit with LoadCredential= (deploy/polybot.service.d/live.conf.example): key and api. A
// variable so that tests can point it elsewhere.
var installedCredentials = "/etc/polybot/credentials"

// withInstalledSecrets is cfg for a command an operator runs by hand (check-config, preflight,
// auth derive) on a server set up by `make install`: with no key or credentials file in the
// config and no $CREDENTIALS_DIRECTORY (which only the unit gets), the files the unit's
// LoadCredential= lines read are used, so the command checks what the daemon will get.
func withInstalledSecrets(cfg *config.Config) *config.Config {
	if cfg.Mode != config.ModeLive || os.Getenv(secrets.CredentialsDirEnv) != "" {
		return cfg
	}
	out := *cfg
	if cfg.Live.KeyFile == "" && cfg.Live.KeystoreFile == "" {
		if p := filepath.Join(installedCredentials, "key"); exists(p) {
			out.Live.KeyFile = p
		}
	}
	if cfg.Live.CredentialsFile == "" {
		if p := filepath.Join(installedCredentials, "api"); exists(p) {
			out.Live.CredentialsFile = p
		}
	}
	return &out
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// liveKeyProblem is why live mode cannot load its signing key, as a config error that names the
// key to fix: without a key a live daemon can place no order, and exiting with EX_CONFIG stops
// systemd's restart loop (RestartPreventExitStatus=78) instead of failing five times.
func liveKeyProblem(cfg *config.Config) error {
	if cfg.Mode != config.ModeLive {
		return nil
	}
	_, err := secrets.LoadKey(secrets.KeyOptions{KeyFile: cfg.Live.KeyFile, KeystoreFile: cfg.Live.KeystoreFile, PassphraseFile: cfg.Live.PassphraseFile})
	if err == nil {
		return nil
	}
	fix := "set live.key_file (hex, mode 0600) or live.keystore_file with live.passphrase_file, " +
		"or install the key as " + filepath.Join(installedCredentials, "key") +
		" with the live drop-in (LoadCredential=" + secrets.KeyCredential + ":…); see docs/operations.md"
	if errors.Is(err, secrets.ErrNoKey) {
		return &exitError{code: exConfig, err: fmt.Errorf("invalid config: mode: live needs a signing key: %s", fix)}
	}
	return &exitError{code: exConfig, err: fmt.Errorf("invalid config: live.key_file: %w (%s)", err, fix)}
}
