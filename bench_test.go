package httptrust

// Side-by-side benchmarks: httptrust against a plain net/http client that
// trusts the same root through RootCAs, on the same loopback server, in the
// same run. Sub-benchmarks are named key=value so that benchstat lines the
// pairs up: `benchstat -col /impl` for the TLS benchmarks, `-col /rules` for
// the rule lookup and `-col /op` for loading a store. BENCHMARKS.md has the
// commands and the results.
//
// Allocations (-benchmem) are counted for the whole process, so the loopback
// server's allocations are included; they are the same for both clients.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/testpki"
)

// benchHost is the name both clients ask for; the dialer maps it to
// 127.0.0.1.
const benchHost = "a.test"

// benchBed is one loopback HTTPS server and the client settings both
// clients share.
type benchBed struct {
	pki *testpki.PKI
	srv *testpki.Server
	url string
}

func newBenchBed(b *testing.B, pki *testpki.PKI, cert tls.Certificate, mod ...func(*tls.Config)) *benchBed {
	b.Helper()
	srv := testpki.StartTLS(b, "127.0.0.1", cert, nil, mod...)
	return &benchBed{pki: pki, srv: srv, url: "https://" + benchHost + ":" + srv.Port + "/"}
}

// base returns the transport settings both clients use: the loopback
// dialer, HTTP/2, the same timeouts. Without keepAlive every request makes
// a new connection.
func (bb *benchBed) base(keepAlive bool) *http.Transport {
	return &http.Transport{
		DialContext:           testpki.Dialer(map[string]string{benchHost: "127.0.0.1"}),
		ForceAttemptHTTP2:     true,
		DisableKeepAlives:     !keepAlive,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
	}
}

// plain returns a net/http client that trusts the bed's root through
// RootCAs, with the given session cache (nil: none, the default).
func (bb *benchBed) plain(keepAlive bool, sessions tls.ClientSessionCache) *http.Client {
	tr := bb.base(keepAlive)
	tr.TLSClientConfig = &tls.Config{RootCAs: bb.pki.Pool(), ClientSessionCache: sessions}
	return &http.Client{Transport: tr}
}

// trusting returns an httptrust client whose one rule trusts the bed's root
// for benchHost. Its transport always has a session cache.
func (bb *benchBed) trusting(b *testing.B, keepAlive bool) *http.Client {
	b.Helper()
	return &http.Client{Transport: benchPolicy(b, bb.pki).Transport(bb.base(keepAlive))}
}

// benchPolicy is the policy of the TLS benchmarks: the PKI's root is an
// anchor for benchHost, and the system pool is empty.
func benchPolicy(b *testing.B, pki *testpki.PKI) *Policy {
	b.Helper()
	p, err := New([]Rule{{Hosts: []string{benchHost}, AnchorCerts: []*x509.Certificate{pki.Root.Cert}}},
		&Options{SystemRoots: x509.NewCertPool()})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// benchGet times GET requests with c. One request before the timer starts
// warms what the variant allows to be warm (a pooled connection, a session
// ticket, the verification cache). The server's full and resumed handshakes
// per request are reported: they show what each variant measured.
func benchGet(b *testing.B, c *http.Client, bb *benchBed, wantProto int) {
	b.Helper()
	defer c.CloseIdleConnections()
	mustGet(b, c, bb.url, wantProto)
	full, resumed := bb.srv.Handshakes.Load(), bb.srv.Resumed.Load()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		mustGet(b, c, bb.url, wantProto)
		n++
	}
	b.ReportMetric(float64(bb.srv.Handshakes.Load()-full)/float64(n), "full-handshakes/op")
	b.ReportMetric(float64(bb.srv.Resumed.Load()-resumed)/float64(n), "resumed/op")
}

func mustGet(b *testing.B, c *http.Client, url string, wantProto int) {
	resp, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		b.Fatal(err)
	}
	if resp.ProtoMajor != wantProto {
		b.Fatalf("HTTP/%d, want HTTP/%d", resp.ProtoMajor, wantProto)
	}
}

// pair runs the plain client and the httptrust client on bb, in that order.
func pair(b *testing.B, bb *benchBed, keepAlive bool, wantProto int) {
	b.Run("impl=plain", func(b *testing.B) { benchGet(b, bb.plain(keepAlive, nil), bb, wantProto) })
	b.Run("impl=httptrust", func(b *testing.B) { benchGet(b, bb.trusting(b, keepAlive), bb, wantProto) })
}

func noTickets(c *tls.Config) { c.SessionTicketsDisabled = true }

// BenchmarkHandshake measures a request on a new connection with a full
// handshake: no keep-alive, no session tickets from the server, so nothing
// resumes (the reported resumed/op proves it). With cert=fixed the server
// always presents one chain, and httptrust's verification cache is warm
// after the first request: it skips x509 path validation that the plain
// client does every time. With cert=rotating the server presents
// 2×verifyCacheSize distinct chains in turn, so every httptrust handshake
// misses that cache (checked before timing) and both clients validate the
// chain in full.
func BenchmarkHandshake(b *testing.B) {
	pki := testpki.New(b)
	fixed := newBenchBed(b, pki, pki.FullChain(pki.Leaf(b, benchHost)), noTickets)
	chains := rotatingChains(b, pki, 2*verifyCacheSize)
	checkCacheDefeated(b, benchPolicy(b, pki), chains)
	var next atomic.Uint64
	rotating := newBenchBed(b, pki, chains[0], noTickets, func(c *tls.Config) {
		c.Certificates = nil
		c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return &chains[next.Add(1)%uint64(len(chains))], nil
		}
	})
	b.Run("cert=fixed", func(b *testing.B) { pair(b, fixed, false, 2) })
	b.Run("cert=rotating", func(b *testing.B) { pair(b, rotating, false, 2) })
}

// rotatingChains returns n full chains for benchHost, each with its own leaf.
func rotatingChains(b *testing.B, pki *testpki.PKI, n int) []tls.Certificate {
	b.Helper()
	out := make([]tls.Certificate, n)
	for i := range out {
		out[i] = pki.FullChain(pki.Leaf(b, benchHost))
	}
	return out
}

// checkCacheDefeated fails the benchmark unless serving chains in turn
// makes every verification of one verifier (one host's tls.Config) miss its
// cache, from the first round on.
func checkCacheDefeated(b *testing.B, p *Policy, chains []tls.Certificate) {
	b.Helper()
	eff, err := p.Lookup(benchHost)
	if err != nil {
		b.Fatal(err)
	}
	v := newVerifier(p, eff, benchHost, "")
	for i := 0; i < 3*len(chains); i++ {
		chain := parseChain(b, chains[i%len(chains)])
		if v.cached(chainKey(chain), time.Now()) {
			b.Fatalf("rotating chains: handshake %d would hit the verification cache", i)
		}
		if err := v.verify(tls.ConnectionState{PeerCertificates: chain}); err != nil {
			b.Fatal(err)
		}
	}
}

func parseChain(b *testing.B, c tls.Certificate) []*x509.Certificate {
	b.Helper()
	var out []*x509.Certificate
	for _, der := range c.Certificate {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, cert)
	}
	return out
}

// BenchmarkResume measures a request on a new connection that resumes a
// TLS 1.3 session (the server sends tickets). cache=lru pairs httptrust
// (whose transport always has a session cache) with a plain client given
// tls.NewLRUClientSessionCache; cache=none is the default plain client,
// which has no cache and so does a full handshake every time.
func BenchmarkResume(b *testing.B) {
	pki := testpki.New(b)
	bb := newBenchBed(b, pki, pki.FullChain(pki.Leaf(b, benchHost)))
	b.Run("cache=lru", func(b *testing.B) {
		b.Run("impl=plain", func(b *testing.B) {
			benchGet(b, bb.plain(false, tls.NewLRUClientSessionCache(0)), bb, 2)
		})
		b.Run("impl=httptrust", func(b *testing.B) { benchGet(b, bb.trusting(b, false), bb, 2) })
	})
	b.Run("cache=none", func(b *testing.B) {
		b.Run("impl=plain", func(b *testing.B) { benchGet(b, bb.plain(false, nil), bb, 2) })
	})
}

// BenchmarkKeepAlive measures requests on one pooled connection, HTTP/1.1
// (a server that offers only http/1.1) and HTTP/2.
func BenchmarkKeepAlive(b *testing.B) {
	pki := testpki.New(b)
	cert := pki.FullChain(pki.Leaf(b, benchHost))
	h1 := newBenchBed(b, pki, cert, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	h2 := newBenchBed(b, pki, cert)
	b.Run("proto=h1", func(b *testing.B) { pair(b, h1, true, 1) })
	b.Run("proto=h2", func(b *testing.B) { pair(b, h2, true, 2) })
}

// BenchmarkVerify measures chain verification alone. impl=plain is what
// crypto/tls does for a client with RootCAs (x509 Verify with the presented
// intermediates); impl=httptrust is the VerifyConnection callback of
// httptrust's tls.Config. cache=cold gives it a new verifier each time, as
// a handshake that misses the cache sees; cache=warm reuses one config.
func BenchmarkVerify(b *testing.B) {
	pki := testpki.New(b)
	chain := parseChain(b, pki.FullChain(pki.Leaf(b, benchHost)))
	p := benchPolicy(b, pki)
	eff, err := p.Lookup(benchHost)
	if err != nil {
		b.Fatal(err)
	}
	cs := tls.ConnectionState{PeerCertificates: chain, ServerName: benchHost}
	roots := pki.Pool()
	b.Run("cache=cold", func(b *testing.B) {
		b.Run("impl=plain", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := plainVerify(chain, roots); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("impl=httptrust", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := newVerifier(p, eff, benchHost, "").verify(cs); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("cache=warm", func(b *testing.B) {
		b.Run("impl=httptrust", func(b *testing.B) {
			cfg, err := p.TLSConfigFor(benchHost)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := cfg.VerifyConnection(cs); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// plainVerify is crypto/tls's client verification for a config with
// RootCAs (handshake_client.go, verifyServerCertificate).
func plainVerify(chain []*x509.Certificate, roots *x509.CertPool) error {
	opts := x509.VerifyOptions{Roots: roots, CurrentTime: time.Now(), DNSName: benchHost, Intermediates: x509.NewCertPool()}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := chain[0].Verify(opts)
	return err
}

// benchKey is one ECDSA key shared by the many certificates the store
// benchmark writes: making a key per certificate would only slow the setup.
func benchKey(b *testing.B) *ecdsa.PrivateKey {
	b.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	return k
}

var _ = fmt.Sprint
