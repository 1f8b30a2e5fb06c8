package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
)

// Errors of Fetch.
var (
	// ErrNotRunning means no daemon answers on the socket: it does not exist, or it is stale.
	ErrNotRunning = errors.New("polybot is not running")
	// ErrPermission means the socket exists but this user may not connect to it.
	ErrPermission = errors.New("permission denied on the admin socket (run as root or as polybot's user)")
)

// maxResponse bounds what Fetch reads.
const maxResponse = 1 << 20

// Fetch asks the daemon listening on socket for its status. Its error wraps ErrNotRunning when
// nothing answers there and ErrPermission when the socket may not be opened. ctx bounds the call.
func Fetch(ctx context.Context, socket string) (Status, error) {
	var st Status
	body, err := FetchRaw(ctx, socket)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(body, &st); err != nil {
		return st, fmt.Errorf("decode status from %s: %w", socket, err)
	}
	return st, nil
}

// FetchRaw is Fetch returning the JSON as the daemon sent it.
func FetchRaw(ctx context.Context, socket string) ([]byte, error) {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://polybot/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOTSOCK):
			return nil, fmt.Errorf("%w (nothing answers on %s)", ErrNotRunning, socket)
		case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
			return nil, fmt.Errorf("%s: %w", socket, ErrPermission)
		}
		return nil, fmt.Errorf("ask %s: %w", socket, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("read status from %s: %w", socket, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status from %s: %s", socket, resp.Status)
	}
	return body, nil
}
