package config

import (
	"errors"
	"testing"
)

func TestMetricsListenStaysOnLoopbackUnlessAllowed(t *testing.T) {
	for _, tc := range []struct {
		listen  string
		allow   bool
		problem bool
	}{
		{"", false, false}, // off
		{"127.0.0.1:9464", false, false},
		{"127.0.0.1:0", false, false},
		{"[::1]:9464", false, false},
		{"localhost:9464", false, false},
		{"0.0.0.0:9464", false, true},
		{":9464", false, true}, // every interface
		{"[::]:9464", false, true},
		{"192.168.1.10:9464", false, true},
		{"metrics.example.com:9464", false, true},
		{"0.0.0.0:9464", true, false},
		{"metrics.example.com:9464", true, false},
		{"127.0.0.1", false, true}, // no port
		{"127.0.0.1:http", false, true},
		{"127.0.0.1:65536", false, true},
		{"127.0.0.1:65536", true, true},
	} {
		cfg := Default()
		cfg.Leaders = []Leader{{Address: [20]byte{19: 1}, Enabled: true}}
		cfg.Metrics.Listen, cfg.Metrics.AllowNonLoopback = tc.listen, tc.allow
		err := cfg.Validate()
		var verr *ValidationError
		got := errors.As(err, &verr) && verr.Has("metrics.listen")
		if got != tc.problem {
			t.Errorf("listen %q allow_non_loopback %v: problem %v, want %v (%v)", tc.listen, tc.allow, got, tc.problem, err)
		}
	}
}

func TestAdminSocketMustBeAnAbsoluteShortPath(t *testing.T) {
	long := "/"
	for len(long) < 120 {
		long += "x"
	}
	for _, tc := range []struct {
		socket  string
		problem bool
	}{
		{"", false},
		{"/run/polybot/admin.sock", false},
		{"admin.sock", true},
		{"./run/admin.sock", true},
		{long, true},
	} {
		cfg := Default()
		cfg.Leaders = []Leader{{Address: [20]byte{19: 1}, Enabled: true}}
		cfg.Admin.Socket = tc.socket
		var verr *ValidationError
		got := errors.As(cfg.Validate(), &verr) && verr.Has("admin.socket")
		if got != tc.problem {
			t.Errorf("admin.socket %q: problem %v, want %v", tc.socket, got, tc.problem)
		}
	}
}

func TestMetricsAndAdminDefaults(t *testing.T) {
	d := Default()
	if d.Metrics.Listen != "" || d.Metrics.AllowNonLoopback || !d.Admin.Enabled || d.Admin.Socket != "" {
		t.Fatalf("defaults: metrics %+v admin %+v; want metrics off, admin on at its default path", d.Metrics, d.Admin)
	}
}
