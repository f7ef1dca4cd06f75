package diagnose

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/probe"
)

// clientAndHTTP completes a verified handshake to learn whether the server
// asks for a client certificate, then sends one GET (no redirect followed)
// to check the clock and redirects.
func (r *run) clientAndHTTP() {
	if r.clientCertificate(); r.stopped {
		return
	}
	if r.certRefused {
		r.add("http", Skip, "not checked: the server refused the handshake without the client certificate it asks for")
		return
	}
	r.httpGet()
}

// certReadWait is how long a verified TLS 1.3 connection waits for the
// server's verdict on the client certificate (or its absence), which
// comes after the handshake: an alert, or nothing from a server that waits
// for a request.
const certReadWait = time.Second

func (r *run) clientCertificate() {
	r.begin("client_certificate")
	cfg, err := r.o.Policy.TLSConfigFor(netJoin(r.rep.Host, r.rep.Port))
	if err != nil {
		r.add("client_certificate", Skip, err.Error())
		return
	}
	var cri *tls.CertificateRequestInfo
	var sent bool
	offer := cfg.GetClientCertificate
	cfg.GetClientCertificate = func(info *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		cri = info
		c, err := offer(info)
		sent = err == nil && c != nil && len(c.Certificate) > 0
		return c, err
	}
	ctx, cancel := r.stepCtx()
	defer cancel()
	raw, err := r.o.Dial(ctx, "tcp", r.addr)
	if r.timedOut("client_certificate", err, "a TCP connection to "+r.addr) {
		return
	}
	if err == nil {
		if err = probe.StartTLS(ctx, raw, r.proto); err != nil {
			raw.Close()
		}
	}
	if err != nil {
		r.add("client_certificate", Skip, "cannot connect again: "+err.Error())
		return
	}
	conn := tls.Client(raw, cfg)
	herr := conn.HandshakeContext(ctx)
	if herr == nil && cri != nil && conn.ConnectionState().Version == tls.VersionTLS13 {
		// TLS 1.3 servers judge a client certificate after the handshake.
		wait := time.Now().Add(certReadWait)
		if d, ok := ctx.Deadline(); ok && d.Before(wait) {
			wait = d
		}
		conn.SetReadDeadline(wait)
		_, herr = conn.Read(make([]byte, 1))
		if ne, ok := herr.(net.Error); ok && ne.Timeout() {
			herr = nil
		}
	}
	conn.Close()
	if herr != nil && cri == nil && r.timedOut("client_certificate", herr, "the TLS handshake to complete") {
		return
	}
	r.reportClientCert(cri, sent, herr)
}

func (r *run) reportClientCert(cri *tls.CertificateRequestInfo, sent bool, herr error) {
	if cri == nil {
		if herr != nil {
			r.add("client_certificate", Warn, "the server asks for no client certificate, but the verified handshake failed: "+herr.Error())
			return
		}
		r.add("client_certificate", OK, "the server does not ask for a client certificate")
		return
	}
	r.certAsked, r.certSent = true, sent
	var cas []string
	for _, raw := range cri.AcceptableCAs {
		var name pkix.RDNSequence
		if _, err := asn1.Unmarshal(raw, &name); err == nil {
			var n pkix.Name
			n.FillFromRDNSequence(&name)
			cas = append(cas, n.String())
		}
	}
	details := []string{"acceptable issuers: " + orNone(cas)}
	id, idErr := r.o.Policy.ClientIdentity(netJoin(r.rep.Host, r.rep.Port))
	switch {
	case idErr != nil:
		r.add("client_certificate", Fail, "the server asks for a client certificate; the configured one cannot be used: "+idErr.Error(), details...)
		r.refusal(httptrust.ReasonClientCertUnusable, false)
	case id == nil && herr != nil:
		r.certRefused = true
		r.add("client_certificate", Fail, "the server requires a client certificate, none is configured for "+r.rep.Host+", and it refused the handshake without one: "+herr.Error(), details...)
		r.refusal(httptrust.ReasonClientCertRequired, false)
	case id == nil:
		r.add("client_certificate", Warn, "the server asks for a client certificate and none is configured for "+r.rep.Host+"; it completed the handshake without one (it may still refuse the request: see http)", details...)
	case !sent:
		why := "not sent"
		if err := cri.SupportsCertificate(id); err != nil {
			why = "not sent: " + err.Error()
		}
		r.certRefused = herr != nil
		r.add("client_certificate", Fail, "the configured client certificate was "+why, details...)
		r.fixCause(httptrust.ReasonClientCertRequired, r.check("use a client certificate issued by one of the server's acceptable issuers"))
	case herr != nil:
		r.certRefused = true
		r.add("client_certificate", Fail, "the server refused the client certificate that was sent: "+herr.Error(), details...)
		r.fixCause(httptrust.ReasonClientCertRequired, r.check("ask the server's operator which issuer it accepts, and use a certificate from it"))
	default:
		r.add("client_certificate", OK, "the server asks for a client certificate and accepts the one configured", details...)
	}
}

func (r *run) httpGet() {
	r.begin("http")
	base := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return r.o.Dial(ctx, network, r.addr)
		},
		TLSHandshakeTimeout: r.o.Timeout, ResponseHeaderTimeout: r.o.Timeout, ForceAttemptHTTP2: true,
	}
	tr := r.o.Policy.Transport(base)
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	ctx, cancel := r.stepCtx()
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.raw, nil)
	if err != nil {
		r.add("http", Fail, "cannot build the request: "+err.Error())
		return
	}
	resp, err := c.Do(req)
	if r.timedOut("http", err, "the answer to GET "+r.rep.URL) {
		return
	}
	if err != nil {
		r.add("http", Warn, "GET failed after a verified handshake: "+err.Error())
		return
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	switch {
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && r.certAsked && !r.certSent:
		// nginx with ssl_verify_client on completes a TLS 1.2 handshake
		// without a certificate and answers 400 to every request.
		r.add("http", Fail, fmt.Sprintf("GET answers %s over %s: the server asked for a client certificate, none was sent, and it refuses the request", resp.Status, resp.Proto))
		r.refusal(httptrust.ReasonClientCertRequired, false)
	case loc == nil:
		r.add("http", OK, fmt.Sprintf("GET answers %s over %s", resp.Status, resp.Proto))
	case loc.Scheme == "http":
		r.add("http", Warn, fmt.Sprintf("GET redirects to %s: plain HTTP, which httptrust refuses to follow", loc))
		r.fix(r.check("fix the server's redirect to stay on https; to follow it anyway, if plain HTTP is acceptable",
			httptrust.Command{Name: "get", Args: []string{"-L", "--allow-downgrade", r.rep.URL}}))
	case loc.Hostname() != r.rep.Host:
		r.add("http", Warn, fmt.Sprintf("GET redirects to another host, %s, which is judged by its own rule (httptrust diagnose %s)", loc.Host, loc))
	default:
		r.add("http", OK, fmt.Sprintf("GET redirects to %s", loc))
	}
	r.clock(resp)
}

// clock compares the local clock with the server's Date header.
func (r *run) clock(resp *http.Response) {
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		r.add("clock", Skip, "the server sends no Date header to compare clocks with")
		return
	}
	skew := r.now.Sub(date)
	if skew < 0 {
		skew = -skew
	}
	if skew > 5*time.Minute {
		r.add("clock", Warn, fmt.Sprintf("the local clock and the server's differ by %v: validity checks may fail on one side", skew.Round(time.Second)))
		return
	}
	r.add("clock", OK, "the local clock agrees with the server's")
}

// plainHTTP looks at an http:// URL: it has no TLS, but it may redirect.
func (r *run) plainHTTP(u *url.URL) {
	if r.rep.Port == "" {
		r.rep.Port = "80"
	}
	r.begin("http")
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if r.o.Addr != "" {
			addr = r.o.Addr
		}
		return r.o.Dial(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx, cancel := r.stepCtx()
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err == nil {
		var resp *http.Response
		if resp, err = c.Do(req); err == nil {
			resp.Body.Close()
			r.plainAnswer(u, resp)
			return
		}
	}
	if r.timedOut("http", err, "the answer to a plain HTTP GET") {
		return
	}
	r.add("http", Fail, "plain HTTP request failed: "+err.Error())
	r.fix(r.check("check the URL and that the server runs"))
}

// plainAnswer reports a plain HTTP answer: no TLS, maybe a redirect.
func (r *run) plainAnswer(u *url.URL, resp *http.Response) {
	if loc, _ := resp.Location(); loc != nil && loc.Scheme == "https" {
		// The Location comes over plain HTTP, unauthenticated: it is said in
		// words, and the command is the https form of the URL given.
		r.add("http", OK, fmt.Sprintf("plain HTTP redirects to %q", loc.Redacted()))
		own := *u
		own.Scheme, own.Host, own.User = "https", u.Hostname(), nil
		if strings.Contains(own.Host, ":") {
			own.Host = "[" + own.Host + "]"
		}
		r.fix(r.check("the server redirects to https over plain HTTP, which anyone on the path can forge (the step above says where): diagnose the https URL you expect",
			httptrust.Command{Name: "diagnose", Args: []string{own.String()}}))
		return
	}
	r.add("http", Warn, fmt.Sprintf("plain HTTP (%s), no TLS: nothing to verify", resp.Status))
	r.fix(r.check("use https:// to get a verified connection"))
}
