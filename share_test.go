package httptrust

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/httptrust/httptrust/internal/testpki"
)

// h2Server serves HTTP/2 (and HTTP/1.1) with cert on a loopback port,
// answering body.
func h2Server(t *testing.T, cert tls.Certificate, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }))
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// An on-path attacker takes the first connection to svc.test and lets the
// later ones through. The caller's base has HTTP/2 from golang.org/x/net
// (http2.ConfigureTransport), whose upgrade function keeps one pool of
// connections for every copy of the transport: a request verified under a
// strict policy, or after a reload, must never go over the connection a
// laxer policy (or the base alone) verified.
func TestXNetHTTP2BaseSharesNoConnection(t *testing.T) {
	pki := testpki.New(t)
	real := pki.SelfSigned(t, "svc.test")
	evil := pki.SelfSigned(t, "svc.test")
	rs := h2Server(t, testpki.Chain(real), "real")
	es := h2Server(t, testpki.Chain(evil), "attacker")
	lax, err := New([]Rule{{Hosts: []string{"svc.test"}, CertificateCerts: []*x509.Certificate{evil.Cert, real.Cert}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	strict, err := New([]Rule{{Hosts: []string{"svc.test"}, CertificateCerts: []*x509.Certificate{real.Cert}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	newBase := func(t *testing.T) *http.Transport {
		var n atomic.Int32
		d := &net.Dialer{Timeout: 3 * time.Second}
		base := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			to := rs.Listener.Addr().String()
			if n.Add(1) == 1 {
				to = es.Listener.Addr().String()
			}
			return d.DialContext(ctx, network, to)
		}}
		if err := http2.ConfigureTransport(base); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(base.CloseIdleConnections)
		return base
	}
	get := func(t *testing.T, rt http.RoundTripper) string {
		t.Helper()
		c := &http.Client{Transport: rt, Timeout: 5 * time.Second}
		resp, err := c.Get("https://svc.test:8443/")
		if err != nil {
			return "error: " + err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Proto + " " + string(b)
	}
	t.Run("two policies over one base", func(t *testing.T) {
		base := newBase(t)
		if got := get(t, lax.Transport(base)); got != "HTTP/2.0 attacker" {
			t.Fatalf("lax policy, first connection: %q", got)
		}
		if got := get(t, strict.Transport(base)); got != "HTTP/2.0 real" {
			t.Errorf("strict policy: %q, want HTTP/2.0 real over a connection of its own", got)
		}
	})
	t.Run("a reload", func(t *testing.T) {
		var cur atomic.Pointer[Policy]
		cur.Store(lax)
		rt := NewTransport(cur.Load, newBase(t))
		defer rt.CloseIdleConnections()
		if got := get(t, rt); got != "HTTP/2.0 attacker" {
			t.Fatalf("old policy: %q", got)
		}
		cur.Store(strict)
		if got := get(t, rt); got != "HTTP/2.0 real" {
			t.Errorf("new policy: %q, want HTTP/2.0 real", got)
		}
	})
	t.Run("the base used alone first", func(t *testing.T) {
		base := newBase(t)
		base.TLSClientConfig.InsecureSkipVerify = true
		if got := get(t, base); got != "HTTP/2.0 attacker" {
			t.Fatalf("base alone: %q", got)
		}
		if got := get(t, strict.Transport(base)); got != "HTTP/2.0 real" {
			t.Errorf("through httptrust: %q, want HTTP/2.0 real", got)
		}
	})
}

// Every client Policy.Client returns has its own Transport value over the
// shared pool: what one part of a program sets on its client's transport
// (AllowDowngrade) does not change another's.
func TestClientTransportsAreTheirOwn(t *testing.T) {
	pki := testpki.New(t)
	dev := pki.SelfSigned(t, "127.0.0.1")
	var plainHits atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { plainHits.Add(1) }))
	t.Cleanup(plain.Close)
	srv := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(dev), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/", http.StatusFound)
	}))
	p, err := New([]Rule{{Hosts: []string{"127.0.0.1"}, CertificateCerts: []*x509.Certificate{dev.Cert}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mine := p.Client()
	mine.Transport.(*Transport).AllowDowngrade = true
	theirs := p.Client()
	if theirs.Transport.(*Transport).AllowDowngrade {
		t.Fatal("AllowDowngrade set on one client's transport shows on another's")
	}
	resp, err := theirs.Get(srv.URL + "/")
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, ErrDowngrade) || plainHits.Load() != 0 {
		t.Errorf("the other client: %v, %d plain requests; want ErrDowngrade and none", err, plainHits.Load())
	}
	resp, err = mine.Get(srv.URL + "/")
	if err != nil {
		t.Fatalf("the client that allows downgrades: %v", err)
	}
	resp.Body.Close()
	if plainHits.Load() != 1 {
		t.Errorf("%d plain requests, want 1", plainHits.Load())
	}
	// They still share connections and sessions.
	if mine.Transport.(*Transport).pool != theirs.Transport.(*Transport).pool {
		t.Error("the clients of a policy do not share their pool")
	}
}

// A caller's own VerifyConnection and VerifyPeerCertificate run once the
// rule's check has passed: they can refuse a connection the rule accepts,
// and never accept one it refuses.
func TestCallerVerifyHooksKept(t *testing.T) {
	pki := testpki.New(t)
	dev := pki.SelfSigned(t, "127.0.0.1")
	other := pki.SelfSigned(t, "127.0.0.1")
	srv := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(dev), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	trusting := func(c *x509.Certificate) *Policy {
		p, err := New([]Rule{{Hosts: []string{"127.0.0.1"}, CertificateCerts: []*x509.Certificate{c}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	errTheirs := errors.New("the caller's own check refuses")
	var mu sync.Mutex
	calls := map[string]int{}
	count := func(name string) {
		mu.Lock()
		calls[name]++
		mu.Unlock()
	}
	for _, tt := range []struct {
		name string
		cfg  *tls.Config
	}{
		{"VerifyConnection", &tls.Config{VerifyConnection: func(tls.ConnectionState) error { count("VerifyConnection"); return errTheirs }}},
		{"VerifyPeerCertificate", &tls.Config{VerifyPeerCertificate: func([][]byte, [][]*x509.Certificate) error {
			count("VerifyPeerCertificate")
			return errTheirs
		}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base := &http.Transport{TLSClientConfig: tt.cfg}
			tr := trusting(dev.Cert).Transport(base)
			defer tr.CloseIdleConnections()
			_, err := (&http.Client{Transport: tr}).Get(srv.URL + "/")
			if !errors.Is(err, errTheirs) {
				t.Errorf("a connection the rule accepts: %v, want the caller's refusal", err)
			}
			mu.Lock()
			before := calls[tt.name]
			mu.Unlock()
			// Refused by the rule: the caller's hook is never asked.
			tr3 := trusting(other.Cert).Transport(&http.Transport{TLSClientConfig: tt.cfg})
			defer tr3.CloseIdleConnections()
			_, err = (&http.Client{Transport: tr3}).Get(srv.URL + "/")
			var ve *VerifyError
			if !errors.As(err, &ve) || ve.Reason != ReasonCertificateChanged && ve.Reason != ReasonUnknownAuthority {
				t.Errorf("a connection the rule refuses: %v, want the rule's VerifyError", err)
			}
			mu.Lock()
			after := calls[tt.name]
			mu.Unlock()
			if after != before {
				t.Errorf("the caller's %s was asked about a chain the rule refused", tt.name)
			}
		})
	}
}

// Trust through the all_hosts rule is reported once for every request,
// also when the host's own rule only adds report-only pins that do not
// match (a use that is never cached), and also when the request then fails
// after its connection was made (the server reads it and hangs up).
func TestAllHostsReportedForEveryRequest(t *testing.T) {
	l := newLab(t)
	leaf := l.pki.Leaf(t, "bank.test", "up.test")
	s := l.serve(l.pki.FullChain(leaf), "bank.test")
	var events atomic.Int32
	o := l.opts()
	o.Observer = func(e Event) {
		if e.Kind == EventAllHostsTrusted {
			events.Add(1)
		}
	}
	no := false
	p := mustPolicy(t, []Rule{
		{AllHosts: true, AnchorCerts: certsOf(l.pki.Root)},
		{Hosts: []string{"bank.test"}, Pins: []string{"sha256/" + strings.Repeat("A", 43) + "="}, Enforce: &no},
	}, o)
	c := l.client(p)
	for i := 0; i < 3; i++ {
		wantOK(t, c, at(s, "bank.test"))
	}
	if n := events.Load(); n != 3 {
		t.Errorf("report-only pins: %d all_hosts events for three requests, want 3", n)
	}

	// A server that reads each request and closes the connection.
	hangup := testpki.StartTLS(t, "127.0.0.1", l.pki.FullChain(leaf), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	l.mu.Lock()
	l.resolve["up.test"] = "127.0.0.1"
	l.mu.Unlock()
	for _, proto := range []string{"HTTP/2", "HTTP/1.1"} {
		events.Store(0)
		base := l.base()
		if proto == "HTTP/1.1" {
			base.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{} // hijacked: a new connection each time
		}
		c := &http.Client{Transport: p.Transport(base)}
		for i := 0; i < 3; i++ {
			resp, err := c.Post(at(hangup, "up.test"), "text/plain", strings.NewReader("secret"))
			if err == nil {
				resp.Body.Close()
				t.Fatalf("%s: the server hung up, yet the request succeeded", proto)
			}
		}
		if n := events.Load(); n != 3 {
			t.Errorf("%s, failed requests: %d all_hosts events for three requests sent, want 3", proto, n)
		}
	}
}

// The whole check is VerifyConnection's, on every handshake; the same
// check in VerifyPeerCertificate is for a config handed out (a caller may
// replace its VerifyConnection). The transport's and DialTLSContext's own
// configs never leave the package: there it would only parse the chain a
// second time. A caller's own VerifyPeerCertificate still runs, after the
// rule's check (TestCallerVerifyHooksKept).
func TestVerifyPeerCertificateOnlyWhereHandedOut(t *testing.T) {
	pki := testpki.New(t)
	p, err := New([]Rule{{Hosts: []string{"a.test"}, AnchorCerts: []*x509.Certificate{pki.Root.Cert}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	theirs := &tls.Config{VerifyPeerCertificate: func([][]byte, [][]*x509.Certificate) error { return nil }}
	for _, tt := range []struct {
		name       string
		mode       verifyMode
		caller     *tls.Config
		verifyPeer bool
	}{
		{"handed out", modeBare, nil, true},
		{"the transport's", modeDial, nil, false},
		{"the transport's, the caller's hook", modeDial, theirs, true},
		{"the transport's, a caller without one", modeDial, &tls.Config{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := p.tlsConfig("a.test", "443", nil, tt.mode, tt.caller)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.VerifyConnection == nil || !cfg.InsecureSkipVerify {
				t.Fatal("VerifyConnection must do the whole check")
			}
			if got := cfg.VerifyPeerCertificate != nil; got != tt.verifyPeer {
				t.Errorf("VerifyPeerCertificate set: %v, want %v", got, tt.verifyPeer)
			}
		})
	}
}
