package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/config"
)

// Server limits: a scrape is a small GET; anything larger or slower is not one.
const (
	maxHeaderBytes    = 8 << 10
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
	shutdownTimeout   = 5 * time.Second
)

// ErrNotLoopback is returned by Listen for an address beyond loopback without the opt-in.
var ErrNotLoopback = errors.New("metrics: listen address is not loopback (set metrics.allow_non_loopback: true to serve beyond this host)")

// Server serves a Metrics handler on a TCP listener.
type Server struct {
	ln  net.Listener
	srv *http.Server
	log *zap.Logger
}

// Listen binds addr (host:port; port 0 picks a free one) for m's handler. An address that is not
// loopback is refused unless allowNonLoopback, and then served with a warning.
func (m *Metrics) Listen(addr string, allowNonLoopback bool) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen address %q: %w", addr, err)
	}
	if !config.IsLoopback(host) && !allowNonLoopback {
		return nil, ErrNotLoopback
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	bound, _ := ln.Addr().(*net.TCPAddr)
	loopback := bound != nil && bound.IP.IsLoopback()
	switch {
	case !loopback && !allowNonLoopback: // "localhost" resolved to something else
		_ = ln.Close()
		return nil, ErrNotLoopback
	case !loopback:
		m.log.Warn("metrics served beyond loopback: anyone who reaches the port sees the account's trading",
			zap.Stringer("addr", ln.Addr()))
	}
	m.log.Info("metrics listening", zap.Stringer("addr", ln.Addr()))
	return &Server{
		ln:  ln,
		log: m.log,
		srv: &http.Server{
			Handler:           m.handler,
			MaxHeaderBytes:    maxHeaderBytes,
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			WriteTimeout:      writeTimeout,
			IdleTimeout:       idleTimeout,
			ErrorLog:          zap.NewStdLog(m.log),
		},
	}, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close releases the listener of a Server that will not Run.
func (s *Server) Close() error { return s.ln.Close() }

// Run serves until ctx ends, then lets requests under way finish for a few seconds. It returns
// nil on cancellation.
func (s *Server) Run(ctx context.Context) error {
	return serve(ctx, s.srv, s.ln)
}

func serve(ctx context.Context, srv *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: serve: %w", err)
	}
	return nil
}
