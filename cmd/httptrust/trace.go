package main

import (
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/certs"
)

// tracer wraps the verifying transport: it records whether a request failed
// in its TLS handshake (exit 35 for errors the library does not classify),
// how far each hop got and when (for -w, and for a timeout's message), and,
// with -v, says on stderr what happened on each hop: the connection, TLS
// version and cipher, the chain, the rule that trusted it, and a server's
// request for a client certificate.
type tracer struct {
	next http.RoundTripper
	// policy judges every host of the run.
	policy  *httptrust.Policy
	verbose io.Writer // nil without -v

	mu            sync.Mutex
	handshakeFail bool
	run           transfer
	certReqs      map[string]certRequest // by host, the last request of each
	outMu         sync.Mutex             // the trace hooks run on the transport's goroutines
}

// phase is how far a request got.
type phase int

const (
	phaseNone      phase = iota // no connection yet
	phaseConnected              // TCP connected, TLS not finished
	phaseSent                   // a connection is ready: the request is sent, the answer awaited
	phaseBody                   // the answer's headers arrived: the body is read
)

// transfer is what the tracer records of a run: the start of the first
// request, and when the last hop reached each step (zero when it did not,
// or reused a connection that had).
type transfer struct {
	start, hopStart                   time.Time
	dns, connect, tls, got, firstByte time.Time
	phase                             phase
	hops                              int
	remote, local                     net.Addr
	proto                             string // the last hop's HTTP version: "HTTP/2", "HTTP/1.1"
	tlsDone                           bool   // the last hop's TLS verified
}

// tcpAddr is addr ("ip:port") as a net.Addr; nil when it is not one.
func tcpAddr(addr string) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil
	}
	return a
}

// certRequest is a server's request for a client certificate.
type certRequest struct {
	issuers []string
	sent    bool
}

func (t *tracer) handshakeFailed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.handshakeFail
}

// transfer returns what was recorded so far.
func (t *tracer) transfer() transfer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.run
}

// certRequest returns the last request for a client certificate by host.
func (t *tracer) certRequest(host string) (certRequest, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.certReqs[host]
	return r, ok
}

// clientCertRequested records an EventClientCertRequested, and says it
// with -v.
func (t *tracer) clientCertRequested(ev httptrust.Event) {
	t.mu.Lock()
	if t.certReqs == nil {
		t.certReqs = map[string]certRequest{}
	}
	t.certReqs[ev.Host] = certRequest{issuers: ev.Issuers, sent: ev.Sent}
	t.mu.Unlock()
	sent := "none was sent"
	if ev.Sent {
		sent = "the configured one was sent"
	}
	t.say("* %s asked for a client certificate (acceptable issuers: %s); %s", ev.Host, issuerList(ev.Issuers), sent)
}

// issuerList prints acceptable issuers.
func issuerList(issuers []string) string {
	if len(issuers) == 0 {
		return "any"
	}
	return strings.Join(issuers, "; ")
}

// mark records, under the lock, what a trace hook saw.
func (t *tracer) mark(f func(r *transfer)) {
	t.mu.Lock()
	f(&t.run)
	t.mu.Unlock()
}

func (t *tracer) RoundTrip(req *http.Request) (*http.Response, error) {
	now := time.Now()
	t.mark(func(r *transfer) {
		if r.start.IsZero() {
			r.start = now
		}
		*r = transfer{start: r.start, hopStart: now, hops: r.hops + 1, proto: "HTTP/1.1"}
	})
	h := &hop{}
	r := req.WithContext(httptrace.WithClientTrace(req.Context(), t.hooks(req, h)))
	resp, err := t.next.RoundTrip(r)
	h.mu.Lock()
	failed := err != nil && h.started && !h.done
	h.mu.Unlock()
	if failed {
		t.mu.Lock()
		t.handshakeFail = true
		t.mu.Unlock()
	}
	if err == nil {
		t.mark(func(r *transfer) { r.phase = phaseBody })
		t.sayResponse(resp)
	}
	return resp, err
}

// hop is whether a request's TLS handshake started and finished.
type hop struct {
	mu            sync.Mutex
	started, done bool
}

// hooks records the steps of req (and says them with -v).
func (t *tracer) hooks(req *http.Request, h *hop) *httptrace.ClientTrace {
	// The rule is looked up for the host and port: a rule for one port
	// comes before the host's own.
	host := req.URL.Host
	if h, p, err := urlHostPort(req.URL); err == nil {
		host = net.JoinHostPort(h, p)
	}
	return &httptrace.ClientTrace{
		DNSDone: func(httptrace.DNSDoneInfo) { t.mark(func(r *transfer) { r.dns = time.Now() }) },
		ConnectDone: func(network, addr string, err error) {
			if err == nil {
				t.mark(func(r *transfer) { r.connect, r.phase, r.remote = time.Now(), phaseConnected, tcpAddr(addr) })
				t.say("* Connected to %s (%s)", req.URL.Host, addr)
			}
		},
		GotConn: func(info httptrace.GotConnInfo) {
			proto := "HTTP/1.1"
			if tc, ok := info.Conn.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol == "h2" {
				proto = "HTTP/2"
			}
			t.mark(func(r *transfer) {
				r.got, r.phase, r.proto = time.Now(), phaseSent, proto
				r.remote, r.local = info.Conn.RemoteAddr(), info.Conn.LocalAddr()
			})
			if info.Reused {
				t.say("* Re-using the connection to %s", req.URL.Host)
				return
			}
			clearConnectDeadline(info.Conn)
		},
		GotFirstResponseByte: func() { t.mark(func(r *transfer) { r.firstByte = time.Now() }) },
		WroteHeaders:         func() { t.sayRequest(req) },
		TLSHandshakeStart: func() {
			h.mu.Lock()
			h.started = true
			h.mu.Unlock()
		},
		TLSHandshakeDone: func(cs tls.ConnectionState, err error) {
			h.mu.Lock()
			h.done = err == nil
			h.mu.Unlock()
			if err == nil {
				t.mark(func(r *transfer) { r.tls, r.tlsDone = time.Now(), true })
				t.sayTLS(host, cs)
			}
		},
	}
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

// sayStore says, with -v, which store the run uses.
func (t *tracer) sayStore(dir string) {
	if t.verbose == nil {
		return
	}
	what := ""
	if _, err := os.Stat(dir); err != nil {
		what = " (it does not exist yet: no rules)"
	}
	t.say("* Trust store: %s%s", dir, what)
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
	t.say("> %s %s %s", r.Method, r.URL.RequestURI(), ours(t.transfer().proto))
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
			printf(w, "%s%s: %s\n", ours(prefix), k, shownHeader(k, v))
		}
	}
}

// shownHeader returns a header's value as -v prints it: the password of
// Basic credentials (-u, a URL's user:password@, a proxy's) is never shown.
func shownHeader(name, v string) string {
	if !strings.EqualFold(name, "Authorization") && !strings.EqualFold(name, "Proxy-Authorization") {
		return v
	}
	scheme, cred, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return v
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	user, _, found := strings.Cut(string(raw), ":")
	if err != nil || !found {
		return "Basic (credentials not shown)"
	}
	return "Basic (user " + strconv.Quote(user) + ", password not shown)"
}
