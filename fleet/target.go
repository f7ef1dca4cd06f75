package fleet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"

	"github.com/httptrust/httptrust"
)

// A Target is one endpoint to probe, as written in a target list.
type Target struct {
	// Raw is the target as written (trimmed).
	Raw string
	// Scheme is "https" for an https:// URL, "tls" for tls://host:port and
	// for a bare host:port.
	Scheme string
	// Host is the host as rules compare it (httptrust.NormalizeHost): a
	// name in lower-case ASCII, or an IP literal without brackets.
	Host string
	// Port is the port in its plain form ("443" when an https URL gives
	// none).
	Port string
	// URL is what the https module requests: the URL as written, or
	// https://host:port/ for a tls or host:port target.
	URL *url.URL
}

// HostPort returns "host:port" (IPv6 in brackets), as the policy judges it.
func (t Target) HostPort() string { return net.JoinHostPort(t.Host, t.Port) }

// String returns the target as written.
func (t Target) String() string { return t.Raw }

// MaxTargetLen bounds one target: longer lines are refused, not cut.
const MaxTargetLen = 2048

// ErrTarget is wrapped by every target that cannot be parsed.
var ErrTarget = errors.New("fleet: not a target")

// ParseTarget parses one target: an https:// URL ("https://nas.local:5001/
// health"), tls://host:port, or host:port ("[fd00::1]:8443"). A port is
// required but for an https URL (443). A URL with a user name or password
// is refused: the target is a label on every metric, and a secret must
// not be one.
func ParseTarget(s string) (Target, error) {
	raw := strings.TrimSpace(s)
	fail := func(format string, args ...any) (Target, error) {
		return Target{}, fmt.Errorf("%w: %q: %s", ErrTarget, shorten(raw), fmt.Sprintf(format, args...))
	}
	switch {
	case raw == "":
		return fail("empty")
	case len(raw) > MaxTargetLen:
		return fail("longer than %d bytes", MaxTargetLen)
	case strings.ContainsFunc(raw, func(r rune) bool { return r < 0x21 || r == 0x7f }):
		return fail("holds a space or control character")
	}
	scheme, rest, hasScheme := strings.Cut(raw, "://")
	if !hasScheme {
		return hostPortTarget(raw, raw, "tls", false)
	}
	switch strings.ToLower(scheme) {
	case "tls":
		if strings.ContainsAny(rest, "/?#@") {
			return fail("a tls:// target is tls://host:port, with no path, query or user")
		}
		return hostPortTarget(raw, rest, "tls", false)
	case "https":
	case "http":
		return fail("plain http is not a TLS endpoint; use https://")
	default:
		return fail("unknown scheme %q; use https://host/, tls://host:port or host:port", scheme)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fail("not a URL: %v", errors.Unwrap(err))
	}
	if u.User != nil {
		return fail("a URL with a user or password; the target is a metric label, so secrets cannot go in it")
	}
	if u.Opaque != "" || u.Host == "" {
		return fail("no host")
	}
	t, err := hostPortTarget(raw, u.Host, "https", true)
	if err != nil {
		return t, err
	}
	u.Scheme, u.Fragment, u.RawFragment = "https", "", ""
	if u.Path == "" {
		u.Path = "/"
	}
	t.URL = u
	return t, nil
}

// hostPortTarget parses "host:port" (or, when portOptional, "host").
func hostPortTarget(raw, hp, scheme string, portOptional bool) (Target, error) {
	fail := func(format string, args ...any) (Target, error) {
		return Target{}, fmt.Errorf("%w: %q: %s", ErrTarget, shorten(raw), fmt.Sprintf(format, args...))
	}
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		if !portOptional || strings.HasSuffix(hp, ":") {
			if strings.Count(hp, ":") > 1 && !strings.HasPrefix(hp, "[") {
				return fail("an IPv6 address goes in brackets with its port: [%s]:PORT", hp)
			}
			return fail("give the port: host:port, or an https:// URL (port 443)")
		}
		host, port = strings.TrimSuffix(strings.TrimPrefix(hp, "["), "]"), "443"
	}
	if host == "" {
		return fail("no host")
	}
	if port == "" {
		return fail("give the port: host:port, or an https:// URL (port 443)")
	}
	if port, err = plainPort(port); err != nil {
		return fail("%v", err)
	}
	n, err := httptrust.NormalizeHost(host)
	if err != nil {
		return fail("%v", errors.Unwrap(err))
	}
	u := &url.URL{Scheme: "https", Host: net.JoinHostPort(n, port), Path: "/"}
	return Target{Raw: raw, Scheme: scheme, Host: n, Port: port, URL: u}, nil
}

// plainPort accepts a port number in its one written form.
func plainPort(p string) (string, error) {
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' || (i == 0 && c == '0') || i >= 5 {
			return "", fmt.Errorf("port %q is not a number from 1 to 65535 in its plain form", p)
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 65535 {
		return "", fmt.Errorf("port %q is not a number from 1 to 65535", p)
	}
	return p, nil
}

// A TargetError is a line of a target list that cannot be parsed.
type TargetError struct {
	File string // the list's name ("-" for standard input)
	Line int
	Err  error
}

func (e *TargetError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *TargetError) Unwrap() error { return e.Err }

// MaxTargets bounds a target list.
const MaxTargets = 10_000_000

// ParseTargets reads a target list: one target per line; blank lines and
// comments (from a "#" at the start of a line or after a space) are
// skipped. name is the list's name for errors. Every bad line is reported,
// joined, with its line number; no target is returned then.
func ParseTargets(r io.Reader, name string) ([]Target, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxTargetLen+2)
	var out []Target
	var errs []error
	line := 0
	for sc.Scan() {
		line++
		s := stripComment(sc.Text())
		if s == "" {
			continue
		}
		t, err := ParseTarget(s)
		if err != nil {
			if len(errs) < 20 {
				errs = append(errs, &TargetError{File: name, Line: line, Err: err})
			}
			continue
		}
		if len(out) == MaxTargets {
			return nil, &TargetError{File: name, Line: line, Err: fmt.Errorf("more than %d targets", MaxTargets)}
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("%w: a line is longer than %d bytes", ErrTarget, MaxTargetLen)
		}
		errs = append(errs, &TargetError{File: name, Line: line + 1, Err: err})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// stripComment removes a comment and surrounding space from a line. A "#"
// inside a target (a URL fragment) is not a comment.
func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			s = s[:i]
			break
		}
	}
	return strings.TrimSpace(s)
}

// shorten keeps an error message about a long target readable.
func shorten(s string) string {
	if len(s) > 120 {
		return s[:117] + "..."
	}
	return s
}
