package testpki

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// client returns an HTTP client trusting p's root that dials through
// Dialer(resolve), with HTTP/2 enabled; idle connections close at cleanup.
func client(t *testing.T, p *PKI, resolve map[string]string, cache tls.ClientSessionCache) *http.Client {
	tr := &http.Transport{
		DialContext:       Dialer(resolve),
		TLSClientConfig:   &tls.Config{RootCAs: p.Pool(), ClientSessionCache: cache},
		ForceAttemptHTTP2: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// get fetches url and returns the body and the response's major protocol version.
func get(c *http.Client, url string) (string, int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(body), resp.ProtoMajor, fmt.Errorf("status %s", resp.Status)
	}
	return string(body), resp.ProtoMajor, err
}

func TestStartTLSByName(t *testing.T) {
	p := New(t)
	s := StartTLS(t, "127.0.0.1", p.FullChain(p.Leaf(t, "device.test")), nil)
	c := client(t, p, map[string]string{"device.test": s.Addr}, nil)
	body, proto, err := get(c, "https://device.test/")
	if err != nil {
		t.Fatal(err)
	}
	if body != "ok device.test" || proto != 2 {
		t.Errorf("got %q over HTTP/%d, want \"ok device.test\" over HTTP/2", body, proto)
	}
	if _, _, err := get(c, "https://device.test/again"); err != nil {
		t.Fatal(err)
	}
	if s.Requests.Load() != 2 || s.Handshakes.Load() != 1 || s.Resumed.Load() != 0 || s.Conns.Load() != 1 {
		t.Errorf("requests %d, handshakes %d, resumed %d, conns %d; want 2, 1, 0, 1",
			s.Requests.Load(), s.Handshakes.Load(), s.Resumed.Load(), s.Conns.Load())
	}
	if got := s.ServerNames(); !slices.Equal(got, []string{"device.test"}) {
		t.Errorf("ServerNames = %q", got)
	}
	if s.URL != "https://"+s.Addr || s.Addr != net.JoinHostPort("127.0.0.1", s.Port) {
		t.Errorf("URL %q, Addr %q, Port %q", s.URL, s.Addr, s.Port)
	}
}

func TestStartTLSResumption(t *testing.T) {
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			p := New(t)
			s := StartTLS(t, "127.0.0.1", p.FullChain(p.Leaf(t, "device.test")), nil, func(c *tls.Config) {
				c.MinVersion, c.MaxVersion = version, version
			})
			c := client(t, p, map[string]string{"device.test:443": s.Addr}, tls.NewLRUClientSessionCache(8))
			for i := range 3 {
				if _, _, err := get(c, "https://device.test/"); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				c.Transport.(*http.Transport).CloseIdleConnections()
			}
			if s.Handshakes.Load() != 1 || s.Resumed.Load() != 2 || s.Conns.Load() != 3 {
				t.Errorf("handshakes %d, resumed %d, conns %d; want 1, 2, 3", s.Handshakes.Load(), s.Resumed.Load(), s.Conns.Load())
			}
		})
	}
}

func TestStartTLSCountsOnlyCompletedHandshakes(t *testing.T) {
	p := New(t)
	s := StartTLS(t, "127.0.0.1", p.FullChain(p.Leaf(t, "device.test")), nil)
	other := New(t)
	c := client(t, other, map[string]string{"device.test": s.Addr}, nil)
	var verr *tls.CertificateVerificationError
	if _, _, err := get(c, "https://device.test/"); !errors.As(err, &verr) {
		t.Fatalf("client trusting another root: %v, want a certificate verification error", err)
	}
	c = client(t, p, map[string]string{"device.test": s.Addr}, nil)
	if _, _, err := get(c, "https://device.test/"); err != nil {
		t.Fatal(err)
	}
	if s.Conns.Load() != 2 || s.Handshakes.Load() != 1 || s.Requests.Load() != 1 {
		t.Errorf("conns %d, handshakes %d, requests %d; want 2, 1, 1", s.Conns.Load(), s.Handshakes.Load(), s.Requests.Load())
	}
}

func TestStartTLSAddresses(t *testing.T) {
	for _, ip := range []string{"127.0.0.1", "127.0.0.2", "::1"} {
		t.Run(ip, func(t *testing.T) {
			p := New(t)
			s := StartTLS(t, ip, p.FullChain(p.Leaf(t, ip)), nil)
			c := client(t, p, nil, nil)
			body, _, err := get(c, s.URL+"/")
			if err != nil {
				t.Fatal(err)
			}
			if want := "ok " + s.Addr; body != want {
				t.Errorf("got %q, want %q", body, want)
			}
			if got := s.ServerNames(); !slices.Equal(got, []string{""}) {
				t.Errorf("ServerNames = %q, want one empty name (no SNI for IPs)", got)
			}
		})
	}
}

func TestStartTLSMods(t *testing.T) {
	p := New(t)
	errRejected := errors.New("rejected by the test")
	var reject atomic.Bool
	reject.Store(true)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.TLS.PeerCertificates[0].Subject.CommonName, r.Proto)
	})
	s := StartTLS(t, "127.0.0.1", p.FullChain(p.Leaf(t, "device.test")), handler, func(c *tls.Config) {
		c.ClientAuth = tls.RequireAndVerifyClientCert
		c.ClientCAs = p.Pool()
		c.NextProtos = []string{"http/1.1"}
	}, func(c *tls.Config) {
		c.VerifyConnection = func(tls.ConnectionState) error {
			if reject.Load() {
				return errRejected
			}
			return nil
		}
	})
	c := client(t, p, map[string]string{"device.test": s.Addr}, nil)
	tr := c.Transport.(*http.Transport)
	tr.TLSClientConfig.Certificates = []tls.Certificate{p.FullChain(p.ClientCert(t, "alice"))}
	if _, _, err := get(c, "https://device.test/"); err == nil {
		t.Fatal("a mod's VerifyConnection rejected the handshake, but the request succeeded")
	}
	if s.Handshakes.Load() != 0 || s.Requests.Load() != 0 {
		t.Errorf("rejected handshake counted: handshakes %d, requests %d", s.Handshakes.Load(), s.Requests.Load())
	}
	reject.Store(false)
	body, _, err := get(c, "https://device.test/")
	if err != nil {
		t.Fatal(err)
	}
	if body != "alice HTTP/1.1" {
		t.Errorf("got %q, want the client's CN over HTTP/1.1", body)
	}
}

func TestStartHTTP(t *testing.T) {
	p := New(t)
	s := StartHTTP(t, "127.0.0.1", nil)
	c := client(t, p, map[string]string{"plain.test": s.Addr}, nil)
	body, _, err := get(c, "http://plain.test/")
	if err != nil || body != "ok plain.test" {
		t.Fatalf("got %q, %v", body, err)
	}
	// A TLS client meets a server that does not speak TLS.
	raw, err := Dialer(map[string]string{"plain.test": s.Addr})(context.Background(), "tcp", "plain.test:443")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	err = tls.Client(raw, &tls.Config{ServerName: "plain.test", RootCAs: p.Pool()}).Handshake()
	var rhe tls.RecordHeaderError
	if !errors.As(err, &rhe) {
		t.Errorf("TLS handshake with a plain HTTP server: %v, want a tls.RecordHeaderError", err)
	}
	if s.Requests.Load() != 1 || s.Conns.Load() != 2 {
		t.Errorf("requests %d, conns %d; want 1, 2", s.Requests.Load(), s.Conns.Load())
	}
	if s.URL != "http://"+s.Addr {
		t.Errorf("URL = %q", s.URL)
	}
}

func TestStartSilent(t *testing.T) {
	p := New(t)
	s := StartSilent(t, "127.0.0.1")
	c := client(t, p, map[string]string{"silent.test": s.Addr}, nil)
	c.Transport.(*http.Transport).TLSHandshakeTimeout = 100 * time.Millisecond
	start := time.Now()
	_, _, err := get(c, "https://silent.test/")
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("got %v, want a handshake timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout took %v", d)
	}
	if s.Conns.Load() != 1 || s.Handshakes.Load() != 0 {
		t.Errorf("conns %d, handshakes %d; want 1, 0", s.Conns.Load(), s.Handshakes.Load())
	}
	// A raw connection stays open and silent until the server closes.
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if n, err := conn.Read(make([]byte, 1)); n != 0 || !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Errorf("read from silent server: %d, %v; want a timeout", n, err)
	}
	s.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("read after Close: %v, want EOF", err)
	}
}

func TestCloseEarly(t *testing.T) {
	p := New(t)
	s := StartTLS(t, "127.0.0.1", p.FullChain(p.Leaf(t, "127.0.0.1")), nil)
	s.Close()
	s.Close()
	if _, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
		t.Error("server still accepts after Close")
	}
}
