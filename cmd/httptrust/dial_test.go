package main

import (
	"net"
	"strings"
	"testing"
)

func TestParseResolve(t *testing.T) {
	tests := []struct {
		in, dial, want string
		ok             bool
	}{
		{"device.local:443:192.168.1.20", "device.local:443", "192.168.1.20:443", true},
		{"Device.Local.:443:192.168.1.20", "device.local:443", "192.168.1.20:443", true},
		{"device.local:8443:[fd00::1]", "DEVICE.local:8443", "[fd00::1]:8443", true},
		{"device.local:8443:fd00::1", "device.local:8443", "[fd00::1]:8443", true},
		{"[fd00::2]:443:127.0.0.1", "[fd00::2]:443", "127.0.0.1:443", true},
		{"device.local:443:192.168.1.20", "device.local:80", "device.local:80", true},
		{"device.local:443", "", "", false},
		{"device.local:443:not-an-ip", "", "", false},
		{":443:127.0.0.1", "", "", false},
		{"[fd00::2:443:127.0.0.1", "", "", false},
	}
	for _, tt := range tests {
		m, err := parseResolve([]string{tt.in})
		if (err == nil) != tt.ok {
			t.Errorf("parseResolve(%q): %v, want ok %v", tt.in, err, tt.ok)
			continue
		}
		if err != nil {
			if exitCode(err, false) != exitUsage {
				t.Errorf("parseResolve(%q): exit %d, want %d", tt.in, exitCode(err, false), exitUsage)
			}
			continue
		}
		if got := m.lookup(tt.dial); got != tt.want {
			t.Errorf("--resolve %q: dial %q goes to %q, want %q", tt.in, tt.dial, got, tt.want)
		}
	}
}

// FuzzParseResolve: any input is parsed or refused, never a panic, and
// what is accepted dials an IP address on the given port.
func FuzzParseResolve(f *testing.F) {
	for _, s := range []string{"device.local:443:192.168.1.20", "[::1]:8443:[fd00::1]", "a:b:c:d", "::::", "[", "x:1:1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseResolve([]string{s})
		if err != nil {
			return
		}
		for key, to := range m {
			host, port, err := net.SplitHostPort(to)
			if err != nil || net.ParseIP(host) == nil || !strings.HasSuffix(key, ":"+port) {
				t.Fatalf("%q: %q -> %q", s, key, to)
			}
		}
	})
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://device.local/x", "https://device.local/x", true},
		{"device.local:8443", "https://device.local:8443", true},
		{"http://10.0.0.1/", "http://10.0.0.1/", true},
		{"ftp://x/", "", false},
		{"https:///nohost", "", false},
		{"https://[::1", "", false},
	}
	for _, tt := range tests {
		u, err := parseURL(tt.in)
		if (err == nil) != tt.ok || (err == nil && u.String() != tt.want) {
			t.Errorf("parseURL(%q) = %v, %v; want %q ok %v", tt.in, u, err, tt.want, tt.ok)
		}
	}
}

// FuzzParseURL: no panic; an accepted URL has an http(s) scheme and a host.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"https://device.local/", "device.local:1", "http://[::1]:80/", "https://%zz/", "://"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseURL(s)
		if err != nil {
			return
		}
		if (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
			t.Fatalf("%q accepted as %v", s, u)
		}
	})
}
