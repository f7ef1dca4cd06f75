package testpki

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// handshakeTimeout bounds a server-side handshake, so that a client that
// connects and stalls cannot hold a goroutine past the test.
const handshakeTimeout = 10 * time.Second

// handshakeListener completes each TLS handshake before Accept returns the
// connection. The server therefore counts exactly the handshakes that
// completed (the client's Finished was read), and a client that rejects the
// server's certificate is never counted. net/http's own handshake call then
// finds the work done.
type handshakeListener struct {
	raw    net.Listener
	cfg    *tls.Config
	s      *Server
	conns  chan *tls.Conn
	ctx    context.Context
	cancel context.CancelFunc
	loop   chan struct{}  // closed when the accept loop ends
	wg     sync.WaitGroup // handshakes in flight
}

func newHandshakeListener(raw net.Listener, cfg *tls.Config, s *Server) *handshakeListener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &handshakeListener{raw: raw, cfg: cfg, s: s, conns: make(chan *tls.Conn),
		ctx: ctx, cancel: cancel, loop: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *handshakeListener) acceptLoop() {
	defer close(l.loop)
	for {
		raw, err := l.raw.Accept()
		if err != nil {
			return
		}
		l.s.Conns.Add(1)
		l.wg.Add(1)
		go l.handshake(raw)
	}
}

func (l *handshakeListener) handshake(raw net.Conn) {
	defer l.wg.Done()
	tc := tls.Server(raw, l.cfg)
	ctx, cancel := context.WithTimeout(l.ctx, handshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		tc.Close()
		return
	}
	l.s.recordHandshake(tc.ConnectionState())
	select {
	case l.conns <- tc:
	case <-l.ctx.Done():
		tc.Close()
	}
}

// Accept returns the next connection whose handshake completed.
func (l *handshakeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	}
}

// Close stops accepting and aborts handshakes in flight.
func (l *handshakeListener) Close() error {
	l.cancel()
	return l.raw.Close()
}

// Addr returns the TCP listener's address.
func (l *handshakeListener) Addr() net.Addr { return l.raw.Addr() }

// wait waits, after Close, for the accept loop and every handshake to end.
func (l *handshakeListener) wait() {
	<-l.loop
	l.wg.Wait()
}
