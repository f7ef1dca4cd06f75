package testpki

import (
	"context"
	"errors"
	"net"
	"testing"
)

func TestLookup(t *testing.T) {
	resolve := map[string]string{
		"device.test:443":  "127.0.0.1:1234",
		"device.test":      "127.0.0.1",
		"Upper.TEST.":      "127.0.0.2:99",
		"v6.test":          "::1",
		"v6port.test":      "[::1]:8443",
		"[fd00::1]:443":    "127.0.0.1:5555",
		"far.test":         "192.0.2.1:443",
		"farname.test":     "localhost",
		"unspecified.test": "0.0.0.0",
	}
	m := make(map[string]string)
	for k, v := range resolve {
		m[normalizeKey(k)] = v
	}
	tests := []struct {
		addr, want string
		err        string // "", "dns", "loopback", "other"
	}{
		{"device.test:443", "127.0.0.1:1234", ""},
		{"device.test:8443", "127.0.0.1:8443", ""},
		{"DEVICE.test.:8443", "127.0.0.1:8443", ""},
		{"upper.test:1", "127.0.0.2:99", ""},
		{"v6.test:443", "[::1]:443", ""},
		{"v6port.test:1", "[::1]:8443", ""},
		{"[fd00::1]:443", "127.0.0.1:5555", ""},
		{"127.0.0.5:80", "127.0.0.5:80", ""},
		{"[::1]:8443", "[::1]:8443", ""},
		{"bank.test:443", "", "dns"},
		{"localhost:443", "", "dns"},
		{"192.0.2.1:443", "", "dns"},
		{"[fd00::1]:80", "", "dns"},
		{"far.test:443", "", "loopback"},
		{"farname.test:443", "", "loopback"},
		{"unspecified.test:443", "", "loopback"},
		{"no-port.test", "", "other"},
	}
	for _, tt := range tests {
		got, err := lookup(m, tt.addr)
		var dnsErr *net.DNSError
		kind := ""
		switch {
		case err == nil:
		case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
			kind = "dns"
		case errors.Is(err, ErrNotLoopback):
			kind = "loopback"
		default:
			kind = "other"
		}
		if got != tt.want || kind != tt.err {
			t.Errorf("lookup(%q) = %q, %v (%s); want %q, %s", tt.addr, got, err, kind, tt.want, tt.err)
		}
	}
}

func TestDialer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	resolve := map[string]string{"device.test": ln.Addr().String()}
	dial := Dialer(resolve)
	resolve["device.test"] = "192.0.2.1:1" // the dialer holds a copy
	conn, err := dial(context.Background(), "tcp", "device.test:443")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if _, err := dial(context.Background(), "udp", "device.test:443"); err == nil {
		t.Error("udp dial: nil error")
	}
	if _, err := dial(context.Background(), "tcp", "bank.test:443"); err == nil {
		t.Error("unmapped name: nil error")
	}
}

// FuzzLookup checks that the resolver never hands back anything but a
// loopback address, whatever the map and the address.
func FuzzLookup(f *testing.F) {
	seeds := [][3]string{
		{"device.test", "127.0.0.1", "device.test:443"},
		{"device.test:443", "127.0.0.1:99", "device.test:443"},
		{"a.test", "192.0.2.1", "a.test:1"},
		{"a.test", "[::1]", "A.TEST.:1"},
		{"[::1]:1", "127.0.0.1", "[::1]:1"},
		{"x", "", "192.0.2.1:80"},
		{"x", "::ffff:127.0.0.1", "x:0"},
		{"", "", "[fe80::1%lo]:1"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, key, value, addr string) {
		m := map[string]string{normalizeKey(key): value}
		got, err := lookup(m, addr)
		if err != nil {
			return
		}
		host, _, err := net.SplitHostPort(got)
		if err != nil {
			t.Fatalf("lookup(%q) = %q, not host:port", addr, got)
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			t.Fatalf("lookup(%q) with %q -> %q = %q, not loopback", addr, key, value, got)
		}
	})
}
