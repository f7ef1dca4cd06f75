package probe

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/testpki"
)

var plainProtocols = []struct {
	name  string
	proto Protocol
}{{"smtp", SMTP}, {"imap", IMAP}, {"ldap", LDAP}, {"postgres", Postgres}}

// TestStartTLSProbe: each protocol's greeting and upgrade, then the chain;
// the handshake is still aborted, so nothing is sent over TLS.
func TestStartTLSProbe(t *testing.T) {
	pki := testpki.New(t)
	leaf := pki.SelfSigned(t, "mail.test")
	for _, p := range plainProtocols {
		t.Run(p.name, func(t *testing.T) {
			srv := testpki.StartPlain(t, "127.0.0.1", p.name, testpki.LeafOnly(leaf), testpki.PlainOptions{})
			res, err := Probe(context.Background(), Target{Host: "mail.test", Port: srv.Port, Addr: srv.Addr, Protocol: p.proto})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Chain) != 1 || !res.Chain[0].Equal(leaf.Cert) || res.Protocol != p.proto {
				t.Fatalf("chain %v, protocol %q", res.Chain, res.Protocol)
			}
			if res.State.ServerName != "mail.test" || res.State.NegotiatedProtocol != "" {
				t.Errorf("SNI %q, ALPN %q", res.State.ServerName, res.State.NegotiatedProtocol)
			}
			if err := Confirm(context.Background(), Target{Host: "mail.test", Port: srv.Port, Addr: srv.Addr, Protocol: p.proto}, leaf.Cert, nil); err != nil {
				t.Fatalf("Confirm: %v", err)
			}
			for i := 0; i < 200 && srv.Handshakes.Load() == 0; i++ {
				time.Sleep(10 * time.Millisecond) // the server reads the client's Finished after Confirm returns
			}
			srv.Close()
			if up, hs := srv.Upgrades.Load(), srv.Handshakes.Load(); up != 2 || hs != 1 {
				t.Errorf("%d upgrades and %d handshakes, want 2 and 1 (the probe's aborted, Confirm's completed)", up, hs)
			}
		})
	}
}

func TestStartTLSRefusals(t *testing.T) {
	pki := testpki.New(t)
	cert := testpki.LeafOnly(pki.SelfSigned(t, "mail.test"))
	tests := []struct {
		name  string
		proto Protocol
		o     testpki.PlainOptions
		is    error
		step  string
	}{
		{"smtp without STARTTLS", SMTP, testpki.PlainOptions{NoStartTLS: true}, ErrNoStartTLS, "EHLO"},
		{"smtp refuses", SMTP, testpki.PlainOptions{Refuse: true}, ErrStartTLSRefused, "STARTTLS"},
		{"smtp injection", SMTP, testpki.PlainOptions{Inject: true}, ErrInjected, "STARTTLS"},
		{"imap without STARTTLS", IMAP, testpki.PlainOptions{NoStartTLS: true}, ErrNoStartTLS, "CAPABILITY"},
		{"imap refuses", IMAP, testpki.PlainOptions{Refuse: true}, ErrStartTLSRefused, "STARTTLS"},
		{"imap injection", IMAP, testpki.PlainOptions{Inject: true}, ErrInjected, "STARTTLS"},
		{"ldap without StartTLS", LDAP, testpki.PlainOptions{NoStartTLS: true}, ErrNoStartTLS, "StartTLS request"},
		{"ldap refuses", LDAP, testpki.PlainOptions{Refuse: true}, ErrStartTLSRefused, "StartTLS request"},
		{"postgres without ssl", Postgres, testpki.PlainOptions{NoStartTLS: true}, ErrNoStartTLS, "SSLRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testpki.StartPlain(t, "127.0.0.1", string(tt.proto), cert, tt.o)
			_, err := Probe(context.Background(), Target{Host: "mail.test", Addr: srv.Addr, Protocol: tt.proto})
			var se *StartTLSError
			if !errors.As(err, &se) || !errors.Is(err, tt.is) {
				t.Fatalf("error %v, want a StartTLSError with %v", err, tt.is)
			}
			if se.Step != tt.step || se.Protocol != tt.proto {
				t.Errorf("step %q protocol %q, want %q %q", se.Step, se.Protocol, tt.step, tt.proto)
			}
			if srv.Handshakes.Load() != 0 {
				t.Error("a handshake completed")
			}
		})
	}
}

// TestStartTLSWrongProtocol: a probe that expects one protocol and meets
// another says the server does not speak it, and never hangs.
func TestStartTLSWrongProtocol(t *testing.T) {
	pki := testpki.New(t)
	cert := testpki.LeafOnly(pki.SelfSigned(t, "mail.test"))
	smtp := testpki.StartPlain(t, "127.0.0.1", "smtp", cert, testpki.PlainOptions{})
	imap := testpki.StartPlain(t, "127.0.0.1", "imap", cert, testpki.PlainOptions{})
	for _, tt := range []struct {
		name  string
		proto Protocol
		addr  string
	}{
		{"smtp to imap", SMTP, imap.Addr}, {"imap to smtp", IMAP, smtp.Addr},
		{"ldap to smtp", LDAP, smtp.Addr}, {"postgres to smtp", Postgres, smtp.Addr},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := Probe(ctx, Target{Host: "mail.test", Addr: tt.addr, Protocol: tt.proto})
			if !errors.Is(err, ErrNotProtocol) {
				t.Fatalf("error %v, want ErrNotProtocol", err)
			}
		})
	}
}

// TestStartTLSSilentServer: a server that never greets is bounded by the
// context, as a timeout.
func TestStartTLSSilentServer(t *testing.T) {
	pki := testpki.New(t)
	cert := testpki.LeafOnly(pki.SelfSigned(t, "mail.test"))
	for _, p := range plainProtocols {
		t.Run(p.name, func(t *testing.T) {
			srv := testpki.StartPlain(t, "127.0.0.1", p.name, cert, testpki.PlainOptions{Silent: true})
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := Probe(ctx, Target{Host: "mail.test", Addr: srv.Addr, Protocol: p.proto})
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				t.Fatalf("error %v, want a timeout", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestALPNOnlyForHTTPS(t *testing.T) {
	pki := testpki.New(t)
	srv := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(pki.SelfSigned(t, "api.test")), nil)
	for _, tt := range []struct {
		proto Protocol
		want  string
	}{{HTTPS, "h2"}, {TLS, ""}} {
		res, err := Probe(context.Background(), Target{Host: "api.test", Addr: srv.Addr, Protocol: tt.proto})
		if err != nil {
			t.Fatal(err)
		}
		if res.State.NegotiatedProtocol != tt.want {
			t.Errorf("%s: ALPN %q, want %q", tt.proto, res.State.NegotiatedProtocol, tt.want)
		}
	}
}

func TestLDAPStartTLSRequestBytes(t *testing.T) {
	want := "301d02010177188016" + hex.EncodeToString([]byte("1.3.6.1.4.1.1466.20037"))
	if got := hex.EncodeToString(ldapStartTLSRequest); got != want {
		t.Errorf("request %s, want %s", got, want)
	}
	if got := hex.EncodeToString(postgresSSLRequest); got != "0000000804d2162f" {
		t.Errorf("SSLRequest %s", got)
	}
}

func TestLookupScheme(t *testing.T) {
	for _, tt := range []struct {
		name, port string
		proto      Protocol
		ok         bool
	}{
		{"https", "443", HTTPS, true}, {"tls", "", TLS, true}, {"smtp", "25", SMTP, true},
		{"submission", "587", SMTP, true}, {"smtps", "465", TLS, true}, {"imap", "143", IMAP, true},
		{"ldap", "389", LDAP, true}, {"postgres", "5432", Postgres, true}, {"postgresql", "5432", Postgres, true},
		{"http", "", "", false}, {"ftp", "", "", false},
	} {
		s, ok := LookupScheme(tt.name)
		if ok != tt.ok || s.Port != tt.port || s.Protocol != tt.proto {
			t.Errorf("%s: %+v %v", tt.name, s, ok)
		}
	}
}

// scriptConn is a net.Conn that reads from a fixed script and discards
// what is written.
type scriptConn struct {
	net.Conn
	r io.Reader
}

func (c *scriptConn) Read(b []byte) (int, error)       { return c.r.Read(b) }
func (c *scriptConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

func FuzzStartTLS(f *testing.F) {
	seeds := map[Protocol][]string{
		SMTP:     {"220 x\r\n250-x\r\n250 STARTTLS\r\n220 go\r\n", "220-a\r\n220 b\r\n250 x\r\n", "554 no\r\n", "22"},
		IMAP:     {"* OK hi\r\nA1 OK\r\n* CAPABILITY IMAP4rev1 STARTTLS\r\nA1 OK\r\nA2 OK\r\n", "* OK\r\n* CAPABILITY STARTTLS\r\nA1 OK\r\nA2 NO\r\n", "* PREAUTH\r\n"},
		LDAP:     {"\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00", "\x30\x0c\x02\x01\x00\x78\x07\x0a\x01\x02\x04\x00\x04\x00", "\x30\x84"},
		Postgres: {"S", "N", "E", ""},
	}
	for p, ss := range seeds {
		for _, s := range ss {
			f.Add(string(p), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, proto string, data []byte) {
		p := Protocol(proto)
		if !p.StartsPlain() {
			return
		}
		err := StartTLS(context.Background(), &scriptConn{r: bytes.NewReader(data)}, p)
		var se *StartTLSError
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("error %T %v", err, err)
		}
		if err != nil {
			_ = err.Error()
		}
	})
}
