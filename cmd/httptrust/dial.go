package main

import (
	"context"
	"crypto/tls"
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

// baseTransport is the *http.Transport every request of get starts from:
// the proxy (-x, or the environment), --resolve, the TLS versions of the
// command line (the library keeps them, but for trust), and curl's
// timeouts: connecting (name lookup, TCP, the TLS handshake, a proxy's
// CONNECT) is bounded by one deadline (see timeouts), and nothing else
// unless --max-time is given.
func baseTransport(m resolveMap, connect time.Duration, proxy func(*http.Request) (*url.URL, error), tlsCfg *tls.Config) *http.Transport {
	return &http.Transport{
		Proxy:                 proxy,
		DialContext:           connectDialer(m, connect),
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   connect, // never reached first: the connect deadline covers the handshake too
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
		host, port := u.Hostname(), u.Port()
		if port == "" {
			_, port, _ = urlHostPort(u)
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		return []string{"check the host name, or give its address: --resolve " + host + ":" + port + ":ADDR"}
	case exitConnect:
		return []string{"nothing accepted the connection: check the host and port, and that the server is running"}
	case exitTimeout:
		return []string{"the server did not answer in time; allow longer with --connect-timeout SECONDS (connecting, default 10) or --max-time SECONDS (in all)"}
	case exitHandshake:
		return []string{"the TLS handshake failed; what the server presents:", "  " + e.commandLine(httptrust.Command{Name: "inspect", Args: []string{u.Redacted()}})}
	}
	return nil
}

// resolveMisses warns about --resolve entries for the URL's host that name
// another port: as curl's, an entry is for one HOST:PORT, and it would be
// ignored without a word.
func (e *env) resolveMisses(entries []string, u *url.URL) {
	host, port, err := urlHostPort(u)
	if err != nil {
		return
	}
	for _, s := range entries {
		h, rest, ok := cutHost(s)
		p, _, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 {
			continue
		}
		if n, err := httptrust.NormalizeHost(h); err == nil && n == host && p != port {
			if strings.Contains(h, ":") {
				h = "[" + h + "]"
			}
			e.warn(fmt.Sprintf("--resolve %s does not apply: it is for port %s, and the URL's port is %s (give --resolve %s:%s:ADDR)", s, p, port, h, port))
		}
	}
}
