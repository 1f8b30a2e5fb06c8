package admin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/polybot/polybot/internal/config"
	"github.com/polybot/polybot/internal/store"
)

// Server limits: every request is a small GET from a local client.
const (
	socketMode        = 0o600
	maxHeaderBytes    = 8 << 10
	maxBody           = 1 << 10
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 60 * time.Second
	shutdownTimeout   = 3 * time.Second
	probeTimeout      = time.Second
)

// Errors of Listen.
var (
	// ErrInUse means another process answers on the socket: most likely another polybot.
	ErrInUse = errors.New("admin socket in use by another process")
	// ErrNotSocket means the path exists and is not a socket; polybot does not remove it.
	ErrNotSocket = errors.New("admin socket path exists and is not a socket")
)

// SocketPath is where the daemon creates its admin socket: admin.socket when set, else
// admin.sock in $RUNTIME_DIRECTORY (systemd's RuntimeDirectory=), else in state_dir.
func SocketPath(cfg *config.Config) string {
	if cfg.Admin.Socket != "" {
		return cfg.Admin.Socket
	}
	if dir := runtimeDir(); dir != "" {
		return filepath.Join(dir, config.AdminSocketName)
	}
	return filepath.Join(cfg.StateDir, config.AdminSocketName)
}

// ClientPaths are the sockets `polybot status` tries, in order: admin.socket when set; else the
// daemon's default under $RUNTIME_DIRECTORY when set, /run/polybot (systemd's runtime directory,
// which an operator's shell does not have in its environment), and state_dir.
func ClientPaths(cfg *config.Config) []string {
	if cfg.Admin.Socket != "" {
		return []string{cfg.Admin.Socket}
	}
	var out []string
	for _, dir := range []string{runtimeDir(), "/run/polybot", cfg.StateDir} {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, config.AdminSocketName)
		if !contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// runtimeDir is the first of systemd's $RUNTIME_DIRECTORY (colon-separated when the unit has
// several).
func runtimeDir() string {
	dir, _, _ := strings.Cut(os.Getenv("RUNTIME_DIRECTORY"), ":")
	return dir
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Options configures Listen.
type Options struct {
	// Socket is the unix socket path; required.
	Socket string
	// Status is called for each GET /status; required.
	Status func() Status
	// Positions answers GET /positions: the open positions, ordered by token. Optional: without
	// it /positions is 404.
	Positions func() ([]store.Position, error)
	// Decisions answers GET /decisions: the latest limit decisions logged at or after since,
	// oldest first, as store.Store.Decisions returns them. Optional: without it /decisions is 404.
	Decisions func(since time.Time, limit int) ([]store.Decision, error)
	// PnL answers GET /pnl: realised, unrealised and per-leader P&L (PnLOf). Optional: without
	// it /pnl is 404, and /positions leaves out the realised today and all-time figures.
	PnL func() (PnL, error)
	// Now is the clock a since= duration counts back from; default time.Now.
	Now func() time.Time
	// Log defaults to a no-op logger.
	Log *zap.Logger
}

// Server serves the admin endpoint on its socket.
type Server struct {
	path string
	ln   *net.UnixListener
	srv  *http.Server
	log  *zap.Logger
}

// Listen creates the socket, mode 0600 whatever the umask. A stale socket left by a process that
// died is replaced; a socket another process still answers on is ErrInUse.
func Listen(opts Options) (*Server, error) {
	if opts.Socket == "" || opts.Status == nil {
		return nil, errors.New("admin: Socket and Status are required")
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	path := opts.Socket
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(path, socketMode); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("admin: %w", err)
	}
	s := &Server{path: path, ln: ln, log: opts.Log}
	s.srv = &http.Server{
		Handler:           limit(routes(opts)),
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          zap.NewStdLog(opts.Log),
	}
	opts.Log.Info("admin socket listening", zap.String("path", path))
	return s, nil
}

// routes serves /status and, when their callbacks are set, /positions and /decisions.
func routes(opts Options) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/status", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, opts.Log, "status", opts.Status(), nil)
	})
	if opts.PnL != nil {
		mux.HandleFunc("/pnl", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.RawQuery != "" {
				http.Error(w, "bad query: /pnl takes no parameter", http.StatusBadRequest)
				return
			}
			p, err := opts.PnL()
			reply(w, opts.Log, "pnl", p, err)
		})
	}
	if opts.Positions != nil {
		mux.HandleFunc("/positions", func(w http.ResponseWriter, r *http.Request) {
			if len(r.URL.Query()) > 0 {
				http.Error(w, "bad query: /positions takes no parameter", http.StatusBadRequest)
				return
			}
			ps, err := opts.Positions()
			book := PositionBookOf(ps)
			if err == nil && opts.PnL != nil {
				var p PnL
				if p, err = opts.PnL(); err == nil {
					book.RealisedTodayUSDC, book.RealisedAllTimeUSDC = p.RealisedTodayUSDC, p.RealisedAllTimeUSDC
				}
			}
			reply(w, opts.Log, "positions", book, err)
		})
	}
	if opts.Decisions != nil {
		mux.HandleFunc("/decisions", func(w http.ResponseWriter, r *http.Request) {
			since, n, err := ParseDecisionsQuery(r.URL.Query(), opts.Now())
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			// One more than asked says whether older decisions were left out.
			ds, err := opts.Decisions(since, n+1)
			reply(w, opts.Log, "decisions", DecisionLogOf(since, n, ds), err)
		})
	}
	return mux
}

// reply writes v as JSON, or a 500 when err (from reading the store) is not nil.
func reply(w http.ResponseWriter, log *zap.Logger, what string, v any, err error) {
	var b []byte
	if err == nil {
		b, err = Encode(v)
	}
	if err != nil {
		log.Warn("admin request failed", zap.String("endpoint", what), zap.Error(err))
		http.Error(w, fmt.Sprintf("cannot read %s: %v", what, err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// removeStale removes a socket at path that nobody answers on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("admin: %w", err)
	case fi.Mode()&fs.ModeSocket == 0:
		return fmt.Errorf("%w: %s", ErrNotSocket, path)
	}
	c, err := net.DialTimeout("unix", path, probeTimeout)
	if err == nil {
		_ = c.Close()
		return fmt.Errorf("%w: %s", ErrInUse, path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("admin: remove stale socket: %w", err)
	}
	return nil
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// Close releases (and removes) the socket of a Server that will not Run.
func (s *Server) Close() error { return s.ln.Close() }

// Run serves until ctx ends, then lets requests under way finish for a few seconds and removes
// the socket. It returns nil on cancellation.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("admin: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		_ = s.srv.Close()
	}
	err := <-errc
	s.log.Debug("admin socket closed", zap.String("path", s.path))
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("admin: serve: %w", err)
	}
	return nil
}

// limit refuses methods other than GET and HEAD and bounds the request body.
func limit(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		h.ServeHTTP(w, r)
	})
}
