// Package systemd tells the service manager about polybot's state over the sd_notify protocol:
// readiness, reloads, a one-line status, shutdown and watchdog keep-alives.
package systemd

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// writeTimeout bounds one notification, so a service manager that stops reading cannot stall polybot.
const writeTimeout = 2 * time.Second

// Notifier sends sd_notify messages to the socket named by NOTIFY_SOCKET. Without a socket it is
// disabled: every method sends nothing and returns nil. A nil *Notifier is disabled too. Its methods
// are safe for concurrent use.
type Notifier struct {
	socket   string
	watchdog time.Duration
	log      *zap.Logger
}

// NewNotifier reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the environment. A malformed
// watchdog setting is logged and leaves the watchdog disabled. log may be nil.
func NewNotifier(log *zap.Logger) *Notifier {
	if log == nil {
		log = zap.NewNop()
	}
	socket := os.Getenv("NOTIFY_SOCKET")
	var wd time.Duration
	if socket != "" {
		var err error
		wd, err = daemon.SdWatchdogEnabled(false)
		if err != nil {
			log.Warn("watchdog setting ignored", zap.String("WATCHDOG_USEC", os.Getenv("WATCHDOG_USEC")),
				zap.String("WATCHDOG_PID", os.Getenv("WATCHDOG_PID")), zap.Error(err))
			wd = 0
		}
	}
	return NewNotifierWithSocket(socket, wd, log)
}

// NewNotifierWithSocket returns a Notifier for the given socket path ("" disables it; a leading '@'
// names an abstract socket) and watchdog interval (0 disables the watchdog). log may be nil.
func NewNotifierWithSocket(socket string, watchdog time.Duration, log *zap.Logger) *Notifier {
	if log == nil {
		log = zap.NewNop()
	}
	if socket == "" || watchdog < 0 {
		watchdog = 0
	}
	return &Notifier{socket: socket, watchdog: watchdog, log: log}
}

// Enabled reports whether notifications are sent at all.
func (n *Notifier) Enabled() bool { return n != nil && n.socket != "" }

// WatchdogInterval is the service's WatchdogSec, or 0 when the watchdog is disabled or meant for
// another process. Keep-alives should be sent at about half of it.
func (n *Notifier) WatchdogInterval() time.Duration {
	if !n.Enabled() {
		return 0
	}
	return n.watchdog
}

// Ready says startup, or a reload, is complete.
func (n *Notifier) Ready() error { return n.send(daemon.SdNotifyReady) }

// Reloading says a configuration reload has begun; call Ready when it is done.
func (n *Notifier) Reloading() error {
	if !n.Enabled() {
		return nil
	}
	usec, err := monotonicUsec()
	if err != nil {
		return fmt.Errorf("notify reloading: %w", err)
	}
	return n.send(daemon.SdNotifyReloading + "\nMONOTONIC_USEC=" + strconv.FormatUint(usec, 10))
}

// Status sets the one-line status shown by systemctl status. Line breaks become spaces.
func (n *Notifier) Status(line string) error {
	line = strings.TrimSpace(strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(line))
	return n.send("STATUS=" + line)
}

// ExtendTimeout asks the service manager for d more time to start (or stop) from now:
// EXTEND_TIMEOUT_USEC, systemd 236 and later (sd_notify(3)). Sent while a start makes progress,
// it keeps TimeoutStartSec= from killing a long catch-up; a start that stops sending it is
// killed once d has passed.
func (n *Notifier) ExtendTimeout(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	return n.send("EXTEND_TIMEOUT_USEC=" + strconv.FormatInt(d.Microseconds(), 10))
}

// Stopping says shutdown has begun.
func (n *Notifier) Stopping() error { return n.send(daemon.SdNotifyStopping) }

// Watchdog sends one watchdog keep-alive.
func (n *Notifier) Watchdog() error { return n.send(daemon.SdNotifyWatchdog) }

func (n *Notifier) send(state string) error {
	if !n.Enabled() {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify %s: %w", firstLine(state), err)
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return fmt.Errorf("notify %s: %w", firstLine(state), err)
	}
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("notify %s: %w", firstLine(state), err)
	}
	return nil
}

// monotonicUsec reads CLOCK_MONOTONIC in microseconds, the clock the service manager compares with.
func monotonicUsec() (uint64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, fmt.Errorf("read CLOCK_MONOTONIC: %w", err)
	}
	return uint64(ts.Sec)*1e6 + uint64(ts.Nsec)/1e3, nil
}

// firstLine names a message in errors without its payload.
func firstLine(state string) string {
	name, _, _ := strings.Cut(state, "\n")
	name, _, _ = strings.Cut(name, "=")
	return name
}
