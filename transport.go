package httptrust

import (
	"container/list"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
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
// Set its exported fields before first use; it is safe for concurrent use.
type Transport struct {
	// AllowDowngrade lets a redirect go from https to plain http.
	AllowDowngrade bool
	// MaxHosts bounds the per-host transports kept; 0 means DefaultMaxHosts.
	MaxHosts int

	policy   func() *Policy
	base     *http.Transport
	sessions tls.ClientSessionCache

	mu      sync.Mutex
	version uint64
	hosts   map[hostKey]*list.Element
	lru     list.List
	plain   *http.Transport
}

type hostKey struct{ host, port string }

type hostTransport struct {
	key hostKey
	t   *http.Transport
}

// Transport returns a RoundTripper that verifies under p. base supplies the
// caller's settings (proxy, dialer, timeouts, pool sizes); nil means
// defaults with DefaultDialTimeout, DefaultTLSHandshakeTimeout and
// DefaultResponseHeaderTimeout and the proxy from the environment. Its
// TLSClientConfig is replaced per host, and its DialTLSContext and DialTLS
// are not used: they would bypass verification. An HTTPS proxy is verified
// as the target host is, so only HTTP CONNECT proxies work.
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
	b := base.Clone()
	// TLS is always done by net/http with the host's config: a dialer that
	// does its own TLS would bypass the verification.
	b.DialTLSContext, b.DialTLS = nil, nil //nolint:staticcheck // DialTLS is deprecated but still honoured
	return &Transport{
		policy:   policy,
		base:     b,
		sessions: tls.NewLRUClientSessionCache(0),
		hosts:    map[hostKey]*list.Element{},
	}
}

// Client returns an *http.Client that verifies under p with default
// transport settings. Redirects are followed as net/http does, each hop
// verified for its own host; a redirect to plain http is refused.
func (p *Policy) Client() *http.Client {
	return &http.Client{Transport: p.Transport(nil)}
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
	if req.URL == nil {
		return nil, errors.New("httptrust: request has no URL")
	}
	switch req.URL.Scheme {
	case "http":
		if prev := req.Response; prev != nil && prev.Request != nil && prev.Request.URL.Scheme == "https" && !t.AllowDowngrade {
			closeBody(req)
			return nil, &VerifyError{Host: req.URL.Hostname(), Port: req.URL.Port(), Reason: ReasonDowngrade,
				Detail: "a redirect from " + prev.Request.URL.Redacted() + " to " + req.URL.Redacted() + " would drop TLS",
				Fix:    fixFor(&VerifyError{Reason: ReasonDowngrade}), Err: ErrDowngrade}
		}
		return t.plainTransport().RoundTrip(req)
	case "https":
	default:
		closeBody(req)
		return nil, errors.New("httptrust: unsupported scheme " + req.URL.Scheme)
	}
	p := t.policy()
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
	r2 := req.WithContext(context.WithValue(req.Context(), noteKey{}, note))
	resp, err := ht.RoundTrip(r2)
	if err != nil {
		return nil, classify(err, p, host, port, note)
	}
	resp.Request = req
	return resp, nil
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
	}
	return t.plain
}

// hostTransport returns the transport for host:port under p, retiring
// every transport of an older policy.
func (t *Transport) hostTransport(p *Policy, host, port string) (*http.Transport, error) {
	key := hostKey{host, port}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.version != p.version {
		t.retireAllLocked()
		t.version = p.version
	}
	if el, ok := t.hosts[key]; ok {
		t.lru.MoveToFront(el)
		return el.Value.(*hostTransport).t, nil
	}
	cfg, err := p.tlsConfig(host, port, t.sessions)
	if err != nil {
		return nil, err
	}
	ht := t.base.Clone()
	ht.TLSClientConfig = cfg
	ht.ForceAttemptHTTP2 = true
	t.hosts[key] = t.lru.PushFront(&hostTransport{key: key, t: ht})
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
	return ht, nil
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
}

// CloseIdleConnections closes the idle connections of every host.
func (t *Transport) CloseIdleConnections() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for el := t.lru.Front(); el != nil; el = el.Next() {
		el.Value.(*hostTransport).t.CloseIdleConnections()
	}
	if t.plain != nil {
		t.plain.CloseIdleConnections()
	}
}

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
