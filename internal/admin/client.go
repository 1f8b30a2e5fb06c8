package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// Errors of Fetch.
var (
	// ErrNotRunning means no daemon answers on the socket: it does not exist, or it is stale.
	ErrNotRunning = errors.New("polybot is not running")
	// ErrPermission means the socket exists but this user may not connect to it.
	ErrPermission = errors.New("permission denied on the admin socket (run as root or as polybot's user)")
)

// maxResponse bounds what the client reads: /status is a few KiB; /decisions at
// MaxDecisionsLimit some 5 MB.
const maxResponse = 16 << 20

// ErrUnsupported means the daemon does not serve the endpoint asked for: an older polybot.
var ErrUnsupported = errors.New("the running daemon does not serve this (an older polybot? restart it after upgrading)")

// Fetch asks the daemon listening on socket for its status. Its error wraps ErrNotRunning when
// nothing answers there and ErrPermission when the socket may not be opened. ctx bounds the call.
func Fetch(ctx context.Context, socket string) (Status, error) {
	var st Status
	err := get(ctx, socket, "/status", &st)
	return st, err
}

// FetchRaw is Fetch returning the JSON as the daemon sent it.
func FetchRaw(ctx context.Context, socket string) ([]byte, error) {
	return Get(ctx, socket, "/status")
}

// FetchPositions asks the daemon for its open positions. Errors as Fetch's, and ErrUnsupported.
func FetchPositions(ctx context.Context, socket string) (PositionBook, error) {
	var b PositionBook
	err := get(ctx, socket, "/positions", &b)
	return b, err
}

// FetchDecisions asks the daemon for the latest limit decisions logged at or after since
// (zero: the whole log). Errors as FetchPositions'.
func FetchDecisions(ctx context.Context, socket string, since time.Time, limit int) (DecisionLog, error) {
	var l DecisionLog
	err := get(ctx, socket, "/decisions?"+DecisionsQuery(since, limit), &l)
	return l, err
}

func get(ctx context.Context, socket, target string, v any) error {
	body, err := Get(ctx, socket, target)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		path, _, _ := strings.Cut(target, "?")
		return fmt.Errorf("decode %s from %s: %w", path, socket, err)
	}
	return nil
}

// Get asks the daemon listening on socket for target ("/status", "/decisions?since=1h") and
// returns the JSON as it was sent. Its error wraps ErrNotRunning when nothing answers there,
// ErrPermission when the socket may not be opened and ErrUnsupported on a 404.
func Get(ctx context.Context, socket, target string) ([]byte, error) {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	path, _, _ := strings.Cut(target, "?")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://polybot"+target, nil)
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
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("read %s from %s: %w", path, socket, err)
	case len(body) > maxResponse:
		return nil, fmt.Errorf("%s from %s: the answer exceeds %d bytes", path, socket, maxResponse)
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%s from %s: %w", path, socket, ErrUnsupported)
	case resp.StatusCode != http.StatusOK:
		msg, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
		if len(msg) > 300 {
			msg = msg[:300] + "..."
		}
		return nil, fmt.Errorf("%s from %s: %s: %s", path, socket, resp.Status, msg)
	}
	return body, nil
}
