package testpki

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is an HTTP CONNECT proxy on 127.0.0.1, closed when its test ends;
// an HTTPS proxy (StartTLSProxy) speaks TLS before CONNECT. Point a
// transport at it with Transport.Proxy = http.ProxyURL(p.URL).
type Proxy struct {
	URL      *url.URL        // "http://127.0.0.1:PORT" ("https://" for StartTLSProxy)
	Connects atomic.Int64    // CONNECT requests received
	Targets  func() []string // the "host:port" of each CONNECT, in order

	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	mu      sync.Mutex
	targets []string
	conns   map[net.Conn]struct{} // hijacked and upstream connections
	closed  bool
	tunnels sync.WaitGroup
	once    sync.Once
	stop    func()
}

// StartProxy starts a CONNECT proxy that tunnels to the requested host:port
// through Dialer(resolve): names in resolve go to their loopback address,
// loopback IP literals directly, and anything else is answered with 502 Bad
// Gateway. Other methods get 405 Method Not Allowed.
func StartProxy(t testing.TB, resolve map[string]string) *Proxy {
	t.Helper()
	p := serveProxy(listen(t, "127.0.0.1"), resolve, nil)
	t.Cleanup(p.Close)
	return p
}

// StartTLSProxy is StartProxy for an HTTPS proxy: the client speaks TLS to
// the proxy, which presents cert, then sends CONNECT inside it. Its URL has
// the https scheme.
func StartTLSProxy(t testing.TB, resolve map[string]string, cert tls.Certificate) *Proxy {
	t.Helper()
	p := serveProxy(listen(t, "127.0.0.1"), resolve, &cert)
	t.Cleanup(p.Close)
	return p
}

// ListenProxy is StartProxy (or StartTLSProxy, when cert is not nil) on
// ip, a loopback address, for callers without a testing.TB, such as
// script commands. The caller must Close it.
func ListenProxy(ip string, resolve map[string]string, cert *tls.Certificate) (*Proxy, error) {
	if parsed := net.ParseIP(ip); parsed == nil || !parsed.IsLoopback() {
		return nil, fmt.Errorf("testpki: %q is not a loopback IP address", ip)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, fmt.Errorf("testpki: %w", err)
	}
	return serveProxy(ln, resolve, cert), nil
}

// serveProxy serves the proxy on ln, in TLS with cert when it is not nil.
func serveProxy(ln net.Listener, resolve map[string]string, cert *tls.Certificate) *Proxy {
	p := &Proxy{
		URL:   &url.URL{Scheme: "http", Host: ln.Addr().String()},
		dial:  Dialer(resolve),
		conns: make(map[net.Conn]struct{}),
	}
	if cert != nil {
		p.URL.Scheme = "https"
		// HTTP/1.1 only: CONNECT is spoken inside the proxy's own TLS.
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}, NextProtos: []string{"http/1.1"}})
	}
	p.Targets = func() []string {
		p.mu.Lock()
		defer p.mu.Unlock()
		return slices.Clone(p.targets)
	}
	hs := &http.Server{Handler: http.HandlerFunc(p.serveHTTP), ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.Serve(ln)
	}()
	p.stop = func() {
		hs.Close()
		ln.Close()
		<-done
		p.mu.Lock()
		p.closed = true
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.tunnels.Wait()
	}
	return p
}

// Close stops the proxy and closes its tunnels. Test helpers call it at
// cleanup; later calls do nothing.
func (p *Proxy) Close() { p.once.Do(p.stop) }

func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "testpki: this proxy only tunnels with CONNECT", http.StatusMethodNotAllowed)
		return
	}
	p.Connects.Add(1)
	p.mu.Lock()
	p.targets = append(p.targets, r.Host)
	p.mu.Unlock()
	up, err := p.dial(r.Context(), "tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	client, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if !p.track(client, up) {
		client.Close()
		up.Close()
		return
	}
	defer p.untrack(client, up)
	if _, err := brw.WriteString("HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	if err := brw.Flush(); err != nil {
		return
	}
	pipe(client, brw.Reader, up)
}

// track registers a tunnel's connections, or reports false if the proxy is
// closing.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	p.tunnels.Add(1)
	return true
}

func (p *Proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	for _, c := range conns {
		c.Close()
		delete(p.conns, c)
	}
	p.mu.Unlock()
	p.tunnels.Done()
}

// pipe copies between client (read through clientR, which holds any bytes
// already buffered) and up until either side ends, then closes both.
func pipe(client net.Conn, clientR io.Reader, up net.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(up, clientR)
		up.Close()
		client.Close()
	}()
	io.Copy(client, up)
	client.Close()
	up.Close()
	<-done
}
