package testpki

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Server is a server listening on a loopback address, closed when its test
// ends. The counters may be read at any time.
type Server struct {
	URL  string // "https://127.0.0.1:PORT" (http:// for StartHTTP)
	Addr string // "host:port", e.g. "127.0.0.1:PORT" or "[::1]:PORT"
	Port string // the port alone

	Requests   atomic.Int64 // HTTP requests received
	Handshakes atomic.Int64 // full (not resumed) TLS handshakes completed
	Resumed    atomic.Int64 // resumed TLS handshakes completed
	Conns      atomic.Int64 // TCP connections accepted

	mu    sync.Mutex
	names []string // SNI values of completed handshakes
	once  sync.Once
	stop  func()
}

// ServerNames returns the SNI server name of each completed handshake in
// order, "" where the client sent none (as Go does for IP addresses).
func (s *Server) ServerNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.names)
}

// Close stops the server and closes its connections. It is called by the
// test's cleanup, and may be called earlier; later calls do nothing.
func (s *Server) Close() { s.once.Do(s.stop) }

// listen opens a TCP listener on ip, which must be a loopback address. If an
// address other than 127.0.0.1 (say ::1 or 127.0.0.2) is not available on
// this machine, the test is skipped.
func listen(t testing.TB, ip string) net.Listener {
	t.Helper()
	if parsed := net.ParseIP(ip); parsed == nil || !parsed.IsLoopback() {
		t.Fatalf("testpki: %q is not a loopback IP address", ip)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		if ip != "127.0.0.1" {
			t.Skipf("testpki: loopback address %s unavailable: %v", ip, err)
		}
		t.Fatalf("testpki: %v", err)
	}
	return ln
}

func newServer(ln net.Listener, scheme string) *Server {
	addr := ln.Addr().(*net.TCPAddr)
	hostPort := net.JoinHostPort(addr.IP.String(), fmt.Sprint(addr.Port))
	return &Server{URL: scheme + "://" + hostPort, Addr: hostPort, Port: fmt.Sprint(addr.Port)}
}

// okHandler answers 200 with "ok <Host header>".
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "ok %s", r.Host)
})

func (s *Server) httpServer(handler http.Handler) *http.Server {
	if handler == nil {
		handler = okHandler
	}
	return &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.Requests.Add(1)
			handler.ServeHTTP(w, r)
		}),
		ErrorLog:          log.New(io.Discard, "", 0), // handshake failures are what tests provoke
		ReadHeaderTimeout: 10 * time.Second,
	}
}

// serve runs serveFn in a goroutine and arranges for Close to shut hs and ln
// down, wait for serveFn to return, and then call each of after.
func (s *Server) serve(t testing.TB, hs *http.Server, ln net.Listener, serveFn func() error, after ...func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		serveFn()
	}()
	s.stop = func() {
		hs.Close()
		ln.Close() // in case Serve had not yet taken it over
		<-done
		for _, f := range after {
			f()
		}
	}
	t.Cleanup(s.Close)
}

// StartTLS starts an HTTPS server on ip ("127.0.0.1", "127.0.0.2", "::1", ...)
// presenting cert, with HTTP/2 and HTTP/1.1 offered by ALPN. A nil handler
// answers 200 "ok <host>" with the request's Host. Each mod may change the
// tls.Config before the server starts (client authentication, versions,
// session tickets, a VerifyConnection of its own); a mod that takes "h2" out
// of NextProtos makes the server HTTP/1.1 only.
//
// Each handshake is completed before the connection is handed to net/http,
// and counted in Handshakes or Resumed only if it completed: a client that
// refuses the server's certificate is not counted. The counts are final once
// the client has received a response (or read anything) on the connection.
func StartTLS(t testing.TB, ip string, cert tls.Certificate, handler http.Handler, mod ...func(*tls.Config)) *Server {
	t.Helper()
	raw := listen(t, ip)
	s := newServer(raw, "https")
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
	}
	for _, m := range mod {
		m(cfg)
	}
	ln := newHandshakeListener(raw, cfg, s)
	hs := s.httpServer(handler)
	// TLSConfig stays nil: the listener does TLS, and net/http then sets up
	// HTTP/2 for "h2" connections without touching cfg.
	hs.Protocols = new(http.Protocols)
	hs.Protocols.SetHTTP1(true)
	hs.Protocols.SetHTTP2(slices.Contains(cfg.NextProtos, "h2"))
	s.serve(t, hs, ln, func() error { return hs.Serve(ln) }, ln.wait)
	return s
}

func (s *Server) recordHandshake(cs tls.ConnectionState) {
	if cs.DidResume {
		s.Resumed.Add(1)
	} else {
		s.Handshakes.Add(1)
	}
	s.mu.Lock()
	s.names = append(s.names, cs.ServerName)
	s.mu.Unlock()
}

// StartHTTP starts a plain HTTP server on ip. A nil handler answers 200
// "ok <host>". A TLS client pointed at it meets a server that does not speak
// TLS.
func StartHTTP(t testing.TB, ip string, handler http.Handler) *Server {
	t.Helper()
	ln := listen(t, ip)
	s := newServer(ln, "http")
	hs := s.httpServer(handler)
	hs.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.Conns.Add(1)
		}
	}
	s.serve(t, hs, ln, func() error { return hs.Serve(ln) })
	return s
}

// StartSilent starts a server on ip that accepts TCP connections and never
// sends a byte, for handshake timeout tests. Its URL has the https scheme.
// Connections stay open until the server is closed; Conns counts them.
func StartSilent(t testing.TB, ip string) *Server {
	t.Helper()
	ln := listen(t, ip)
	s := newServer(ln, "https")
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.Conns.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	s.stop = func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
	t.Cleanup(s.Close)
	return s
}
