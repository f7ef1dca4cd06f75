package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/probe"
)

// resolveMap is --resolve HOST:PORT:ADDR, keyed by normalised "host:port".
type resolveMap map[string]string

// parseResolve parses curl's --resolve entries. ADDR may be an IPv6
// literal with or without brackets.
func parseResolve(entries []string) (resolveMap, error) {
	m := resolveMap{}
	for _, s := range entries {
		host, rest, ok := cutHost(s)
		port, addr, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 || host == "" || port == "" || addr == "" {
			return nil, usagef("--resolve %q: want HOST:PORT:ADDR, e.g. --resolve device.local:443:192.168.1.20", s)
		}
		addr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
		if net.ParseIP(addr) == nil {
			return nil, usagef("--resolve %q: %q is not an IP address", s, addr)
		}
		n, err := httptrust.NormalizeHost(host)
		if err != nil {
			return nil, usagef("--resolve %q: %v", s, err)
		}
		m[net.JoinHostPort(n, port)] = net.JoinHostPort(addr, port)
	}
	return m, nil
}

// cutHost splits "HOST:rest", where HOST may be a bracketed IPv6 literal.
func cutHost(s string) (host, rest string, ok bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]:")
		if end < 0 {
			return "", "", false
		}
		return s[1:end], s[end+2:], true
	}
	return strings.Cut(s, ":")
}

// lookup returns the address to dial for addr ("host:port").
func (m resolveMap) lookup(addr string) string {
	if len(m) == 0 {
		return addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if n, err := httptrust.NormalizeHost(host); err == nil {
		if to, ok := m[net.JoinHostPort(n, port)]; ok {
			return to
		}
	}
	return addr
}

// dialFunc dials through the resolve map.
func (m resolveMap) dialFunc(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, m.lookup(addr))
	}
}

// baseTransport is the *http.Transport every request starts from: the
// proxy from the environment, --resolve, and curl-like timeouts (none but
// the connect timeout unless --max-time is given).
func baseTransport(m resolveMap, connectTimeout time.Duration) *http.Transport {
	if connectTimeout <= 0 {
		connectTimeout = httptrust.DefaultDialTimeout
	}
	d := &net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           m.dialFunc(d),
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   httptrust.DefaultTLSHandshakeTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          10,
		IdleConnTimeout:       30 * time.Second,
	}
}

// parseURL accepts an http or https URL; without a scheme, https.
func parseURL(raw string) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, usagef("%q is not a URL: %v", raw, errors.Unwrap(err))
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		err := &exitError{code: exitUsage, err: fmt.Errorf("%q: only https:// and http:// URLs are supported", redactURL(raw))}
		if _, ok := probe.LookupScheme(u.Scheme); ok {
			// A TLS service that is not HTTP: its certificate can be seen
			// and trusted, not fetched from.
			err.hints = []string{"get speaks HTTP only; inspect, pin, fetch and diagnose take this URL, to see and trust the service's certificate"}
		}
		return nil, err
	}
	if u.Hostname() == "" {
		return nil, usagef("%q has no host", raw)
	}
	return u, nil
}

// urlHostPort returns the URL's normalised host and its port: the
// scheme's default (443 for https, 80 for http, 25 for smtp, ...) when the
// URL gives none.
func urlHostPort(u *url.URL) (host, port string, err error) {
	host, err = httptrust.NormalizeHost(u.Hostname())
	if err != nil {
		return "", "", usagef("%v", err)
	}
	port = u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
		if s, ok := probe.LookupScheme(u.Scheme); ok {
			port = s.Port
		}
	}
	if port == "" {
		return "", "", usagef("%s needs a port: %s://HOST:PORT", u.Redacted(), u.Scheme)
	}
	return host, port, nil
}

// netErrorHints explains a failure that is not a certificate problem.
func (e *env) netErrorHints(code int, u *url.URL) []string {
	switch code {
	case exitResolve:
		return []string{"check the host name, or give its address: --resolve " + u.Hostname() + ":PORT:ADDR"}
	case exitConnect:
		return []string{"nothing accepted the connection: check the host and port, and that the server is running"}
	case exitTimeout:
		return []string{"the server did not answer in time; allow longer with --max-time SECONDS"}
	case exitHandshake:
		return []string{"the TLS handshake failed; what the server presents:", "  " + e.commandLine(httptrust.Command{Name: "inspect", Args: []string{u.Redacted()}})}
	}
	return nil
}
