package httptrust

import (
	"container/list"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strings"
	"sync"
	"time"
)

// Default timeouts of the transports a Policy builds. A caller's own
// *http.Transport (see Policy.Transport) keeps its own settings.
const (
	DefaultDialTimeout           = 30 * time.Second
	DefaultTLSHandshakeTimeout   = 10 * time.Second
	DefaultResponseHeaderTimeout = 60 * time.Second
	DefaultMaxHosts              = 256
)

// ErrDowngrade is returned (wrapped in a *VerifyError) for a redirect from
// https to http when the transport does not allow it.
var ErrDowngrade = errors.New("httptrust: refusing a redirect from https to plain http")

// Transport is an http.RoundTripper that verifies every HTTPS connection
// under a policy, for the host of each request's URL. It keeps one
// *http.Transport per host and port (a bounded LRU), each with a tls.Config
// bound to that host, so that a certificate trusted for one host vouches for
// no other: not after a redirect, not through a proxy, not on a resumed
// session. HTTP/2 and TLS session resumption are on.
//
// TLS is done by the Transport itself, so that a first-use record is
// written only once a handshake has completed, and an HTTPS proxy is a host
// of its own: its TLS is verified under the proxy host's rule, with its own
// session cache entries, and it is offered no client certificate but its
// own rule's.
//
// Credentials stay with their origin: on a redirect to another scheme, host
// or port than the first request's, the Authorization, Cookie and
// Proxy-Authorization headers copied from the first request are dropped.
//
// Each host:port has its own *http.Transport cloned from the base, so the
// base's pool limits (MaxIdleConns, MaxConnsPerHost, ...) apply per host.
//
// Set its exported fields before first use; it is safe for concurrent use.
// A zero Transport answers every request with an error: build one with
// Policy.Transport or NewTransport.
type Transport struct {
	// AllowDowngrade lets a redirect go from https to plain http.
	AllowDowngrade bool
	// MaxHosts bounds the per-host transports kept; 0 means DefaultMaxHosts.
	MaxHosts int

	*pool
}

// pool is what the Transports of one Policy.Client share: the per-host
// transports, their connections and TLS sessions.
type pool struct {
	policy func() *Policy
	base   *http.Transport
	// connectTimeout bounds a proxy's answer to CONNECT; 0 means a minute.
	connectTimeout time.Duration
	http2          bool // whether net/http would attempt HTTP/2 with base
	sessions       tls.ClientSessionCache

	mu      sync.Mutex
	version uint64
	hosts   map[hostKey]*list.Element
	lru     list.List
	plain   *http.Transport
	proxies map[hostKey]*tlsTarget // TLS to HTTPS proxies, under the current policy
}

type hostKey struct{ host, port string }

type hostTransport struct {
	key hostKey
	t   *http.Transport
	v   *verifier
}

// tlsTarget is what a handshake with one host:port needs.
type tlsTarget struct {
	cfg *tls.Config
	v   *verifier
}

// Transport returns a RoundTripper that verifies under p. base supplies the
// caller's settings (proxy, dialer, timeouts, pool sizes); nil means
// defaults with DefaultDialTimeout, DefaultTLSHandshakeTimeout and
// DefaultResponseHeaderTimeout and the proxy from the environment. Its
// TLSClientConfig is kept but for what decides trust and identity, which is
// the host's rule's (see TLSConfigFor); its own VerifyConnection and
// VerifyPeerCertificate run after the rule's check has passed, and can only
// refuse. Its DialTLSContext and DialTLS are not used: they would bypass
// verification. Nor is its TLSNextProto: an upgrade function such as the
// one golang.org/x/net/http2.ConfigureTransport installs keeps one pool of
// connections for every copy of the transport, across hosts and policies;
// HTTP/2, when base would attempt it, is net/http's own, one pool per host
// (base.HTTP2 tunes it). Proxies may be HTTP or HTTPS (CONNECT) or SOCKS5.
func (p *Policy) Transport(base *http.Transport) *Transport {
	return NewTransport(func() *Policy { return p }, base)
}

// NewTransport is Policy.Transport for a policy that may change: policy is
// called for every request (a reloading store), and connections made under
// an older policy are retired when a new one appears.
func NewTransport(policy func() *Policy, base *http.Transport) *Transport {
	if base == nil {
		base = defaultBase()
	}
	http2 := wantsHTTP2(base) // before Clone, which sets net/http's defaults
	b := base.Clone()
	// TLS is always done here with the host's config: a dialer that does
	// its own TLS would bypass the verification.
	b.DialTLSContext, b.DialTLS = nil, nil //lint:ignore SA1019 DialTLS is deprecated but still honoured by net/http
	// A caller's upgrade functions would be shared by every per-host clone
	// (x/net's HTTP/2 keeps one pool for all): each clone sets up its own.
	b.TLSNextProto = nil
	return &Transport{pool: &pool{
		policy:   policy,
		base:     b,
		http2:    http2,
		sessions: tls.NewLRUClientSessionCache(0),
		hosts:    map[hostKey]*list.Element{},
		proxies:  map[hostKey]*tlsTarget{},
	}}
}

// Client returns an *http.Client that verifies under p with default
// transport settings. Redirects are followed as net/http does, each hop
// verified for its own host; a redirect to plain http is refused. Every
// client p returns shares one pool of connections and TLS sessions, built
// on first use, so that clients made per request still reuse them; each
// call returns a new *http.Client with a new *Transport, whose fields
// (AllowDowngrade, MaxHosts) are, like the client's, the caller's to set.
func (p *Policy) Client() *http.Client {
	if p == nil || p.shared == nil {
		return &http.Client{Transport: p.Transport(nil)} // every request answers errZeroPolicy
	}
	p.shared.once.Do(func() { p.shared.t = p.Transport(nil) })
	return &http.Client{Transport: &Transport{pool: p.shared.t.pool}}
}

// wantsHTTP2 reports whether net/http itself would attempt HTTP/2 over
// TLS with base, by its own rules: Protocols when set; else a non-nil
// TLSNextProto says by holding "h2" or not; else HTTP/2 unless a custom
// dialer or TLS config is set without ForceAttemptHTTP2; and never with
// GODEBUG=http2client=0. It must see base before anything uses it.
func wantsHTTP2(base *http.Transport) bool {
	switch {
	case base.Protocols != nil:
		return base.Protocols.HTTP2()
	case base.TLSNextProto != nil:
		return base.TLSNextProto["h2"] != nil
	case strings.Contains(os.Getenv("GODEBUG"), "http2client=0"):
		return false
	}
	return base.ForceAttemptHTTP2 || (base.TLSClientConfig == nil && base.DialContext == nil &&
		base.Dial == nil && base.DialTLS == nil && base.DialTLSContext == nil) //lint:ignore SA1019 as net/http decides
}

func defaultBase() *http.Transport {
	d := &net.Dialer{Timeout: DefaultDialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   DefaultTLSHandshakeTimeout,
		ResponseHeaderTimeout: DefaultResponseHeaderTimeout,
		ExpectContinueTimeout: 1 * time.Second,
	}
}

// RoundTrip sends req through the transport of its URL's host.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.pool == nil || t.policy == nil || t.base == nil {
		closeBody(req)
		return nil, errors.New("httptrust: a zero Transport verifies nothing: use Policy.Transport, Policy.Client or NewTransport")
	}
	p := t.policy()
	if err := p.usable(); err != nil {
		closeBody(req)
		return nil, err
	}
	if req.URL == nil {
		return nil, errors.New("httptrust: request has no URL")
	}
	req = keepCredentialsToOrigin(req)
	switch req.URL.Scheme {
	case "http":
		if prev := req.Response; prev != nil && prev.Request != nil && prev.Request.URL.Scheme == "https" && !t.AllowDowngrade {
			closeBody(req)
			e := &VerifyError{Host: req.URL.Hostname(), Port: req.URL.Port(), Reason: ReasonDowngrade,
				Detail: "a redirect from " + prev.Request.URL.Redacted() + " to " + req.URL.Redacted() + " would drop TLS",
				Err:    ErrDowngrade}
			return nil, p.finish(e)
		}
		return t.plainTransport().RoundTrip(req)
	case "https":
	default:
		closeBody(req)
		return nil, errors.New("httptrust: unsupported scheme " + req.URL.Scheme)
	}
	host := req.URL.Hostname()
	port, err := canonicalPort(req.URL.Port())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	ht, err := t.hostTransport(p, host, port)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	note := &handshakeNote{}
	note.req = req // for the proxy choice, at dial time
	ctx := context.WithValue(req.Context(), noteKey{}, note)
	if ht.v.mayUseAllHosts() {
		// Trust through the all_hosts rule is reported on every use: once
		// per request, for the connection it went over, new or reused,
		// whether the request then succeeds or not.
		ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
			if c, ok := ci.Conn.(*tls.Conn); ok {
				if chain := c.ConnectionState().PeerCertificates; ht.v.usedAllHosts(chain) {
					note.mu.Lock()
					note.allHosts = chain
					note.mu.Unlock()
				}
			}
		}})
	}
	resp, err := ht.t.RoundTrip(req.WithContext(ctx))
	note.mu.Lock()
	allHosts := note.allHosts
	note.mu.Unlock()
	if allHosts != nil {
		ht.v.reportAllHosts(allHosts)
	}
	if err != nil {
		return nil, classify(err, p, host, port, note)
	}
	resp.Request = req
	return resp, nil
}

// keepCredentialsToOrigin drops the credentials a redirect hop copied from
// the first request when the hop goes to another scheme, host or port, as
// curl does (CVE-2022-27776): net/http compares host names only.
func keepCredentialsToOrigin(req *http.Request) *http.Request {
	if req.Response == nil {
		return req
	}
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	if sameOrigin(first, req) {
		return req
	}
	var drop []string
	for _, h := range []string{"Authorization", "Cookie", "Proxy-Authorization"} {
		if v := req.Header.Values(h); len(v) > 0 && strings.Join(v, "\n") == strings.Join(first.Header.Values(h), "\n") {
			drop = append(drop, h)
		}
	}
	if len(drop) == 0 {
		return req
	}
	r := req.Clone(req.Context())
	for _, h := range drop {
		r.Header.Del(h)
	}
	return r
}

func sameOrigin(a, b *http.Request) bool {
	pa, _ := canonicalPort(portOf(a))
	pb, _ := canonicalPort(portOf(b))
	return a.URL.Scheme == b.URL.Scheme && strings.EqualFold(a.URL.Hostname(), b.URL.Hostname()) && pa == pb
}

func portOf(r *http.Request) string {
	if p := r.URL.Port(); p != "" {
		return p
	}
	if r.URL.Scheme == "http" {
		return "80"
	}
	return "443"
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

func (t *Transport) plainTransport() *http.Transport {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.plain == nil {
		t.plain = t.base.Clone()
		// net/http asks for TLS here only to an HTTPS proxy.
		t.plain.DialTLSContext = t.dialProxyTLS
	}
	return t.plain
}

// hostTransport returns the transport for host:port under p, retiring
// every transport of an older policy.
func (t *Transport) hostTransport(p *Policy, host, port string) (*hostTransport, error) {
	key := hostKey{host, port}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.followLocked(p)
	if el, ok := t.hosts[key]; ok {
		t.lru.MoveToFront(el)
		return el.Value.(*hostTransport), nil
	}
	cfg, v, err := p.tlsConfig(host, port, t.sessions, modeDial, t.base.TLSClientConfig)
	if err != nil {
		return nil, err
	}
	if len(cfg.NextProtos) == 0 {
		cfg.NextProtos = []string{"http/1.1"}
		if t.http2 {
			cfg.NextProtos = []string{"h2", "http/1.1"}
		}
	}
	target := &tlsTarget{cfg: cfg, v: v}
	ht := t.base.Clone()
	// The proxy is chosen and spoken to by dialTarget, so that TLS with the
	// target, through a tunnel or not, is always done here.
	ht.Proxy, ht.OnProxyConnectResponse = nil, nil
	ht.TLSClientConfig = cfg
	ht.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return t.dialTarget(ctx, p, target, network, addr)
	}
	ht.ForceAttemptHTTP2 = t.http2
	v.perRequest = true
	entry := &hostTransport{key: key, t: ht, v: v}
	t.hosts[key] = t.lru.PushFront(entry)
	max := t.MaxHosts
	if max <= 0 {
		max = DefaultMaxHosts
	}
	for t.lru.Len() > max {
		old := t.lru.Back()
		t.lru.Remove(old)
		delete(t.hosts, old.Value.(*hostTransport).key)
		old.Value.(*hostTransport).t.CloseIdleConnections()
	}
	return entry, nil
}

// followLocked makes p the transport's policy: everything made under an
// older one is retired.
func (t *Transport) followLocked(p *Policy) {
	if t.version != p.version {
		t.retireAllLocked()
		t.version = p.version
	}
}

// retireAllLocked drops every per-host transport: new requests get new
// connections verified under the new policy; idle old ones are closed and
// busy ones finish their requests and are never reused.
func (t *Transport) retireAllLocked() {
	for el := t.lru.Front(); el != nil; el = el.Next() {
		el.Value.(*hostTransport).t.CloseIdleConnections()
	}
	t.lru.Init()
	t.hosts = map[hostKey]*list.Element{}
	t.proxies = map[hostKey]*tlsTarget{}
	if t.plain != nil {
		t.plain.CloseIdleConnections()
		t.plain = nil
	}
}

// CloseIdleConnections closes the idle connections of every host.
func (t *Transport) CloseIdleConnections() {
	if t.pool == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for el := t.lru.Front(); el != nil; el = el.Next() {
		el.Value.(*hostTransport).t.CloseIdleConnections()
	}
	if t.plain != nil {
		t.plain.CloseIdleConnections()
	}
}

// tlsHandshake completes TLS on raw with target's config, within the
// transport's handshake timeout, then records first use: only a server
// that finished the handshake has proved it holds its key.
func tlsHandshake(ctx context.Context, raw net.Conn, target *tlsTarget, timeout time.Duration) (*tls.Conn, error) {
	conn := tls.Client(raw, target.cfg)
	hctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		hctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if err := conn.HandshakeContext(hctx); err != nil {
		raw.Close()
		if ctx.Err() == nil && hctx.Err() != nil {
			return nil, handshakeTimeoutError{}
		}
		return nil, err
	}
	if err := target.v.commit(conn.ConnectionState()); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// handshakeTimeoutError is a TLS handshake that took longer than the
// transport allows.
type handshakeTimeoutError struct{}

func (handshakeTimeoutError) Error() string   { return "httptrust: TLS handshake timeout" }
func (handshakeTimeoutError) Timeout() bool   { return true }
func (handshakeTimeoutError) Temporary() bool { return true }

// canonicalPort returns port in its one written form ("" means 443), so
// that "0443" cannot pass for a port of its own: first-use records, session
// keys and transports are keyed by it.
func canonicalPort(port string) (string, error) {
	if port == "" {
		return "443", nil
	}
	n := 0
	for i := 0; i < len(port); i++ {
		c := port[i]
		if c < '0' || c > '9' || (i == 0 && c == '0') || i >= 5 {
			n = -1
			break
		}
		n = n*10 + int(c-'0')
	}
	if n < 1 || n > 65535 {
		return "", fmt.Errorf("httptrust: port %q is not a port number in its plain form (1-65535, no leading zeros)", port)
	}
	return port, nil
}
