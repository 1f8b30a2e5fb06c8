package secrets

import (
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"
	"go.uber.org/goleak"

	"github.com/polybot/polybot/internal/clob"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const keyHex = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

var (
	wantAddr = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
	creds    = clob.Credentials{APIKey: "8c2f1b3e-0000-4000-8000-000000000001", Secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ=", Passphrase: "pass-phrase-0123456789"}
)

// write creates name in dir with content and mode (chmod'ed, so the umask does not interfere).
func write(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// noSecret fails if err's text contains any form of a secret.
func noSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{keyHex, keyHex[:16], keyHex[48:], strings.ToLower(creds.Secret), strings.ToLower(creds.Passphrase), "hunter2-passphrase"} {
		if strings.Contains(msg, strings.ToLower(s)) {
			t.Errorf("error %q contains secret material", err)
		}
	}
}

func checkKey(t *testing.T, k *ecdsa.PrivateKey, err error) {
	t.Helper()
	noSecret(t, err)
	if err != nil {
		t.Fatal(err)
	}
	if got := crypto.PubkeyToAddress(k.PublicKey).Hex(); got != wantAddr {
		t.Fatalf("key of %s, want %s", got, wantAddr)
	}
}

func TestLoadKeyFromA0600HexFile(t *testing.T) {
	for name, content := range map[string]string{"bare": keyHex, "0x and newline": "0x" + keyHex + "\n", "spaces": "  \t" + strings.ToUpper(keyHex) + " \r\n"} {
		t.Run(name, func(t *testing.T) {
			p := write(t, t.TempDir(), "key", content, 0o600)
			k, err := LoadKey(KeyOptions{KeyFile: p})
			checkKey(t, k, err)
		})
	}
	p := write(t, t.TempDir(), "key", keyHex, 0o400)
	k, err := LoadKey(KeyOptions{KeyFile: p})
	checkKey(t, k, err)
}

func TestLoadKeyRefusesFilesOthersCanRead(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o700 | 0o007} {
		p := write(t, t.TempDir(), "key", keyHex, mode)
		_, err := LoadKey(KeyOptions{KeyFile: p})
		noSecret(t, err)
		if !errors.Is(err, ErrInsecureFile) || !strings.Contains(err.Error(), "run chmod 600 "+p) {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
	p := write(t, t.TempDir(), "key", keyHex, 0o644)
	_, err := LoadKey(KeyOptions{KeyFile: p})
	if want := "key file " + p + " has mode 0644; run chmod 600 " + p; !strings.Contains(err.Error(), want) {
		t.Errorf("message %q, want it to contain %q", err, want)
	}
}

func TestLoadKeyRefusesBadKeysWithoutQuotingThem(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"a short key":           keyHex[:62],
		"a non-hex character":   keyHex[:63] + "g",
		"a zero key":            strings.Repeat("0", 64),
		"a key above the order": strings.Repeat("f", 64),
		"an empty file":         "",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			p := write(t, dir, strings.ReplaceAll(name, " ", "_"), content, 0o600)
			_, err := LoadKey(KeyOptions{KeyFile: p})
			if !errors.Is(err, ErrBadKey) {
				t.Errorf("error %v, want ErrBadKey", err)
			}
			noSecret(t, err)
		})
	}
	if _, err := LoadKey(KeyOptions{KeyFile: filepath.Join(dir, "missing")}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := LoadKey(KeyOptions{KeyFile: dir}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
}

func TestLoadKeyFromAnEncryptedKeystore(t *testing.T) {
	dir := t.TempDir()
	pk, _ := crypto.HexToECDSA(keyHex)
	blob, err := keystore.EncryptKey(&keystore.Key{Address: crypto.PubkeyToAddress(pk.PublicKey), PrivateKey: pk},
		"hunter2-passphrase", keystore.LightScryptN, keystore.LightScryptP)
	if err != nil {
		t.Fatal(err)
	}
	ks := write(t, dir, "keystore.json", string(blob), 0o600)
	pass := write(t, dir, "pass", "hunter2-passphrase\n", 0o600)
	k, err := LoadKey(KeyOptions{KeystoreFile: ks, PassphraseFile: pass})
	checkKey(t, k, err)

	wrong := write(t, dir, "wrong", "not-the-passphrase", 0o600)
	_, err = LoadKey(KeyOptions{KeystoreFile: ks, PassphraseFile: wrong})
	if !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("wrong passphrase: %v", err)
	}
	noSecret(t, err)
	open := write(t, dir, "open-pass", "hunter2-passphrase", 0o644)
	if _, err := LoadKey(KeyOptions{KeystoreFile: ks, PassphraseFile: open}); !errors.Is(err, ErrInsecureFile) {
		t.Errorf("0644 passphrase file: %v", err)
	}
	if _, err := LoadKey(KeyOptions{KeystoreFile: ks}); !errors.Is(err, ErrBadKey) {
		t.Errorf("keystore without passphrase: %v", err)
	}
	garbage := write(t, dir, "garbage.json", `{"crypto":1}`, 0o600)
	if _, err := LoadKey(KeyOptions{KeystoreFile: garbage, PassphraseFile: pass}); !errors.Is(err, ErrBadKey) {
		t.Errorf("garbage keystore: %v", err)
	}
	if _, err := LoadKey(KeyOptions{KeyFile: ks, KeystoreFile: ks}); !errors.Is(err, ErrBadKey) {
		t.Errorf("both sources: %v", err)
	}
}

func TestLoadKeyFromCredentialsDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(CredentialsDirEnv, "")
	if _, err := LoadKey(KeyOptions{}); !errors.Is(err, ErrNoKey) {
		t.Errorf("no source at all: %v", err)
	}
	t.Setenv(CredentialsDirEnv, dir)
	for _, mode := range []os.FileMode{0o400, 0o440, 0o600} {
		write(t, dir, KeyCredential, keyHex+"\n", mode)
		k, err := LoadKey(KeyOptions{})
		checkKey(t, k, err)
	}
	write(t, dir, KeyCredential, keyHex, 0o444)
	if _, err := LoadKey(KeyOptions{}); !errors.Is(err, ErrInsecureFile) {
		t.Errorf("world-readable systemd credential: %v", err)
	}
	// An explicit key file wins over the credentials directory.
	p := write(t, t.TempDir(), "key", keyHex, 0o600)
	k, err := LoadKey(KeyOptions{KeyFile: p})
	checkKey(t, k, err)
}

func TestCredentialsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "api.json")
	if err := SaveCredentials(p, creds); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved file mode %v, %v; want 0600", fi.Mode(), err)
	}
	got, err := LoadCredentials(p)
	if err != nil || got != creds {
		t.Fatalf("LoadCredentials = %v, %v", got, err)
	}
	// Saving again replaces the file atomically and leaves no temporary behind.
	if err := SaveCredentials(p, creds); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(entries))
	}
	if err := SaveCredentials(p, clob.Credentials{APIKey: "k"}); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("saving incomplete credentials: %v", err)
	}
}

func TestLoadCredentialsRefusalsNeverQuoteTheSecret(t *testing.T) {
	dir := t.TempDir()
	secretish := `{"apiKey":"k","secret":"` + creds.Secret + `","passphrase":"` + creds.Passphrase + `"`
	cases := map[string]struct {
		content string
		mode    os.FileMode
		want    error
	}{
		"world-readable":    {secretish + "}", 0o644, ErrInsecureFile},
		"truncated JSON":    {secretish, 0o600, ErrBadCredentials},
		"a bad character":   {`{"secret":` + creds.Secret + `}`, 0o600, ErrBadCredentials},
		"missing field":     {`{"apiKey":"k","secret":"` + creds.Secret + `"}`, 0o600, ErrBadCredentials},
		"a secret not b64":  {`{"apiKey":"k","secret":"` + creds.Passphrase + `!!","passphrase":"p"}`, 0o600, ErrBadCredentials},
		"numbers for texts": {`{"apiKey":1,"secret":2,"passphrase":3}`, 0o600, ErrBadCredentials},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			p := write(t, dir, strings.ReplaceAll(name, " ", "_"), c.content, c.mode)
			_, err := LoadCredentials(p)
			if !errors.Is(err, c.want) {
				t.Errorf("error %v, want %v", err, c.want)
			}
			noSecret(t, err)
		})
	}
}

func TestLoadCredentialsFromCredentialsDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(CredentialsDirEnv, dir)
	write(t, dir, APICredential, `{"api_key":"`+creds.APIKey+`","api_secret":"`+creds.Secret+`","api_passphrase":"`+creds.Passphrase+`"}`, 0o440)
	got, err := LoadCredentials("")
	if err != nil || got != creds {
		t.Fatalf("LoadCredentials from %s = %v, %v", CredentialsDirEnv, got, err)
	}
	t.Setenv(CredentialsDirEnv, "")
	if _, err := LoadCredentials(""); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("no path and no %s: %v", CredentialsDirEnv, err)
	}
}

func TestHexKeyErrorsDoNotEchoAnyByte(t *testing.T) {
	// A key with one bad character: hex.Decode's own error would quote it.
	bad := keyHex[:10] + "z" + keyHex[11:]
	p := write(t, t.TempDir(), "key", bad, 0o600)
	_, err := LoadKey(KeyOptions{KeyFile: p})
	if err == nil || strings.Contains(err.Error(), "'z'") || strings.Contains(err.Error(), hex.EncodeToString([]byte("z"))) {
		t.Errorf("error %v", err)
	}
	noSecret(t, err)
}
