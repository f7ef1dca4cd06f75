package fleet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/httptrust/httptrust"
)

// MaxRedirects bounds the redirects the https module follows.
const MaxRedirects = 10

// probeHTTPS sends a GET through the policy's Transport: each hop is
// verified for its own host, and the TLS facts reported are the final
// answer's (or the refused hop's), as blackbox_exporter reports them.
func (p *Prober) probeHTTPS(ctx context.Context, pol *httptrust.Policy, res *Result, lg *plog) {
	tr := &tracer{}
	// A transport of this probe's own, cloned from the Prober's base:
	// nothing (no connection, no session) passes from one probe to another.
	t := httptrust.NewTransport(func() *httptrust.Policy { return pol }, p.baseTransport())
	defer t.CloseIdleConnections()
	tr.next = t
	res.HTTP = &HTTP{ContentLength: -1}
	client := &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > MaxRedirects {
			return fmt.Errorf("fleet: more than %d redirects", MaxRedirects)
		}
		res.HTTP.Redirects++
		lg.logf("following a redirect to %s", req.URL.Redacted())
		return nil
	}}
	req, err := http.NewRequestWithContext(context.WithValue(withTrace(ctx, tr), tracerKey{}, tr), http.MethodGet, res.Target.URL.String(), nil)
	if err != nil {
		res.fail(FailBadTarget, err)
		return
	}
	ua := p.UserAgent
	if ua == "" {
		ua = "httptrust"
	}
	req.Header.Set("User-Agent", ua)
	lg.logf("GET %s", req.URL.Redacted())
	resp, err := client.Do(req)
	if err != nil {
		res.Phases = tr.phases()
		res.IPProtocol = ipProtocol(tr)
		p.httpsFailed(ctx, res, tr, err, lg)
		return
	}
	n, rerr := io.Copy(io.Discard, io.LimitReader(resp.Body, MaxBody))
	resp.Body.Close()
	tr.mark(func(s *segment) { s.end = time.Now() })
	res.Phases = tr.phases()
	res.IPProtocol = ipProtocol(tr)
	res.HTTP.Status, res.HTTP.Proto, res.HTTP.ContentLength, res.HTTP.BodyBytes = resp.StatusCode, resp.Proto, resp.ContentLength, n
	lg.logf("%s %d, %d body bytes", resp.Proto, resp.StatusCode, n)
	if resp.TLS == nil {
		// Only a redirect to plain http the transport was told to allow
		// ends here; it never is.
		res.fail(FailHTTP, errors.New("fleet: the final answer did not come over TLS"))
		return
	}
	res.HTTP.TLS = true
	cs := *resp.TLS
	host, port := resp.Request.URL.Hostname(), resp.Request.URL.Port()
	if port == "" {
		port = "443"
	}
	if n, err := httptrust.NormalizeHost(host); err == nil {
		host = n
	}
	res.Host, res.Port = host, port
	res.Chain, res.TLSVersion, res.CipherSuite = cs.PeerCertificates, cs.Version, cs.CipherSuite
	lg.handshake(res)
	// The transport verified the connection; judging the same state again
	// gives what it does not return: the verified chains, the deciding
	// rule, the first-use state. Nothing is recorded by judging.
	v, err := p.judgeTrusted(pol, net.JoinHostPort(host, port), cs)
	if err != nil {
		res.fail(FailBadTarget, err)
		return
	}
	p.judged(pol, res, v)
	switch {
	case !res.OK:
	case rerr != nil:
		res.OK = false
		res.failNet(ctx, rerr, true)
		if res.Reason == FailTLS {
			res.Reason = FailHTTP
		}
	case !statusOK(resp.StatusCode):
		res.OK = false
		res.fail(FailHTTPStatus, fmt.Errorf("fleet: %s answered %s, want 2xx", res.hostPort(), resp.Status))
	}
}

// httpsFailed explains a request that got no answer.
func (p *Prober) httpsFailed(ctx context.Context, res *Result, tr *tracer, err error, lg *plog) {
	var ve *httptrust.VerifyError
	if errors.As(err, &ve) {
		p.refused(res, ve)
		lg.handshake(res)
		return
	}
	up, _ := tr.connected()
	gotConn := false
	tr.mark(func(s *segment) { gotConn = !s.gotConn.IsZero() })
	res.failNet(ctx, err, up)
	if gotConn && res.Reason == FailTLS {
		res.Reason = FailHTTP
	}
	lg.logf("request failed: %v", err)
}

func ipProtocol(tr *tracer) int {
	_, v := tr.connected()
	return v
}

// probeBase is the https module's base transport for one set of key
// exchanges.
type probeBase struct {
	kex []tls.CurveID
	t   *http.Transport
}

// baseTransport returns the base of the https module's transports: built
// once per Prober (again when its key exchanges change) and only ever
// cloned, never used itself. What is a probe's own reaches the dial in the
// request's context (its tracer).
func (p *Prober) baseTransport() *http.Transport {
	kex := p.keyExchanges()
	if b := p.base.Load(); b != nil && slices.Equal(b.kex, kex) {
		return b.t
	}
	b := &probeBase{kex: slices.Clone(kex)}
	b.t = &http.Transport{
		DialContext: p.dialTraced,
		// A fresh connection and a full handshake per probe, as
		// blackbox_exporter does: nothing is reused from an earlier probe.
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{SessionTicketsDisabled: true, CurvePreferences: b.kex},
		ForceAttemptHTTP2: true,
		// The probe's deadline bounds every step; no proxy from the
		// environment: a probe measures the server itself.
		MaxResponseHeaderBytes: 1 << 20,
	}
	// net/http sets up HTTP/2 on a transport the first time it is cloned
	// or used, writing its fields: done here, before any probe reads them.
	b.t.CloseIdleConnections()
	p.base.Store(b)
	return b.t
}

// tracerKey carries a probe's tracer to the base transport's dial.
type tracerKey struct{}

// dialTraced is the Prober's dial, timed into the tracer of the probe
// whose request it is.
func (p *Prober) dialTraced(ctx context.Context, network, addr string) (net.Conn, error) {
	tr, _ := ctx.Value(tracerKey{}).(*tracer)
	return p.dialer(tr)(ctx, network, addr)
}
