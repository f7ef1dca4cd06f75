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
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/httptrust/httptrust/internal/benchutil"
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
// after the first request: it skips the x509 path validation that the
// plain client does every time. With cert=rotating the server presents
// 2×verifyCacheSize+1 distinct chains in turn, so that every httptrust
// handshake misses that cache (checked before timing) and both clients
// validate the chain in full.
func BenchmarkHandshake(b *testing.B) {
	pki := testpki.New(b)
	fixed := newBenchBed(b, pki, pki.FullChain(pki.Leaf(b, benchHost)), noTickets)
	rotating := newRotatingBed(b, pki)
	b.Run("cert=fixed", func(b *testing.B) { pair(b, fixed, false, 2) })
	b.Run("cert=rotating", func(b *testing.B) { pair(b, rotating, false, 2) })
}

// newRotatingBed starts a server without session tickets that presents
// distinct chains for benchHost in turn, enough of them, and an odd number,
// that one verifier misses its cache on every handshake whether it sees
// every chain or (interleaved with another client) every other one.
func newRotatingBed(b *testing.B, pki *testpki.PKI) *benchBed {
	b.Helper()
	chains := make([]tls.Certificate, 40*verifyCacheSize+1) // the cache evicts one random entry when full
	for i := range chains {
		chains[i] = pki.FullChain(pki.Leaf(b, benchHost))
	}
	checkCacheDefeated(b, benchPolicy(b, pki), chains, 1)
	checkCacheDefeated(b, benchPolicy(b, pki), chains, 2)
	var next atomic.Uint64
	return newBenchBed(b, pki, chains[0], noTickets, func(c *tls.Config) {
		c.Certificates = nil
		c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return &chains[next.Add(1)%uint64(len(chains))], nil
		}
	})
}

// checkCacheDefeated fails the benchmark unless one verifier (one host's
// tls.Config) shown every stride-th of chains in turn misses its cache
// every time.
func checkCacheDefeated(b *testing.B, p *Policy, chains []tls.Certificate, stride int) {
	b.Helper()
	eff, err := p.Lookup(benchHost)
	if err != nil {
		b.Fatal(err)
	}
	v := newVerifier(p, eff, benchHost, "", modeDial)
	for i := 0; i < 3*len(chains); i++ {
		chain := parseChain(b, chains[(i*stride)%len(chains)])
		if _, hit := v.cached(chainKey(chain), time.Now()); hit {
			b.Fatalf("rotating chains, stride %d: handshake %d would hit the verification cache", stride, i)
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
				if err := newVerifier(p, eff, benchHost, "", modeDial).verify(cs); err != nil {
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

// BenchmarkPaired runs the pairs of the TLS benchmarks interleaved: each
// iteration sends one request with each client, the first one in turn, on
// the same server, and times each. It reports the median time of a request
// of each client and the ratios httptrust/plain of the medians and of the
// means (below 1: httptrust is faster). A burst of load from elsewhere on
// the machine falls on both clients alike, and a median ignores the
// requests it preempted, so these ratios are steadier than the one of two
// sub-benchmarks run one after the other.
func BenchmarkPaired(b *testing.B) {
	pki := testpki.New(b)
	cert := pki.FullChain(pki.Leaf(b, benchHost))
	fixed := newBenchBed(b, pki, cert, noTickets)
	rotating := newRotatingBed(b, pki)
	resume := newBenchBed(b, pki, cert)
	h1 := newBenchBed(b, pki, cert, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	h2 := newBenchBed(b, pki, cert)
	b.Run("Handshake/cert=fixed", func(b *testing.B) { pairedGet(b, fixed, fixed.plain(false, nil), fixed.trusting(b, false), 2) })
	b.Run("Handshake/cert=rotating", func(b *testing.B) {
		pairedGet(b, rotating, rotating.plain(false, nil), rotating.trusting(b, false), 2)
	})
	b.Run("Resume/cache=lru", func(b *testing.B) {
		pairedGet(b, resume, resume.plain(false, tls.NewLRUClientSessionCache(0)), resume.trusting(b, false), 2)
	})
	b.Run("KeepAlive/proto=h1", func(b *testing.B) { pairedGet(b, h1, h1.plain(true, nil), h1.trusting(b, true), 1) })
	b.Run("KeepAlive/proto=h2", func(b *testing.B) { pairedGet(b, h2, h2.plain(true, nil), h2.trusting(b, true), 2) })
	b.Run("Verify/cache=cold", func(b *testing.B) {
		chain := parseChain(b, cert)
		p := benchPolicy(b, pki)
		eff, err := p.Lookup(benchHost)
		if err != nil {
			b.Fatal(err)
		}
		cs, roots := tls.ConnectionState{PeerCertificates: chain}, pki.Pool()
		var il benchutil.Interleave
		for b.Loop() {
			il.Run(func() {
				if err := plainVerify(chain, roots); err != nil {
					b.Fatal(err)
				}
			}, func() {
				if err := newVerifier(p, eff, benchHost, "", modeDial).verify(cs); err != nil {
					b.Fatal(err)
				}
			})
		}
		reportPair(b, &il, "op")
	})
}

// pairedGet times the requests of plain and trust interleaved, after one
// request each, and reports besides the server's full and resumed
// handshakes per request.
func pairedGet(b *testing.B, bb *benchBed, plain, trust *http.Client, wantProto int) {
	defer plain.CloseIdleConnections()
	defer trust.CloseIdleConnections()
	mustGet(b, plain, bb.url, wantProto)
	mustGet(b, trust, bb.url, wantProto)
	full, resumed := bb.srv.Handshakes.Load(), bb.srv.Resumed.Load()
	var il benchutil.Interleave
	for b.Loop() {
		il.Run(func() { mustGet(b, plain, bb.url, wantProto) }, func() { mustGet(b, trust, bb.url, wantProto) })
	}
	reportPair(b, &il, "req")
	reqs := float64(2 * il.Rounds())
	b.ReportMetric(float64(bb.srv.Handshakes.Load()-full)/reqs, "full-handshakes/req")
	b.ReportMetric(float64(bb.srv.Resumed.Load()-resumed)/reqs, "resumed/req")
}

// reportPair reports the median time of operation 0 (plain) and 1
// (httptrust) of il, per unit, and the ratios of their medians and of
// their means, httptrust/plain.
func reportPair(b *testing.B, il *benchutil.Interleave, unit string) {
	b.ReportMetric(il.Median(0), "plain-ns/"+unit)
	b.ReportMetric(il.Median(1), "httptrust-ns/"+unit)
	b.ReportMetric(il.MedianRatio(1, 0), "median-httptrust/plain")
	b.ReportMetric(il.Ratio(1, 0), "mean-httptrust/plain")
}

// lookupCase is a host to look up, its normalised form, and the pattern
// that must decide it ("" for a host no rule matches).
type lookupCase struct {
	host, norm string
	addr       netip.Addr
	want       string
}

// lookupHostsPerClass is the number of hosts of each of five classes
// (exact, "*.", "**.", CIDR, no rule): 20,000 lookups, more than 10,000
// distinct hosts even with 100 rules.
const lookupHostsPerClass = 4000

// lookupPolicy returns a policy of n rules (n a multiple of 4), a quarter of
// each kind: exact names, "*.x", "**.x" and CIDR networks (benchutil.Network:
// IPv4 /24, IPv4 /28 and IPv6 /64 in turn), and the hosts to look up in a fixed random
// order, each already looked up once and checked.
func lookupPolicy(b *testing.B, n int) (*Policy, []lookupCase) {
	b.Helper()
	m := n / 4
	rules := make([]Rule, 0, n)
	for j := range m {
		for _, h := range []string{fmt.Sprintf("h%d.exact.test", j), fmt.Sprintf("*.d%d.one.test", j),
			fmt.Sprintf("**.d%d.any.test", j), benchutil.Network(j).String()} {
			rules = append(rules, Rule{Hosts: []string{h}, MinTLS: "1.3"})
		}
	}
	p, err := New(rules, &Options{SystemRoots: x509.NewCertPool()})
	if err != nil {
		b.Fatal(err)
	}
	var cases []lookupCase
	for k := range lookupHostsPerClass {
		j := k % m
		miss := fmt.Sprintf("m%d.a.miss.example", k)
		if k%2 == 1 {
			miss = netip.AddrFrom4([4]byte{203, 0, byte(k >> 8), byte(k)}).String()
		}
		cases = append(cases,
			lookupCase{host: fmt.Sprintf("h%d.exact.test", j), want: fmt.Sprintf("h%d.exact.test", j)},
			lookupCase{host: fmt.Sprintf("w%d.d%d.one.test", k, j), want: fmt.Sprintf("*.d%d.one.test", j)},
			lookupCase{host: fmt.Sprintf("w%d.v.d%d.any.test", k, j), want: fmt.Sprintf("**.d%d.any.test", j)},
			lookupCase{host: benchutil.HostIn(benchutil.Network(j), k).String(), want: benchutil.Network(j).String()},
			lookupCase{host: miss})
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(cases), func(i, j int) { cases[i], cases[j] = cases[j], cases[i] })
	distinct := map[string]bool{}
	for i := range cases {
		c := &cases[i]
		distinct[c.host] = true
		if c.norm, c.addr, err = normalizeHost(c.host); err != nil {
			b.Fatal(err)
		}
		eff, err := p.Lookup(c.host)
		if err != nil {
			b.Fatal(err)
		}
		if eff.Pattern != c.want {
			b.Fatalf("Lookup(%q): pattern %q, want %q", c.host, eff.Pattern, c.want)
		}
	}
	if len(distinct) < 10_000 {
		b.Fatalf("only %d distinct hosts", len(distinct))
	}
	return p, cases
}

// BenchmarkLookup measures Policy.Lookup, host string to effective rule,
// with 100 and with 100,000 rules, over 20,000 hosts (every rule kind and
// misses). The effective rules are memoised, and each host was looked up
// once before timing: this is the steady state of a long-running client.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		p, cases := lookupPolicy(b, n)
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := p.Lookup(cases[i%len(cases)].host); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkLookupIndex is BenchmarkLookup without parsing and normalising
// the host: the index alone.
func BenchmarkLookupIndex(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		p, cases := lookupPolicy(b, n)
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c := &cases[i%len(cases)]
				if p.ix.effective(c.norm, "", c.addr) == nil {
					b.Fatal("no effective rule")
				}
				i++
			}
		})
	}
}

// storeHosts is the size of the store BenchmarkLoadDir loads.
const storeHosts = 10_000

// BenchmarkLoadDir loads a store of 10,000 hosts laid out as the CLI keeps
// them (per host a rule file in managed/ naming an exact certificate in
// managed/certs/), written once. op=read-all is the floor: os.ReadDir and
// os.ReadFile of every file, rules and certificates; op=read-rules reads
// only the rule files, which is all LoadDir reads (certificates are parsed
// on first use). op=loaddir-validate adds Policy.Validate, which reads and
// parses every certificate. The files are in the page cache for every op.
func BenchmarkLoadDir(b *testing.B) {
	dir := storeDir(b)
	b.Run("op=read-all", func(b *testing.B) { benchOp(b, func() { readStore(b, dir, false) }) })
	b.Run("op=read-rules", func(b *testing.B) { benchOp(b, func() { readStore(b, dir, true) }) })
	b.Run("op=loaddir", func(b *testing.B) { benchOp(b, func() { loadStore(b, dir, false) }) })
	b.Run("op=loaddir-validate", func(b *testing.B) { benchOp(b, func() { loadStore(b, dir, true) }) })
}

// BenchmarkLoadDirPaired runs read-all, read-rules and loaddir of
// BenchmarkLoadDir interleaved and reports the median time of each and the
// ratios of the median of loaddir to that of each read.
func BenchmarkLoadDirPaired(b *testing.B) {
	dir := storeDir(b)
	var il benchutil.Interleave
	for b.Loop() {
		il.Run(func() { readStore(b, dir, false) }, func() { readStore(b, dir, true) }, func() { loadStore(b, dir, false) })
	}
	b.ReportMetric(il.Median(0), "read-all-ns/op")
	b.ReportMetric(il.Median(1), "read-rules-ns/op")
	b.ReportMetric(il.Median(2), "loaddir-ns/op")
	b.ReportMetric(il.MedianRatio(2, 0), "loaddir/read-all")
	b.ReportMetric(il.MedianRatio(2, 1), "loaddir/read-rules")
}

func storeDir(b *testing.B) string {
	b.Helper()
	dir := b.TempDir()
	if err := benchutil.WriteStore(dir, storeHosts); err != nil {
		b.Fatal(err)
	}
	return dir
}

func benchOp(b *testing.B, op func()) {
	b.ReportAllocs()
	for b.Loop() {
		op()
	}
}

func readStore(b *testing.B, dir string, rulesOnly bool) {
	folders := benchutil.StoreFolders(dir, rulesOnly)
	files, _, err := benchutil.ReadAll(folders...)
	if err != nil {
		b.Fatal(err)
	}
	if want := storeHosts * (len(folders) - 1); files != want {
		b.Fatalf("read %d files, want %d", files, want)
	}
}

func loadStore(b *testing.B, dir string, validate bool) {
	p, err := LoadDir(dir, &Options{SystemRoots: x509.NewCertPool()})
	if err != nil {
		b.Fatal(err)
	}
	if len(p.Rules()) != storeHosts {
		b.Fatalf("%d rules, want %d", len(p.Rules()), storeHosts)
	}
	if validate {
		if err := p.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadDirIndexed loads, with Options.CacheDir, a one-rule store
// (too small for an index: read in full) and stores of 100,000 rules in one
// file and in 10,000 files (read through their index: every file statted,
// no rule parsed), then looks up one host: the large stores must stay
// within 1.5x of the small one.
//
//	go test -run '^$' -bench LoadDirIndexed -count 6 . | tee idx.txt
//	benchstat -col /rules,/files idx.txt
func BenchmarkLoadDirIndexed(b *testing.B) {
	for _, c := range []struct{ rules, files int }{{1, 1}, {100_000, 1}, {100_000, 10_000}} {
		dir := b.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("x"), 0o644); err != nil {
			b.Fatal(err)
		}
		bufs := make([]strings.Builder, c.files)
		for i := 0; i < c.rules; i++ {
			fmt.Fprintf(&bufs[i%c.files], "[[rule]]\nhosts = [\"device%d.fleet.test\"]\nanchors = [\"ca.pem\"]\n\n", i)
		}
		for i := range bufs {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("rules-%05d.toml", i)), []byte(bufs[i].String()), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		time.Sleep(cacheRacy) // an index is written only for files older than this
		opts := &Options{CacheDir: b.TempDir()}
		if _, err := LoadDir(dir, opts); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("rules=%d/files=%d", c.rules, c.files), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				p, err := LoadDir(dir, opts)
				if err != nil {
					b.Fatal(err)
				}
				if (p.ix.lazy != nil) != (c.rules >= cacheMinRules) {
					b.Fatal("index used:", p.ix.lazy != nil)
				}
				if _, err := p.Lookup("device0.fleet.test"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
