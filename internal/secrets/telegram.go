package secrets

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// TelegramCredential is the systemd credential that holds the Telegram bot token of alerts.
const TelegramCredential = "polybot-telegram"

// telegramToken is the shape of a Bot API token: the bot's id, a colon, its secret.
var telegramToken = regexp.MustCompile(`^[0-9]{3,}:[A-Za-z0-9_-]{20,}$`)

// LoadTelegramToken reads a Telegram bot token from a 0600 file (surrounding whitespace
// ignored); with path "", from $CREDENTIALS_DIRECTORY/polybot-telegram. The token goes into the
// Bot API's URL path, so it is never logged: errors name the file, not its contents.
func LoadTelegramToken(path string) (string, error) {
	systemd := false
	if path == "" {
		dir := os.Getenv(CredentialsDirEnv)
		if dir == "" {
			return "", fmt.Errorf("no telegram bot token: set alerts.telegram_token_file (0600) or run under systemd with LoadCredential=%s:<path>", TelegramCredential)
		}
		path, systemd = filepath.Join(dir, TelegramCredential), true
	}
	raw, err := readSecret(path, "telegram token file", systemd)
	if err != nil {
		return "", err
	}
	defer wipe(raw)
	tok := bytes.TrimSpace(raw)
	if !telegramToken.Match(tok) {
		return "", fmt.Errorf("telegram token file %s does not hold a bot token (digits, a colon, then the secret)", path)
	}
	return string(tok), nil
}
