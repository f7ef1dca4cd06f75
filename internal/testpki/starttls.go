package testpki

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// PlainOptions say how a fake plain-text server (StartPlain) misbehaves.
type PlainOptions struct {
	// NoStartTLS: the server does not offer to start TLS (SMTP, IMAP),
	// answers the LDAP StartTLS request with protocolError, and the
	// PostgreSQL SSLRequest with 'N'.
	NoStartTLS bool
	// Refuse: the server offers STARTTLS but refuses it when asked.
	Refuse bool
	// Inject: after agreeing to start TLS, the server sends a plain-text
	// line before the handshake (a STARTTLS response injection).
	Inject bool
	// Silent: the server accepts connections and never says a word.
	Silent bool
	// TLS, if set, changes the server's tls.Config.
	TLS func(*tls.Config)
}

// PlainServer is a fake server of a protocol that starts in plain text
// and upgrades to TLS: "smtp", "imap", "ldap" or "postgres". It speaks
// only the greeting and the upgrade, then completes a TLS handshake with
// its certificate and closes the connection once the client does.
type PlainServer struct {
	Addr, Port string
	// Upgrades counts the requests to start TLS it agreed to; Handshakes
	// the TLS handshakes completed after one.
	Upgrades, Handshakes atomic.Int64

	ln    net.Listener
	cfg   *tls.Config
	proto string
	o     PlainOptions
	wg    sync.WaitGroup
	once  sync.Once
	mu    sync.Mutex
	conns []net.Conn
}

// StartPlain starts a PlainServer for proto on ip, closed when the test
// ends.
func StartPlain(t testing.TB, ip, proto string, cert tls.Certificate, o PlainOptions) *PlainServer {
	t.Helper()
	s, err := ListenPlain(ip, proto, cert, o)
	if err != nil {
		t.Fatalf("testpki: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// ListenPlain is StartPlain for callers without a testing.TB (test
// scripts); the caller closes the server.
func ListenPlain(ip, proto string, cert tls.Certificate, o PlainOptions) (*PlainServer, error) {
	switch proto {
	case "smtp", "imap", "ldap", "postgres":
	default:
		return nil, fmt.Errorf("no fake server for %q", proto)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	if o.TLS != nil {
		o.TLS(cfg)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	s := &PlainServer{Addr: ln.Addr().String(), Port: port, ln: ln, cfg: cfg, proto: proto, o: o}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Close stops the server and closes its connections.
func (s *PlainServer) Close() {
	s.once.Do(func() {
		s.ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
}

func (s *PlainServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.serve(c)
		}()
	}
}

func (s *PlainServer) serve(c net.Conn) {
	if s.o.Silent {
		io.Copy(io.Discard, c)
		return
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var ok bool
	switch s.proto {
	case "smtp":
		ok = s.smtp(c)
	case "imap":
		ok = s.imap(c)
	case "ldap":
		ok = s.ldap(c)
	case "postgres":
		ok = s.postgres(c)
	}
	if !ok {
		return
	}
	s.Upgrades.Add(1)
	tc := tls.Server(c, s.cfg)
	if tc.Handshake() != nil {
		return
	}
	s.Handshakes.Add(1)
	io.Copy(io.Discard, tc)
}

// plainConn reads lines byte by byte, so that nothing of the TLS
// handshake is read ahead.
type plainConn struct{ c net.Conn }

func (p plainConn) line() (string, error) {
	var b []byte
	one := make([]byte, 1)
	for len(b) < 4096 {
		if _, err := io.ReadFull(p.c, one); err != nil {
			return "", err
		}
		if one[0] == '\n' {
			return strings.TrimRight(string(b), "\r"), nil
		}
		b = append(b, one[0])
	}
	return "", fmt.Errorf("line too long")
}

func (p plainConn) say(lines ...string) {
	for _, l := range lines {
		io.WriteString(p.c, l+"\r\n")
	}
}

func (s *PlainServer) smtp(c net.Conn) bool {
	p := plainConn{c}
	p.say("220-fake.test ESMTP", "220 fake.test ready")
	for {
		l, err := p.line()
		if err != nil {
			return false
		}
		switch cmd, _, _ := strings.Cut(strings.ToUpper(l), " "); cmd {
		case "EHLO":
			if s.o.NoStartTLS {
				p.say("250-fake.test", "250-PIPELINING", "250 8BITMIME")
			} else {
				p.say("250-fake.test", "250-PIPELINING", "250-STARTTLS", "250 8BITMIME")
			}
		case "STARTTLS":
			if s.o.NoStartTLS || s.o.Refuse {
				p.say("454 4.7.0 TLS not available")
				continue
			}
			if s.o.Inject {
				io.WriteString(c, "220 2.0.0 go ahead\r\n250 injected\r\n")
			} else {
				p.say("220 2.0.0 go ahead")
			}
			return true
		case "QUIT":
			p.say("221 bye")
			return false
		default:
			p.say("500 5.5.2 unknown command")
		}
	}
}

func (s *PlainServer) imap(c net.Conn) bool {
	p := plainConn{c}
	caps := "IMAP4rev1 STARTTLS LOGINDISABLED"
	if s.o.NoStartTLS {
		caps = "IMAP4rev1 AUTH=PLAIN"
	}
	p.say("* OK [CAPABILITY " + caps + "] fake.test ready")
	for {
		l, err := p.line()
		if err != nil {
			return false
		}
		tag, rest, _ := strings.Cut(l, " ")
		switch strings.ToUpper(rest) {
		case "CAPABILITY":
			p.say("* CAPABILITY "+caps, tag+" OK CAPABILITY completed")
		case "STARTTLS":
			if s.o.NoStartTLS || s.o.Refuse {
				p.say(tag + " BAD STARTTLS not available")
				continue
			}
			if s.o.Inject {
				io.WriteString(c, tag+" OK begin TLS\r\n* OK injected\r\n")
			} else {
				p.say(tag + " OK begin TLS negotiation now")
			}
			return true
		case "LOGOUT":
			p.say("* BYE", tag+" OK LOGOUT completed")
			return false
		default:
			p.say(tag + " BAD unknown command")
		}
	}
}

// ldapStartTLSOID names the StartTLS extended operation.
const ldapStartTLSOID = "1.3.6.1.4.1.1466.20037"

func tlv(tag byte, body []byte) []byte {
	if len(body) > 0x7f {
		return append([]byte{tag, 0x81, byte(len(body))}, body...)
	}
	return append([]byte{tag, byte(len(body))}, body...)
}

func (s *PlainServer) ldap(c net.Conn) bool {
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil || hdr[0] != 0x30 || hdr[1] >= 0x80 {
		return false
	}
	body := make([]byte, hdr[1])
	if _, err := io.ReadFull(c, body); err != nil {
		return false
	}
	// messageID, then [APPLICATION 23] { [0] OID }.
	if !bytes.Contains(body, append([]byte{0x80, byte(len(ldapStartTLSOID))}, ldapStartTLSOID...)) || len(body) < 3 {
		return false
	}
	id := body[:3]
	code, diag := byte(0), ""
	switch {
	case s.o.NoStartTLS:
		code, diag = 2, "unsupported extended operation"
	case s.o.Refuse:
		code, diag = 52, "TLS not configured"
	}
	resp := append(tlv(0x0a, []byte{code}), tlv(0x04, nil)...)
	resp = append(resp, tlv(0x04, []byte(diag))...)
	if code == 0 {
		resp = append(resp, tlv(0x8a, []byte(ldapStartTLSOID))...)
	}
	c.Write(tlv(0x30, append(append([]byte{}, id...), tlv(0x78, resp)...)))
	return code == 0
}

func (s *PlainServer) postgres(c net.Conn) bool {
	var msg [8]byte
	if _, err := io.ReadFull(c, msg[:]); err != nil {
		return false
	}
	if binary.BigEndian.Uint32(msg[:4]) != 8 || binary.BigEndian.Uint32(msg[4:]) != 80877103 {
		return false
	}
	if s.o.NoStartTLS || s.o.Refuse {
		c.Write([]byte("N"))
		return false
	}
	c.Write([]byte("S"))
	return true
}
