package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/testpki"
)

// TestProbeNeverReachesHandler proves that InsecureSkipVerify is fail-closed
// here: the chain is captured, the handshake is aborted, and the server's
// handler never runs, for every TLS version and with client authentication.
func TestProbeNeverReachesHandler(t *testing.T) {
	pki := testpki.New(t)
	dev := pki.SelfSigned(t, "device.test")
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("handler reached: %s %s", r.Method, r.URL)
	})
	tests := []struct {
		name string
		mod  func(*tls.Config)
	}{
		{"tls13", func(c *tls.Config) {}},
		{"tls12", func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }},
		{"client-auth", func(c *tls.Config) { c.ClientAuth = tls.RequireAnyClientCert }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(dev), handler, tt.mod)
			res, err := Probe(context.Background(), Target{Host: "device.test", Port: srv.Port, Addr: srv.Addr})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Chain) != 1 || !res.Chain[0].Equal(dev.Cert) {
				t.Fatalf("chain %v", res.Chain)
			}
			if res.State.ServerName != "device.test" || res.Addr != srv.Addr || res.Host != "device.test" {
				t.Errorf("state %q, addr %q, host %q", res.State.ServerName, res.Addr, res.Host)
			}
			if res.State.HandshakeComplete {
				t.Error("handshake reported complete")
			}
			srv.Close()
			if n := srv.Requests.Load() + srv.Handshakes.Load() + srv.Resumed.Load(); n != 0 {
				t.Errorf("server saw %d requests or completed handshakes, want 0", n)
			}
		})
	}
}

func TestProbeCapturesFullChain(t *testing.T) {
	pki := testpki.New(t)
	leaf := pki.Leaf(t, "api.test")
	srv := testpki.StartTLS(t, "127.0.0.1", pki.FullChain(leaf), nil)
	res, err := Probe(context.Background(), Target{Host: "127.0.0.1", Port: srv.Port})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Chain) != 2 || !res.Chain[1].Equal(pki.Intermediate.Cert) {
		t.Fatalf("chain of %d", len(res.Chain))
	}
	if res.State.Version != tls.VersionTLS13 || res.State.CipherSuite == 0 {
		t.Errorf("version %x cipher %x", res.State.Version, res.State.CipherSuite)
	}
	if got := res.String(); got == "" {
		t.Error("empty String")
	}
}

func TestProbeFailures(t *testing.T) {
	plain := testpki.StartHTTP(t, "127.0.0.1", nil)
	silent := testpki.StartSilent(t, "127.0.0.1")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	var rh tls.RecordHeaderError
	if _, err := Probe(context.Background(), Target{Host: "127.0.0.1", Addr: plain.Addr}); !errors.As(err, &rh) {
		t.Errorf("plain HTTP: %v, want a tls.RecordHeaderError", err)
	}
	if _, err := Probe(context.Background(), Target{Host: "127.0.0.1", Addr: closed}); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("closed port: %v, want ECONNREFUSED", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = Probe(ctx, Target{Host: "127.0.0.1", Addr: silent.Addr})
	var ne net.Error
	if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("silent server: %v, want a timeout", err)
	}
}

func TestProbeUsesDial(t *testing.T) {
	pki := testpki.New(t)
	dev := pki.SelfSigned(t, "printer.test")
	srv := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(dev), nil)
	dial := testpki.Dialer(map[string]string{"printer.test:443": srv.Addr})
	res, err := Probe(context.Background(), Target{Host: "printer.test", Dial: dial, ServerName: "other.test"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Addr != "printer.test:443" || res.State.ServerName != "other.test" {
		t.Errorf("addr %q sni %q", res.Addr, res.State.ServerName)
	}
	if names := srv.ServerNames(); len(names) != 0 {
		t.Errorf("server completed handshakes for %v", names)
	}
}

// Confirm completes a handshake only with the captured leaf, whose key
// the server must prove it holds.
func TestConfirm(t *testing.T) {
	pki := testpki.New(t)
	real := pki.SelfSigned(t, "dev.test")
	thief := pki.SelfSigned(t, "dev.test")
	good := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(real), nil)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		// The thief presents the real certificate with its own key.
		bad := testpki.StartTLS(t, "127.0.0.1", tls.Certificate{Certificate: [][]byte{real.DER}, PrivateKey: thief.Key}, nil,
			func(c *tls.Config) { c.MinVersion, c.MaxVersion = v, v })
		res, err := Probe(context.Background(), Target{Host: "127.0.0.1", Port: bad.Port})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Chain[0].Equal(real.Cert) {
			t.Fatal("the probe did not capture the presented certificate")
		}
		if err := Confirm(context.Background(), Target{Host: "127.0.0.1", Port: bad.Port}, res.Chain[0], nil); !errors.Is(err, ErrNotProven) {
			t.Errorf("%s: a server without the key: %v", tls.VersionName(v), err)
		}
	}
	if err := Confirm(context.Background(), Target{Host: "127.0.0.1", Port: good.Port}, real.Cert, nil); err != nil {
		t.Errorf("the real server: %v", err)
	}
}

// TestConfirmRefusesAnotherLeaf: Confirm's VerifyConnection does the
// whole check for its purpose and fails closed.
func TestConfirmRefusesAnotherLeaf(t *testing.T) {
	pki := testpki.New(t)
	s := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(pki.SelfSigned(t, "a.test")), nil)
	other := pki.SelfSigned(t, "a.test")
	if err := Confirm(context.Background(), Target{Host: "127.0.0.1", Port: s.Port}, other.Cert, nil); !errors.Is(err, ErrNotProven) {
		t.Errorf("another leaf accepted: %v", err)
	}
	if s.Handshakes.Load() != 0 {
		t.Errorf("the server counted %d completed handshakes", s.Handshakes.Load())
	}
}

// TestConfirmFailures: Confirm's ErrNotProven is for a server that failed
// the proof only; a server that cannot be reached, does not speak TLS or
// does not answer in time is reported as itself.
func TestConfirmFailures(t *testing.T) {
	pki := testpki.New(t)
	leaf := pki.SelfSigned(t, "dev.test")
	plain := testpki.StartHTTP(t, "127.0.0.1", nil)
	silent := testpki.StartSilent(t, "127.0.0.1")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	timeout := func(err error) bool {
		var ne net.Error
		return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	}
	var rh tls.RecordHeaderError
	for _, tt := range []struct {
		name string
		addr string
		want func(error) bool
	}{
		{"closed port", closed, func(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }},
		{"silent", silent.Addr, timeout},
		{"plain HTTP", plain.Addr, func(err error) bool { return errors.As(err, &rh) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			err := Confirm(ctx, Target{Host: "127.0.0.1", Addr: tt.addr}, leaf.Cert, nil)
			if err == nil || errors.Is(err, ErrNotProven) || !tt.want(err) {
				t.Errorf("Confirm = %v, want the failure itself, not ErrNotProven", err)
			}
		})
	}
}

// TestConfirmClientAuth: a server that asks for a client certificate and
// refuses the client's lack of one has proved its key before (its
// signature is checked first): Confirm succeeds, in TLS 1.2 as in 1.3. A
// server without the key still fails.
func TestConfirmClientAuth(t *testing.T) {
	pki := testpki.New(t)
	real := pki.SelfSigned(t, "dev.test")
	thief := pki.SelfSigned(t, "dev.test")
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		mod := func(c *tls.Config) { c.MinVersion, c.MaxVersion, c.ClientAuth = v, v, tls.RequireAnyClientCert }
		good := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(real), nil, mod)
		if err := Confirm(context.Background(), Target{Host: "127.0.0.1", Port: good.Port}, real.Cert, nil); err != nil {
			t.Errorf("%s: the real server, which wants a client certificate: %v", tls.VersionName(v), err)
		}
		bad := testpki.StartTLS(t, "127.0.0.1", tls.Certificate{Certificate: [][]byte{real.DER}, PrivateKey: thief.Key}, nil, mod)
		if err := Confirm(context.Background(), Target{Host: "127.0.0.1", Port: bad.Port}, real.Cert, nil); !errors.Is(err, ErrNotProven) {
			t.Errorf("%s: a server without the key, which wants a client certificate: %v", tls.VersionName(v), err)
		}
	}
}

func TestSignedKeyExchange(t *testing.T) {
	for _, tt := range []struct {
		version, suite uint16
		want           bool
	}{
		{tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256, true},
		{tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
		{tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, true},
		{tls.VersionTLS10, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, true},
		{tls.VersionTLS12, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, false},
		{tls.VersionTLS12, 0, false},
	} {
		if got := signedKeyExchange(tt.version, tt.suite); got != tt.want {
			t.Errorf("signedKeyExchange(%s, %s) = %v, want %v", tls.VersionName(tt.version), tls.CipherSuiteName(tt.suite), got, tt.want)
		}
	}
}
