package main

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

// tracer wraps the verifying transport: it records whether a request failed
// in its TLS handshake (exit 35 for errors the library does not classify)
// and, with -v, says on stderr what happened on each hop: the connection,
// TLS version and cipher, the chain, and the rule that trusted it.
type tracer struct {
	next http.RoundTripper
	// policy judges every host of the run.
	policy  *httptrust.Policy
	verbose io.Writer // nil without -v

	mu            sync.Mutex
	handshakeFail bool
	outMu         sync.Mutex // the trace hooks run on the transport's goroutines
}

func (t *tracer) handshakeFailed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.handshakeFail
}

func (t *tracer) RoundTrip(req *http.Request) (*http.Response, error) {
	var started, done bool
	var mu sync.Mutex
	// The rule is looked up for the host and port: a rule for one port
	// comes before the host's own.
	host := req.URL.Host
	if h, p, err := urlHostPort(req.URL); err == nil {
		host = net.JoinHostPort(h, p)
	}
	trace := &httptrace.ClientTrace{
		ConnectDone: func(network, addr string, err error) {
			if err == nil {
				t.say("* Connected to %s (%s)", req.URL.Host, addr)
			}
		},
		GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				t.say("* Re-using the connection to %s", req.URL.Host)
			}
		},
		WroteHeaders: func() { t.sayRequest(req) },
		TLSHandshakeStart: func() {
			mu.Lock()
			started = true
			mu.Unlock()
		},
		TLSHandshakeDone: func(cs tls.ConnectionState, err error) {
			mu.Lock()
			done = err == nil
			mu.Unlock()
			if err == nil {
				t.sayTLS(host, cs)
			}
		},
	}
	r := req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := t.next.RoundTrip(r)
	mu.Lock()
	failed := err != nil && started && !done
	mu.Unlock()
	if failed {
		t.mu.Lock()
		t.handshakeFail = true
		t.mu.Unlock()
	}
	if err == nil {
		t.sayResponse(resp)
	}
	return resp, err
}

// CloseIdleConnections closes the idle connections of every transport.
func (t *tracer) CloseIdleConnections() { closeIdle(t.next) }

func closeIdle(rt http.RoundTripper) {
	if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (t *tracer) say(format string, args ...any) {
	if t.verbose != nil {
		t.outMu.Lock()
		printf(t.verbose, format+"\n", args...)
		t.outMu.Unlock()
	}
}

// sayTLS reports a verified handshake and the rule that trusted it.
func (t *tracer) sayTLS(host string, cs tls.ConnectionState) {
	if t.verbose == nil {
		return
	}
	resumed := "no"
	if cs.DidResume {
		resumed = "yes"
	}
	alpn := cs.NegotiatedProtocol
	if alpn == "" {
		alpn = "http/1.1"
	}
	t.say("* %s, %s, ALPN %s, session resumed: %s", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), alpn, resumed)
	t.say("* Server certificate chain (verified):")
	for i, c := range cs.PeerCertificates {
		t.say("*  %d %s", i, c.Subject.String())
		t.say("*    issuer %s; valid until %s", c.Issuer.String(), c.NotAfter.UTC().Format(time.DateOnly))
		t.say("*    sha256 %s", certs.CertFingerprint(c))
		t.say("*    %s", certs.SPKIPin(c))
	}
	eff, err := t.policy.Lookup(host)
	if err != nil {
		return
	}
	t.say("* Trusted by: %s", eff.String())
	var fields []string
	for f, src := range eff.Sources {
		if !strings.HasPrefix(src, "default") {
			fields = append(fields, f+" from "+src)
		}
	}
	sort.Strings(fields)
	for _, f := range fields {
		t.say("*   %s", f)
	}
	if eff.Rule == nil || eff.SystemRoots {
		t.say("*   system roots: on")
	}
}

func (t *tracer) sayRequest(r *http.Request) {
	if t.verbose == nil {
		return
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	t.say("> %s %s", r.Method, r.URL.RequestURI())
	t.say("> Host: %s", host)
	t.outMu.Lock()
	defer t.outMu.Unlock()
	sayHeaders(t.verbose, "> ", r.Header)
}

func (t *tracer) sayResponse(resp *http.Response) {
	if t.verbose == nil {
		return
	}
	t.say("< %s %s", resp.Proto, resp.Status)
	t.outMu.Lock()
	defer t.outMu.Unlock()
	sayHeaders(t.verbose, "< ", resp.Header)
}

func sayHeaders(w io.Writer, prefix string, h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			printf(w, "%s%s: %s\n", ours(prefix), k, v)
		}
	}
}
