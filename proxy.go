package httptrust

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/net/proxy"
)

// dialTarget connects to addr, the target of a request (directly, or
// through the proxy the base transport chooses for it) and completes the
// TLS handshake with it under target's config.
func (t *Transport) dialTarget(ctx context.Context, p *Policy, target *tlsTarget, network, addr string) (net.Conn, error) {
	raw, err := t.dialVia(ctx, p, network, addr)
	if err != nil {
		return nil, err
	}
	return tlsHandshake(ctx, raw, target, t.base.TLSHandshakeTimeout)
}

// dialVia returns a connection to addr: direct, or a tunnel through the
// request's proxy.
func (t *Transport) dialVia(ctx context.Context, p *Policy, network, addr string) (net.Conn, error) {
	proxyURL, err := t.proxyFor(ctx, addr)
	if err != nil {
		return nil, &proxyError{err: err}
	}
	if proxyURL == nil {
		return t.dial(ctx, network, addr)
	}
	switch proxyURL.Scheme {
	case "socks5", "socks5h":
		d, err := proxy.FromURL(proxyURL, contextDialer{t})
		if err != nil {
			return nil, &proxyError{proxy: proxyURL.Redacted(), err: err}
		}
		conn, err := d.(proxy.ContextDialer).DialContext(ctx, network, addr)
		if err != nil {
			return nil, &proxyError{proxy: proxyURL.Redacted(), err: err}
		}
		return conn, nil
	case "http", "https":
	default:
		return nil, &proxyError{proxy: proxyURL.Redacted(), err: fmt.Errorf("unsupported proxy scheme %q", proxyURL.Scheme)}
	}
	conn, err := t.dialProxy(ctx, p, network, proxyURL)
	if err != nil {
		return nil, err
	}
	if err := t.connect(ctx, conn, proxyURL, addr); err != nil {
		conn.Close()
		return nil, &proxyError{proxy: proxyURL.Redacted(), err: err}
	}
	return conn, nil
}

// proxyFor asks the base transport's Proxy function for the proxy of the
// request being dialled (or of an https request to addr).
func (t *Transport) proxyFor(ctx context.Context, addr string) (*url.URL, error) {
	if t.base.Proxy == nil {
		return nil, nil
	}
	var req *http.Request
	if n := noteFrom(ctx); n != nil {
		req = n.req
	}
	if req == nil {
		req = &http.Request{Method: http.MethodGet, URL: &url.URL{Scheme: "https", Host: addr}, Header: http.Header{}}
		req = req.WithContext(ctx)
	}
	return t.base.Proxy(req)
}

// dialProxy connects to an HTTP or HTTPS proxy. An HTTPS proxy is a host of
// its own: its TLS is verified under the proxy host's rule, never the
// target's.
func (t *Transport) dialProxy(ctx context.Context, p *Policy, network string, proxyURL *url.URL) (net.Conn, error) {
	addr := proxyAddr(proxyURL)
	conn, err := t.dial(ctx, network, addr)
	if err != nil {
		return nil, &proxyError{proxy: proxyURL.Redacted(), err: err}
	}
	if proxyURL.Scheme != "https" {
		return conn, nil
	}
	tc, err := t.proxyHandshake(ctx, p, conn, addr)
	if err != nil {
		return nil, err
	}
	return tc, nil
}

// dialProxyTLS is the plain transport's DialTLSContext: net/http asks it
// for TLS only to an HTTPS proxy (addr is the proxy's).
func (t *Transport) dialProxyTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := t.dial(ctx, network, addr)
	if err != nil {
		return nil, &proxyError{proxy: addr, err: err}
	}
	return t.proxyHandshake(ctx, t.policy(), conn, addr)
}

// proxyHandshake does TLS with the proxy at addr under the proxy host's
// rule, with a handshake note of its own (so that the target's client
// certificate bookkeeping is not touched).
func (t *Transport) proxyHandshake(ctx context.Context, p *Policy, conn net.Conn, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err == nil {
		port, err = canonicalPort(port)
	}
	if err != nil {
		conn.Close()
		return nil, &proxyError{proxy: addr, err: err}
	}
	target, err := t.proxyTarget(p, host, port)
	if err != nil {
		conn.Close()
		return nil, &proxyError{proxy: addr, err: err}
	}
	note := &handshakeNote{}
	tc, err := tlsHandshake(context.WithValue(ctx, noteKey{}, note), conn, target, t.base.TLSHandshakeTimeout)
	if err != nil {
		return nil, &proxyError{proxy: addr, err: classify(err, p, host, port, note)}
	}
	return tc, nil
}

// proxyTarget returns the TLS config for an HTTPS proxy under p.
func (t *Transport) proxyTarget(p *Policy, host, port string) (*tlsTarget, error) {
	key := hostKey{host, port}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.followLocked(p)
	if pt, ok := t.proxies[key]; ok {
		return pt, nil
	}
	cfg, v, err := p.tlsConfig(host, port, t.sessions, modeDial, t.base.TLSClientConfig)
	if err != nil {
		return nil, err
	}
	cfg.NextProtos = []string{"http/1.1"}
	pt := &tlsTarget{cfg: cfg, v: v}
	t.proxies[key] = pt
	return pt, nil
}

// connectTimeout bounds a proxy's answer to CONNECT when the request has
// no deadline of its own, as net/http does.
const connectTimeout = time.Minute

// connect opens a tunnel to target through the proxy on conn (HTTP
// CONNECT), with the base transport's proxy headers and the proxy URL's
// credentials.
func (t *Transport) connect(ctx context.Context, conn net.Conn, proxyURL *url.URL, target string) error {
	hdr := t.base.ProxyConnectHeader.Clone()
	if t.base.GetProxyConnectHeader != nil {
		h, err := t.base.GetProxyConnectHeader(ctx, proxyURL, target)
		if err != nil {
			return err
		}
		hdr = h.Clone()
	}
	if hdr == nil {
		hdr = http.Header{}
	}
	if u := proxyURL.User; u != nil && hdr.Get("Proxy-Authorization") == "" {
		pw, _ := u.Password()
		hdr.Set("Proxy-Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw)))
	}
	req := &http.Request{Method: http.MethodConnect, URL: &url.URL{Opaque: target}, Host: target, Header: hdr}
	if _, ok := ctx.Deadline(); !ok {
		// As net/http: a proxy that never answers CONNECT is given a minute.
		limit := t.connectTimeout
		if limit == 0 {
			limit = connectTimeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := req.Write(conn); err != nil {
		return ctxErr(ctx, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return ctxErr(ctx, err)
	}
	resp.Body.Close()
	if t.base.OnProxyConnectResponse != nil {
		if err := t.base.OnProxyConnectResponse(ctx, proxyURL, req, resp); err != nil {
			return err
		}
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the proxy refused CONNECT %s: %s", target, resp.Status)
	}
	if br.Buffered() > 0 {
		return errors.New("the proxy sent data before the tunnel was open")
	}
	if !stop() {
		return ctx.Err()
	}
	return nil
}

func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// proxyAddr is the proxy's host:port, with the scheme's default port.
func proxyAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443", "socks5": "1080", "socks5h": "1080"}[u.Scheme]
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// dial uses the base transport's dialer.
func (t *Transport) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	switch {
	case t.base.DialContext != nil:
		return t.base.DialContext(ctx, network, addr)
	case t.base.Dial != nil: //lint:ignore SA1019 honoured as net/http does
		return t.base.Dial(network, addr) //lint:ignore SA1019 honoured as net/http does
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// contextDialer lets the SOCKS5 dialer reach the proxy through the base
// transport's dialer.
type contextDialer struct{ t *Transport }

func (d contextDialer) Dial(network, addr string) (net.Conn, error) {
	return d.t.dial(context.Background(), network, addr)
}

func (d contextDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d.t.dial(ctx, network, addr)
}

// proxyError is a failure with the proxy, not the target: the target's
// handshake classification must not read it as the target's.
type proxyError struct {
	proxy string
	err   error
}

func (e *proxyError) Error() string {
	if e.proxy == "" {
		return "httptrust: proxy: " + e.err.Error()
	}
	return "httptrust: proxy " + e.proxy + ": " + e.err.Error()
}

func (e *proxyError) Unwrap() error { return e.err }
