package httptrust

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/httptrust/httptrust/internal/testpki"
)

func TestHTTP2AndResumptionByDefault(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "a.test")), "a.test")
	tr := l.policy(Rule{Hosts: []string{"a.test"}, AnchorCerts: certsOf(l.pki.Root)}).Transport(l.base())
	c := &http.Client{Transport: tr}
	for i := 0; i < 3; i++ {
		resp, err := c.Get(at(s, "a.test"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Errorf("request %d: HTTP/%d, want HTTP/2", i, resp.ProtoMajor)
		}
		if resp.Request.URL.Host != "a.test:"+s.Port {
			t.Errorf("response's request is not the caller's")
		}
		tr.CloseIdleConnections()
	}
	if s.Handshakes.Load() != 1 || s.Resumed.Load() != 2 {
		t.Errorf("full handshakes %d, resumed %d; want 1 and 2", s.Handshakes.Load(), s.Resumed.Load())
	}
}

// A session made for one host is never offered to another, even when both
// names reach the same server.
func TestSessionsAreScopedToTheirHost(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "a.test", "b.test")), "a.test", "b.test")
	tr := l.policy(Rule{Hosts: []string{"a.test", "b.test"}, AnchorCerts: certsOf(l.pki.Root)}).Transport(l.base())
	c := &http.Client{Transport: tr}
	wantOK(t, c, at(s, "a.test"))
	tr.CloseIdleConnections()
	wantOK(t, c, at(s, "b.test"))
	if s.Resumed.Load() != 0 {
		t.Errorf("a session of a.test resumed for b.test")
	}
}

// Through an HTTP CONNECT proxy net/http does TLS itself with the
// transport's config: the target host's rule still decides.
func TestThroughProxy(t *testing.T) {
	l := newLab(t)
	sa := l.serve(l.pki.FullChain(l.pki.Leaf(t, "a.test")), "a.test")
	sb := l.serve(l.pki.FullChain(l.pki.Leaf(t, "b.test")), "b.test")
	proxy := testpki.StartProxy(t, map[string]string{"a.test": "127.0.0.1", "b.test": "127.0.0.1"})
	base := l.base()
	base.Proxy = http.ProxyURL(proxy.URL)
	c := &http.Client{Transport: l.policy(Rule{Hosts: []string{"a.test"}, AnchorCerts: certsOf(l.pki.Root)}).Transport(base)}
	wantOK(t, c, at(sa, "a.test"))
	e := wantReason(t, c, at(sb, "b.test"), ReasonUnknownAuthority)
	if e.Host != "b.test" {
		t.Errorf("refused host %q", e.Host)
	}
	if proxy.Connects.Load() != 2 {
		t.Errorf("CONNECTs %d, want 2: the requests did not go through the proxy", proxy.Connects.Load())
	}
}

// 100 concurrent requests to hosts with different rules: each is judged by
// its own rule, with no cross-talk (run with -race).
func TestConcurrentHostsNoCrossTalk(t *testing.T) {
	l := newLab(t)
	const hosts = 10
	var rules []Rule
	var servers []*testpki.Server
	for i := 0; i < hosts; i++ {
		name := fmt.Sprintf("h%d.test", i)
		if i%2 == 0 {
			dev := l.pki.SelfSigned(t, name)
			servers = append(servers, l.serve(testpki.Chain(dev), name))
			rules = append(rules, Rule{Hosts: []string{name}, CertificateCerts: certsOf(dev)})
		} else {
			servers = append(servers, l.serve(l.pki.FullChain(l.pki.Leaf(t, name)), name))
			rules = append(rules, Rule{Hosts: []string{name}, AnchorCerts: certsOf(l.pki.Root)})
		}
	}
	// Wrong pairings: host i served by the server of host i+1 (a certificate
	// for another name, or another self-signed certificate).
	c := l.client(l.policy(rules...))
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			h := i % hosts
			name := fmt.Sprintf("h%d.test", h)
			_, err := get(c, at(servers[h], name))
			if err != nil {
				errs <- fmt.Errorf("%s: %v", name, err)
			}
			other := servers[(h+1)%hosts]
			if _, err := get(c, at(other, name)); err == nil {
				errs <- fmt.Errorf("%s accepted the server of another host", name)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// No global state is ever changed: http.DefaultTransport, the system pool,
// the environment.
func TestNoGlobalState(t *testing.T) {
	sysBefore, _ := x509.SystemCertPool()
	envBefore := os.Environ()
	dt := http.DefaultTransport.(*http.Transport)
	dtTLS := dt.TLSClientConfig
	dtBefore := fmt.Sprintf("%p %v %v", dt.DialContext, dt.TLSHandshakeTimeout, dt.ForceAttemptHTTP2)

	l := newLab(t)
	dev := l.pki.SelfSigned(t, "a.test")
	s := l.serve(testpki.Chain(dev), "a.test")
	p := l.policy(Rule{Hosts: []string{"a.test"}, CertificateCerts: certsOf(dev)},
		Rule{Hosts: []string{"b.test"}, AnchorCerts: certsOf(l.pki.Root), SystemRoots: boolp(true)})
	wantOK(t, l.client(p), at(s, "a.test"))
	if _, ok := p.Client().Transport.(*Transport); !ok {
		t.Error("Client does not use a Transport")
	}
	if _, err := p.TLSConfigFor("b.test"); err != nil {
		t.Fatal(err)
	}
	// A plain client still refuses the device: nothing leaked.
	if _, err := get(&http.Client{Transport: &http.Transport{DialContext: l.base().DialContext}}, at(s, "a.test")); err == nil {
		t.Error("a plain client trusts the device after httptrust ran")
	}
	sysAfter, _ := x509.SystemCertPool()
	if !sysBefore.Equal(sysAfter) {
		t.Error("the system pool changed")
	}
	if !reflect.DeepEqual(envBefore, os.Environ()) {
		t.Error("the environment changed")
	}
	if http.DefaultTransport.(*http.Transport) != dt || dt.TLSClientConfig != dtTLS ||
		fmt.Sprintf("%p %v %v", dt.DialContext, dt.TLSHandshakeTimeout, dt.ForceAttemptHTTP2) != dtBefore {
		t.Error("http.DefaultTransport changed")
	}
}

func TestVerifyErrorThroughURLError(t *testing.T) {
	l := newLab(t)
	dev := l.pki.SelfSigned(t, "a.test")
	s := l.serve(testpki.Chain(dev), "a.test")
	_, err := l.client(l.policy()).Get(at(s, "a.test"))
	var ue *url.Error
	var ve *VerifyError
	if !errors.As(err, &ue) || !errors.As(err, &ve) {
		t.Fatalf("error %T %v", err, err)
	}
	if ve.Host != "a.test" || ve.Port != s.Port || len(ve.Chain) != 1 || ve.Rule == nil || ve.Rule.Rule != nil {
		t.Errorf("VerifyError %+v", ve)
	}
	ci := ve.Chain[0]
	if ci.SHA256 == "" || ci.Pin == "" || !ci.SelfSigned || ci.Names[0] != "a.test" {
		t.Errorf("chain info %+v", ci)
	}
}

func TestTransportLRU(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "a.test", "b.test", "c.test")), "a.test", "b.test", "c.test")
	tr := l.policy(Rule{Hosts: []string{"a.test", "b.test", "c.test"}, AnchorCerts: certsOf(l.pki.Root)}).Transport(l.base())
	tr.MaxHosts = 2
	c := &http.Client{Transport: tr}
	for _, h := range []string{"a.test", "b.test", "c.test", "a.test"} {
		wantOK(t, c, at(s, h))
	}
	tr.mu.Lock()
	n := tr.lru.Len()
	tr.mu.Unlock()
	if n != 2 {
		t.Errorf("%d host transports kept, want 2", n)
	}
}

// A caller's TLS dialer cannot bypass verification.
func TestBaseDialTLSIgnored(t *testing.T) {
	l := newLab(t)
	dev := l.pki.SelfSigned(t, "a.test")
	s := l.serve(testpki.Chain(dev), "a.test")
	base := l.base()
	base.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := base.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return tls.Client(raw, &tls.Config{InsecureSkipVerify: true}), nil
	}
	c := &http.Client{Transport: l.policy().Transport(base)}
	wantReason(t, c, at(s, "a.test"), ReasonSelfSigned)
}

// A port has one written form: "0443" cannot pass for a new host:port.
func TestNonCanonicalPortRefused(t *testing.T) {
	l := newLab(t)
	s := l.serve(l.pki.FullChain(l.pki.Leaf(t, "a.test")), "a.test")
	c := l.client(l.policy(Rule{Hosts: []string{"a.test"}, AnchorCerts: certsOf(l.pki.Root)}))
	if _, err := get(c, "https://a.test:0"+s.Port+"/"); err == nil || !strings.Contains(err.Error(), "plain form") {
		t.Errorf("port 0%s: %v", s.Port, err)
	}
	if _, err := l.policy().TLSConfigFor("a.test:0443"); err == nil {
		t.Error("TLSConfigFor accepted port 0443")
	}
	wantOK(t, c, at(s, "a.test"))
}
