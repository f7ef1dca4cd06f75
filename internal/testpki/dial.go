package testpki

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
)

// ErrNotLoopback is returned by a Dialer asked to connect to an address
// outside the loopback range: tests never leave the machine.
var ErrNotLoopback = errors.New("testpki: refusing to dial a non-loopback address")

// Dialer returns a DialContext function that connects only to loopback
// addresses, mapping host names the way curl --resolve does.
//
// A key of resolve is "host:port" (that port only) or "host" (any port); the
// first is tried first. Host names match without regard to case or a
// trailing dot. A value is "ip:port" or "ip", which keeps the requested port;
// the IP must be a loopback address. An address that is itself a loopback IP
// literal dials directly without an entry. Any other host fails with a
// *net.DNSError whose IsNotFound is true, as an unknown name would, and a
// mapping to a non-loopback address fails with ErrNotLoopback. The map is
// copied; later changes to it have no effect.
func Dialer(resolve map[string]string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	m := make(map[string]string, len(resolve))
	for k, v := range resolve {
		m[normalizeKey(k)] = v
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		switch network {
		case "tcp", "tcp4", "tcp6":
		default:
			return nil, fmt.Errorf("testpki: refusing network %q", network)
		}
		target, err := lookup(m, addr)
		if err != nil {
			return nil, err
		}
		var d net.Dialer
		return d.DialContext(ctx, network, target)
	}
}

func normalizeHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

func normalizeKey(k string) string {
	if h, p, err := net.SplitHostPort(k); err == nil {
		return net.JoinHostPort(normalizeHost(h), p)
	}
	return normalizeHost(strings.TrimSuffix(strings.TrimPrefix(k, "["), "]"))
}

// lookup maps addr ("host:port") to a loopback "ip:port".
func lookup(m map[string]string, addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("testpki: dial %q: %w", addr, err)
	}
	host = normalizeHost(host)
	v, ok := m[net.JoinHostPort(host, port)]
	if !ok {
		v, ok = m[host]
	}
	if !ok {
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return net.JoinHostPort(host, port), nil
		}
		return "", &net.DNSError{Err: "not in the testpki resolve map", Name: host, IsNotFound: true}
	}
	target := v
	vhost, _, err := net.SplitHostPort(v)
	if err != nil {
		vhost = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
		target = net.JoinHostPort(vhost, port)
	}
	if ip := net.ParseIP(vhost); ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("%w: %q maps to %q", ErrNotLoopback, addr, v)
	}
	return target, nil
}
