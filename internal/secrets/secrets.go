// Package secrets loads polybot's signing key and CLOB API credentials from files only polybot
// can read: a 0600 hex key file, an encrypted go-ethereum keystore with a 0600 passphrase file,
// or systemd credentials ($CREDENTIALS_DIRECTORY, LoadCredential=). Keys never come from the
// YAML config, and no error of this package contains key material.
package secrets

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/polybot/polybot/internal/clob"
)

// Names of the systemd credentials polybot reads from $CREDENTIALS_DIRECTORY.
const (
	CredentialsDirEnv = "CREDENTIALS_DIRECTORY"
	KeyCredential     = "polybot-key" // hex private key
	APICredential     = "polybot-api" // API credentials JSON
)

// maxFileSize bounds every secret file read (a keystore is about 500 bytes).
const maxFileSize = 64 << 10

// Errors of this package, wrapped with the file name (never its content).
var (
	// ErrInsecureFile: the file is readable or writable by group or others.
	ErrInsecureFile = errors.New("insecure permissions")
	// ErrNoKey: no key source is configured.
	ErrNoKey = errors.New("no private key configured")
	// ErrBadKey: the file does not hold a valid key.
	ErrBadKey = errors.New("invalid private key")
	// ErrBadCredentials: the file does not hold valid API credentials.
	ErrBadCredentials = errors.New("invalid API credentials")
)

// KeyOptions say where the private key is. Set KeyFile, or KeystoreFile with PassphraseFile;
// with none set, LoadKey reads $CREDENTIALS_DIRECTORY/polybot-key.
type KeyOptions struct {
	KeyFile        string // hex key, 0x optional, surrounding whitespace ignored
	KeystoreFile   string // encrypted go-ethereum keystore JSON (V3)
	PassphraseFile string // the keystore's passphrase, trailing newline ignored
}

// LoadKey loads the signer's private key.
func LoadKey(opts KeyOptions) (*ecdsa.PrivateKey, error) {
	switch {
	case opts.KeyFile != "" && opts.KeystoreFile != "":
		return nil, fmt.Errorf("%w: set a key file or a keystore file, not both", ErrBadKey)
	case opts.KeyFile != "":
		if opts.PassphraseFile != "" {
			return nil, fmt.Errorf("%w: a passphrase file goes with a keystore file, not a hex key file", ErrBadKey)
		}
		return loadHexKey(opts.KeyFile, false)
	case opts.KeystoreFile != "":
		return loadKeystore(opts.KeystoreFile, opts.PassphraseFile)
	case opts.PassphraseFile != "":
		return nil, fmt.Errorf("%w: a passphrase file needs a keystore file", ErrBadKey)
	}
	dir := os.Getenv(CredentialsDirEnv)
	if dir == "" {
		return nil, fmt.Errorf("%w: set a key file (0600), a keystore file with a passphrase file, or run under systemd with LoadCredential=%s:<path>", ErrNoKey, KeyCredential)
	}
	return loadHexKey(filepath.Join(dir, KeyCredential), true)
}

func loadHexKey(path string, systemd bool) (*ecdsa.PrivateKey, error) {
	raw, err := readSecret(path, "key file", systemd)
	if err != nil {
		return nil, err
	}
	defer wipe(raw)
	s := bytes.TrimSpace(raw)
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
	}
	if len(s) != 64 {
		return nil, fmt.Errorf("%w: key file %s must hold 64 hex digits (0x optional), it holds %d characters", ErrBadKey, path, len(s))
	}
	b := make([]byte, 32)
	defer wipe(b)
	if _, err := hex.Decode(b, s); err != nil {
		// hex errors quote the offending byte: say nothing of it.
		return nil, fmt.Errorf("%w: key file %s is not hexadecimal", ErrBadKey, path)
	}
	key, err := crypto.ToECDSA(b)
	if err != nil {
		return nil, fmt.Errorf("%w: key file %s does not hold a valid secp256k1 key", ErrBadKey, path)
	}
	return key, nil
}

func loadKeystore(path, passphrasePath string) (*ecdsa.PrivateKey, error) {
	if passphrasePath == "" {
		return nil, fmt.Errorf("%w: keystore %s needs a passphrase file", ErrBadKey, path)
	}
	ks, err := readSecret(path, "keystore file", false)
	if err != nil {
		return nil, err
	}
	pass, err := readSecret(passphrasePath, "passphrase file", false)
	if err != nil {
		return nil, err
	}
	defer wipe(pass)
	passphrase := strings.TrimRight(string(pass), "\r\n")
	k, err := keystore.DecryptKey(ks, passphrase)
	if err != nil {
		if errors.Is(err, keystore.ErrDecrypt) {
			return nil, fmt.Errorf("%w: keystore %s: wrong passphrase in %s", ErrBadKey, path, passphrasePath)
		}
		return nil, fmt.Errorf("%w: keystore %s is not a valid encrypted key", ErrBadKey, path)
	}
	return k.PrivateKey, nil
}

// readSecret opens path and refuses it unless it is a regular file no one else can use: mode
// bits 0o077 clear, or, for a systemd credential (root-owned, 0400 or 0440, in a directory only
// the service sees), 0o027 clear.
func readSecret(path, what string, systemd bool) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s %s does not exist", what, path)
		}
		return nil, fmt.Errorf("open %s %s: %w", what, path, errors.Unwrap(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s %s: %w", what, path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s %s is not a regular file", what, path)
	}
	mask := fs.FileMode(0o077)
	if systemd {
		mask = 0o027
	}
	if perm := fi.Mode().Perm(); perm&mask != 0 {
		return nil, fmt.Errorf("%w: %s %s has mode %04o; run chmod 600 %s", ErrInsecureFile, what, path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", what, path, err)
	}
	if len(b) > maxFileSize {
		wipe(b)
		return nil, fmt.Errorf("%s %s is larger than %d bytes", what, path, maxFileSize)
	}
	return b, nil
}

func wipe(b []byte) { clear(b) }

// wireCredentials accepts the field names of polybot's own files and of the official clients'.
type wireCredentials struct {
	APIKey      string `json:"apiKey"`
	Secret      string `json:"secret"`
	Passphrase  string `json:"passphrase"`
	APIKeySnake string `json:"api_key"`
	SecretSnake string `json:"api_secret"`
	PassSnake   string `json:"api_passphrase"`
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// LoadCredentials reads API credentials from a 0600 JSON file {"apiKey","secret","passphrase"}
// (api_key/api_secret/api_passphrase also accepted). With path "", it reads
// $CREDENTIALS_DIRECTORY/polybot-api.
func LoadCredentials(path string) (clob.Credentials, error) {
	systemd := false
	if path == "" {
		dir := os.Getenv(CredentialsDirEnv)
		if dir == "" {
			return clob.Credentials{}, fmt.Errorf("%w: no credentials file set and %s is not set", ErrBadCredentials, CredentialsDirEnv)
		}
		path, systemd = filepath.Join(dir, APICredential), true
	}
	raw, err := readSecret(path, "credentials file", systemd)
	if err != nil {
		return clob.Credentials{}, err
	}
	defer wipe(raw)
	var w wireCredentials
	if err := json.Unmarshal(raw, &w); err != nil {
		// JSON errors may quote a character of the secret: say only where.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return clob.Credentials{}, fmt.Errorf("%w: credentials file %s is not valid JSON (offset %d)", ErrBadCredentials, path, se.Offset)
		}
		return clob.Credentials{}, fmt.Errorf("%w: credentials file %s must hold a JSON object of strings", ErrBadCredentials, path)
	}
	c := clob.Credentials{
		APIKey:     first(w.APIKey, w.APIKeySnake),
		Secret:     first(w.Secret, w.SecretSnake),
		Passphrase: first(w.Passphrase, w.PassSnake),
	}
	if err := c.Validate(); err != nil {
		return clob.Credentials{}, fmt.Errorf("%w: credentials file %s: %w", ErrBadCredentials, path, err)
	}
	return c, nil
}

// ResolveCredentials resolves the API credentials of client: from path (or
// $CREDENTIALS_DIRECTORY/polybot-api when path is ""), else derived with L1 and, when path is
// set, saved there (0600). derived reports whether they were derived.
func ResolveCredentials(ctx context.Context, client *clob.Client, path string) (creds clob.Credentials, derived bool, err error) {
	file := path
	if file == "" {
		if dir := os.Getenv(CredentialsDirEnv); dir != "" {
			file = filepath.Join(dir, APICredential)
		}
	}
	if file != "" {
		if _, serr := os.Stat(file); serr == nil {
			c, err := LoadCredentials(path)
			return c, false, err
		} else if !errors.Is(serr, fs.ErrNotExist) {
			return clob.Credentials{}, false, fmt.Errorf("credentials file %s: %w", file, serr)
		}
	}
	c, err := client.CreateOrDeriveAPIKey(ctx, 0)
	if err != nil {
		return clob.Credentials{}, false, fmt.Errorf("derive API credentials (L1): %w", err)
	}
	if path != "" {
		if err := SaveCredentials(path, c); err != nil {
			return clob.Credentials{}, false, err
		}
	}
	return c, true, nil
}

// CredentialSource returns ResolveCredentials for path in the form of the live broker's
// CLOBOptions.LoadCredentials: derived credentials count as saved when path is set.
func CredentialSource(path string) func(ctx context.Context, client *clob.Client) (creds clob.Credentials, derived, saved bool, err error) {
	return func(ctx context.Context, client *clob.Client) (clob.Credentials, bool, bool, error) {
		c, derived, err := ResolveCredentials(ctx, client, path)
		return c, derived, derived && path != "", err
	}
}

// SaveCredentials writes creds to path as JSON with mode 0600, atomically: a temporary file in
// the same directory, synced, then renamed over path.
func SaveCredentials(path string, creds clob.Credentials) error {
	if path == "" {
		return fmt.Errorf("%w: no credentials file path", ErrBadCredentials)
	}
	if err := creds.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadCredentials, err)
	}
	// Not creds.MarshalJSON, which redacts.
	b, err := json.Marshal(struct {
		APIKey     string `json:"apiKey"`
		Secret     string `json:"secret"`
		Passphrase string `json:"passphrase"`
	}{creds.APIKey, creds.Secret, creds.Passphrase})
	if err != nil {
		return fmt.Errorf("encode credentials: %w", err)
	}
	defer wipe(b)
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // created 0600
	if err != nil {
		return fmt.Errorf("save credentials in %s: %w", dir, err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(name)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("save credentials %s: %w", path, err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("save credentials %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("save credentials %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save credentials %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("save credentials %s: %w", path, err)
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
