package httptrust

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/testpki"
)

// Resource bounds: servers that stall, and many requests at once.

// The transports a policy builds carry the default timeouts, down to the
// per-host transport that does the handshake.
func TestDefaultTimeoutsReachEveryHost(t *testing.T) {
	p := mustPolicy(t, []Rule{{Hosts: []string{"a.test"}, MinTLS: "1.2"}}, nil)
	for name, tr := range map[string]*Transport{
		"Transport(nil)": p.Transport(nil),
		"Client()":       p.Client().Transport.(*Transport),
	} {
		for _, host := range []string{"a.test", "other.test"} {
			h, err := tr.hostTransport(p, host, "443")
			if err != nil {
				t.Fatal(err)
			}
			ht := h.t
			if ht.TLSHandshakeTimeout != DefaultTLSHandshakeTimeout || ht.ResponseHeaderTimeout != DefaultResponseHeaderTimeout || ht.DialContext == nil {
				t.Errorf("%s, %s: handshake timeout %v, response header timeout %v; want the defaults",
					name, host, ht.TLSHandshakeTimeout, ht.ResponseHeaderTimeout)
			}
		}
	}
	// A caller's base keeps its own, shorter, timeouts.
	base := &http.Transport{TLSHandshakeTimeout: time.Second}
	h, err := p.Transport(base).hostTransport(p, "a.test", "443")
	if err != nil {
		t.Fatal(err)
	}
	if h.t.TLSHandshakeTimeout != time.Second {
		t.Errorf("caller's handshake timeout became %v", h.t.TLSHandshakeTimeout)
	}
}

// startDrip starts a server that accepts TCP, sends the header of a
// 16 KiB handshake record, then one byte of it every interval: a handshake
// that makes progress and never ends.
func startDrip(t *testing.T, interval time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if _, err := c.Write([]byte{0x16, 0x03, 0x03, 0x40, 0x00}); err != nil {
					return
				}
				tick := time.NewTicker(interval)
				defer tick.Stop()
				for {
					select {
					case <-done:
						return
					case <-tick.C:
						if _, err := c.Write([]byte{0}); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// A server that never finishes the handshake, by silence or by dripping
// bytes, directly or through a proxy, fails the request within the
// handshake timeout; so does one that never answers the request, within
// the response header timeout. A timeout is not a verification failure.
func TestStalledServersTimeOut(t *testing.T) {
	l := newLab(t)
	silent := testpki.StartSilent(t, "127.0.0.1")
	drip := startDrip(t, 20*time.Millisecond)
	proxy := testpki.StartProxy(t, nil)
	mute := testpki.StartTLS(t, "127.0.0.1", l.pki.FullChain(l.pki.Leaf(t, "127.0.0.1")), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	p := l.policy(Rule{Hosts: []string{"127.0.0.1"}, AnchorCerts: certsOf(l.pki.Root)})
	const limit = 300 * time.Millisecond
	short := func(mod func(*http.Transport)) *http.Client {
		base := l.base()
		base.TLSHandshakeTimeout = limit
		if mod != nil {
			mod(base)
		}
		return &http.Client{Transport: p.Transport(base)}
	}
	tests := []struct {
		name string
		c    *http.Client
		url  string
	}{
		{"silent", short(nil), silent.URL + "/"},
		{"dripping", short(nil), "https://" + drip + "/"},
		{"silent, through a proxy", short(func(b *http.Transport) { b.Proxy = http.ProxyURL(proxy.URL) }), silent.URL + "/"},
		{"no response", short(func(b *http.Transport) { b.ResponseHeaderTimeout = limit }), mute.URL + "/"},
		{"request deadline", &http.Client{Transport: p.Transport(l.base()), Timeout: limit}, silent.URL + "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := get(tt.c, tt.url)
			d := time.Since(start)
			if err == nil || d < limit || d > limit+2*time.Second {
				t.Fatalf("got %v after %v; want a failure after about %v", err, d, limit)
			}
			var ve *VerifyError
			var ne net.Error
			if errors.As(err, &ve) || !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("error %v (%T); want a timeout, not a verification failure", err, err)
			}
			tt.c.CloseIdleConnections()
		})
	}
}

// The bare tls.Config of TLSConfigFor is bounded by the caller's dialer.
func TestStalledServerTLSConfigFor(t *testing.T) {
	l := newLab(t)
	silent := testpki.StartSilent(t, "127.0.0.1")
	cfg, err := l.policy().TLSConfigFor("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	conn, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", silent.Addr)
	if err == nil {
		conn.Close()
		t.Fatal("handshake with a silent server succeeded")
	}
	if d := time.Since(start); d > 2*time.Second || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v after %v; want the context's deadline", err, d)
	}
}

// boundsHosts is how many hosts the load test spreads over; its kinds of
// rule repeat every four hosts.
const boundsHosts = 20

type boundsKind int

const (
	kindExact  boundsKind = iota // the host's own self-signed certificate
	kindAnchor                   // the private CA, as an anchor
	kindSystem                   // no rule: the system roots (the lab's public CA)
	kindMutual                   // the private CA, and a client certificate the server requires
)

// boundsBed is boundsHosts servers whose certificates all cover every
// host name, so that only the rules tell them apart.
type boundsBed struct {
	l       *lab
	servers []*testpki.Server
	rules   []Rule
}

func newBoundsBed(t *testing.T) *boundsBed {
	l := newLab(t)
	b := &boundsBed{l: l}
	var names []string
	for i := range boundsHosts {
		names = append(names, fmt.Sprintf("h%02d.test", i))
	}
	id := l.pki.ClientCert(t, "me").TLSCertificate(l.pki.Intermediate)
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %t", r.Host, len(r.TLS.PeerCertificates) > 0)
	})
	for i, name := range names {
		var cert tls.Certificate
		var mods []func(*tls.Config)
		rule := Rule{Hosts: []string{name}, AnchorCerts: certsOf(l.pki.Root)}
		switch boundsKind(i % 4) {
		case kindExact:
			dev := l.pki.SelfSigned(t, names...)
			cert, rule = testpki.Chain(dev), Rule{Hosts: []string{name}, CertificateCerts: certsOf(dev)}
		case kindAnchor:
			cert = l.pki.FullChain(l.pki.Leaf(t, names...))
		case kindSystem:
			cert, rule = l.public.FullChain(l.public.Leaf(t, names...)), Rule{}
		case kindMutual:
			cert, rule.ClientIdentity = l.pki.FullChain(l.pki.Leaf(t, names...)), &id
			mods = append(mods, func(c *tls.Config) { c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, l.pki.Pool() })
		}
		b.servers = append(b.servers, testpki.StartTLS(t, "127.0.0.1", cert, echo, mods...))
		if rule.Hosts != nil {
			b.rules = append(b.rules, rule)
		}
		l.resolve[name] = "127.0.0.1"
	}
	return b
}

// want returns the outcome of asking host i at server j: ReasonUnknown
// for a response.
func (b *boundsBed) want(i, j int) Reason {
	ki, kj := boundsKind(i%4), boundsKind(j%4)
	switch {
	case ki == kindExact && i == j:
		return ReasonUnknown
	case ki == kindExact:
		return ReasonCertificateChanged
	case kj == kindExact:
		return ReasonSelfSigned
	case ki == kindSystem && kj == kindSystem:
		return ReasonUnknown
	case ki == kindSystem || kj == kindSystem:
		return ReasonUnknownAuthority
	case kj == kindMutual && ki != kindMutual:
		return ReasonClientCertRequired
	}
	return ReasonUnknown
}

// 1,000 requests, 100 at a time, over 400 host and server pairings (more
// than the transport keeps): each is judged by its own host's rule, and a
// client certificate goes only where its rule sends it.
func TestThousandRequestsNoCrossTalk(t *testing.T) {
	b := newBoundsBed(t)
	c := b.l.client(b.l.policy(b.rules...))
	defer c.CloseIdleConnections()
	jobs := make(chan int)
	errs := make(chan error, 1000)
	var wg sync.WaitGroup
	start := time.Now()
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				if err := b.request(c, k%boundsHosts, (k*7+k/boundsHosts)%boundsHosts); err != nil {
					errs <- err
				}
			}
		}()
	}
	for k := range 1000 {
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("1,000 requests took %v", d)
	}
}

// request asks host i at server j and checks the outcome.
func (b *boundsBed) request(c *http.Client, i, j int) error {
	host := fmt.Sprintf("h%02d.test", i)
	want := b.want(i, j)
	body, err := get(c, at(b.servers[j], host))
	if want == ReasonUnknown {
		sent := boundsKind(i%4) == kindMutual && boundsKind(j%4) == kindMutual
		if w := fmt.Sprintf("%s:%s %t", host, b.servers[j].Port, sent); err != nil || body != w {
			return fmt.Errorf("%s at server %d: %q, %v; want %q", host, j, body, err, w)
		}
		return nil
	}
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Reason != want || ve.Host != host {
		return fmt.Errorf("%s at server %d: %v; want %s for %s", host, j, err, want, host)
	}
	if want == ReasonClientCertRequired && strings.Contains(ve.Detail, "was sent") && !strings.Contains(ve.Detail, "none was sent") {
		return fmt.Errorf("%s at server %d: a client certificate was sent: %s", host, j, ve.Detail)
	}
	return nil
}
