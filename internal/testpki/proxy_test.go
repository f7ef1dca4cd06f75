package testpki

import (
	"crypto/tls"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func proxyClient(t *testing.T, p *PKI, px *Proxy) *http.Client {
	tr := &http.Transport{
		Proxy:             http.ProxyURL(px.URL),
		TLSClientConfig:   &tls.Config{RootCAs: p.Pool()},
		ForceAttemptHTTP2: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func TestProxyTunnels(t *testing.T) {
	p := New(t)
	s := StartTLS(t, "127.0.0.1", p.FullChain(p.Leaf(t, "device.test")), nil)
	px := StartProxy(t, map[string]string{"device.test:443": s.Addr})
	c := proxyClient(t, p, px)
	for range 2 {
		body, proto, err := get(c, "https://device.test/")
		if err != nil {
			t.Fatal(err)
		}
		if body != "ok device.test" || proto != 2 {
			t.Errorf("got %q over HTTP/%d", body, proto)
		}
	}
	if px.Connects.Load() != 1 || s.Conns.Load() != 1 || s.Requests.Load() != 2 {
		t.Errorf("connects %d, server conns %d, requests %d; want 1, 1, 2", px.Connects.Load(), s.Conns.Load(), s.Requests.Load())
	}
	if got := px.Targets(); !slices.Equal(got, []string{"device.test:443"}) {
		t.Errorf("Targets = %q", got)
	}
	// A loopback IP target needs no entry.
	ipSrv := StartTLS(t, "127.0.0.1", p.FullChain(p.Leaf(t, "127.0.0.1")), nil)
	if _, _, err := get(c, ipSrv.URL); err != nil {
		t.Errorf("through the proxy to %s: %v", ipSrv.URL, err)
	}
	if got := px.Targets(); !slices.Equal(got, []string{"device.test:443", ipSrv.Addr}) {
		t.Errorf("Targets = %q", got)
	}
}

func TestProxyRefuses(t *testing.T) {
	p := New(t)
	px := StartProxy(t, map[string]string{"far.test": "192.0.2.1"})
	c := proxyClient(t, p, px)
	for _, url := range []string{"https://bank.test/", "https://far.test/"} {
		if _, _, err := get(c, url); err == nil || !strings.Contains(err.Error(), "Bad Gateway") {
			t.Errorf("%s: got %v, want a Bad Gateway from the proxy", url, err)
		}
	}
	if got := px.Targets(); !slices.Equal(got, []string{"bank.test:443", "far.test:443"}) {
		t.Errorf("Targets = %q", got)
	}
	direct := &http.Transport{}
	defer direct.CloseIdleConnections()
	resp, err := (&http.Client{Transport: direct}).Get(px.URL.String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET to the proxy: %s, want 405", resp.Status)
	}
	if px.Connects.Load() != 2 {
		t.Errorf("Connects = %d, want 2", px.Connects.Load())
	}
}

// TestProxyClosesOpenTunnels ends a test with a tunnel still open: the
// cleanup must close it and return (goleak in TestMain checks the rest).
func TestProxyClosesOpenTunnels(t *testing.T) {
	p := New(t)
	s := StartSilent(t, "127.0.0.1")
	px := StartProxy(t, map[string]string{"silent.test": s.Addr})
	c := proxyClient(t, p, px)
	c.Timeout = 100 * time.Millisecond
	if _, _, err := get(c, "https://silent.test/"); err == nil {
		t.Fatal("request to a silent server succeeded")
	}
	if s.Conns.Load() != 1 {
		t.Errorf("silent server saw %d connections, want 1", s.Conns.Load())
	}
}

// TestTLSProxy speaks TLS to the proxy (verified with its own
// certificate), then CONNECT, then TLS to the target inside the tunnel.
func TestTLSProxy(t *testing.T) {
	p := New(t)
	s := StartTLS(t, "127.0.0.1", p.FullChain(p.Leaf(t, "device.test")), nil)
	pxCert := p.SelfSigned(t, "127.0.0.1")
	px := StartTLSProxy(t, map[string]string{"device.test:443": s.Addr}, LeafOnly(pxCert))
	if px.URL.Scheme != "https" {
		t.Fatalf("URL = %s, want https://", px.URL)
	}
	c := proxyClient(t, p, px)
	tr := c.Transport.(*http.Transport)
	// The proxy is verified with its own certificate; the target with the
	// test root (TLSClientConfig is used for both by net/http, so the pool
	// holds both).
	pool := p.Pool()
	pool.AddCert(pxCert.Cert)
	tr.TLSClientConfig.RootCAs = pool
	body, _, err := get(c, "https://device.test/")
	if err != nil {
		t.Fatal(err)
	}
	if body != "ok device.test" {
		t.Errorf("got %q", body)
	}
	if px.Connects.Load() != 1 || s.Requests.Load() != 1 {
		t.Errorf("connects %d, requests %d; want 1, 1", px.Connects.Load(), s.Requests.Load())
	}
	// A client that does not trust the proxy's certificate opens no tunnel.
	strict := proxyClient(t, p, px)
	if _, _, err := get(strict, "https://device.test/"); err == nil {
		t.Error("a client that does not trust the proxy's certificate got through")
	}
	if px.Connects.Load() != 1 {
		t.Errorf("connects %d after a refused proxy handshake, want 1", px.Connects.Load())
	}
}

func TestListenProxyRefusesNonLoopback(t *testing.T) {
	if _, err := ListenProxy("192.0.2.1", nil, nil); err == nil || !strings.HasPrefix(err.Error(), "testpki: ") {
		t.Errorf("ListenProxy on a public address: %v", err)
	}
	px, err := ListenProxy("127.0.0.1", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	px.Close()
	px.Close() // a second Close does nothing
}
