package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Webhook POSTs each notice as JSON ({"kind", "time", "text", "fields"}) to a URL: what a
// generic receiver (a chat's incoming webhook bridge, an alert manager, a script) reads.
type Webhook struct {
	URL    string
	Client *http.Client // default http.DefaultClient
}

// Name names the sink in logs; the URL is not shown (it may hold a token).
func (w Webhook) Name() string { return "webhook" }

// Send posts n; any answer but 2xx is an error.
func (w Webhook) Send(ctx context.Context, n Notice) error {
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return errors.New("webhook: bad URL") // the URL may hold a token: not quoted
	}
	req.Header.Set("Content-Type", "application/json")
	return do(w.Client, req, "webhook")
}

// Telegram posts each notice's text to a chat through the Bot API's sendMessage
// (https://core.telegram.org/bots/api#sendmessage). The token is part of the request path, so
// errors never quote the URL.
type Telegram struct {
	APIURL string // default https://api.telegram.org
	Token  string
	ChatID string
	Client *http.Client
}

// Name names the sink in logs.
func (t Telegram) Name() string { return "telegram" }

// Send posts n's text to the chat.
func (t Telegram) Send(ctx context.Context, n Notice) error {
	base := strings.TrimRight(t.APIURL, "/")
	if base == "" {
		base = "https://api.telegram.org"
	}
	form := url.Values{"chat_id": {t.ChatID}, "text": {"polybot: " + n.Text}, "disable_web_page_preview": {"true"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/bot"+t.Token+"/sendMessage", strings.NewReader(form.Encode()))
	if err != nil {
		return errors.New("telegram: bad API URL")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t.Client, req, "telegram")
}

// do sends req and reads a short answer. Transport errors are reported without the URL
// (url.Error quotes it, token and all).
func do(c *http.Client, req *http.Request, what string) error {
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: HTTP %d: %s", what, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}
