package diagnose

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/testpki"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type bed struct {
	pki   *testpki.PKI
	res   map[string]string
	fetch bool // Options.FetchIntermediates
	// mod, when set, changes the options of the run.
	mod func(*Options)
}

func newBed(t *testing.T) *bed { return &bed{pki: testpki.New(t), res: map[string]string{}} }

func (b *bed) run(t *testing.T, rawURL string, rules ...httptrust.Rule) *Report {
	t.Helper()
	if u, err := url.Parse(rawURL); err == nil {
		b.res[u.Hostname()] = "127.0.0.1"
	}
	p, err := httptrust.New(rules, &httptrust.Options{SystemRoots: x509.NewCertPool(), AIA: &httptrust.AIAFetcher{AllowLoopback: true}})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Policy: p, SystemRoots: x509.NewCertPool(), Dial: testpki.Dialer(b.res),
		Lookup: func(context.Context, string) ([]string, error) { return []string{"127.0.0.1"}, nil },
		AIA:    &httptrust.AIAFetcher{AllowLoopback: true}, FetchIntermediates: b.fetch}
	if b.mod != nil {
		b.mod(&o)
	}
	return Run(context.Background(), rawURL, o)
}

func step(t *testing.T, r *Report, name string) Step {
	t.Helper()
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %q in %+v", name, r.Steps)
	return Step{}
}

func anchors(c *x509.Certificate) []*x509.Certificate { return []*x509.Certificate{c} }

func TestHealthyServer(t *testing.T) {
	b := newBed(t)
	s := testpki.StartTLS(t, "127.0.0.1", b.pki.FullChain(b.pki.Leaf(t, "a.test")), nil)
	r := b.run(t, "https://a.test:"+s.Port+"/", httptrust.Rule{Hosts: []string{"a.test"}, AnchorCerts: anchors(b.pki.Root.Cert)})
	if r.Fix != NothingToFix {
		t.Errorf("fix %q, want nothing to fix; steps %+v", r.Fix, r.Steps)
	}
	for _, name := range []string{"resolve", "connect", "tls_versions", "chain", "rule", "verify_store", "client_certificate", "http", "clock"} {
		if st := step(t, r, name); st.Status != OK {
			t.Errorf("%s: %s %q", name, st.Status, st.Summary)
		}
	}
	if st := step(t, r, "tls_versions"); !strings.Contains(st.Summary, "TLS 1.3") {
		t.Errorf("versions %q", st.Summary)
	}
}

// An incomplete chain: the missing intermediate is named, with the issuer
// URL the leaf gives. That URL comes from an unverified certificate, so it
// is fetched only with FetchIntermediates; without it the fix offers the
// flag.
func TestIncompleteChainNamesTheIntermediate(t *testing.T) {
	for _, fetch := range []bool{false, true} {
		t.Run(fmt.Sprintf("FetchIntermediates=%v", fetch), func(t *testing.T) {
			b := newBed(t)
			b.fetch = fetch
			var hits atomic.Int64
			issuer := testpki.StartHTTP(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				hits.Add(1)
				w.Write(b.pki.Intermediate.DER)
			}))
			issuerURL := issuer.URL + "/int.der"
			leaf := b.pki.WithIssuerURL(t, issuerURL, "a.test")
			s := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(leaf), nil)
			u := "https://a.test:" + s.Port + "/"
			r := b.run(t, u, httptrust.Rule{Hosts: []string{"a.test"}, AnchorCerts: anchors(b.pki.Root.Cert)})
			ch := step(t, r, "chain")
			want := b.pki.Intermediate.Cert.Subject.String()
			if ch.Status != Warn || !strings.Contains(ch.Summary, want) || !strings.Contains(ch.Summary, "missing") || !strings.Contains(ch.Summary, issuerURL) {
				t.Errorf("chain step %+v does not name the missing %q and its URL", ch, want)
			}
			if r.IssuerURL != issuerURL {
				t.Errorf("issuer URL %q, want %q", r.IssuerURL, issuerURL)
			}
			if r.Reason != httptrust.ReasonIncompleteChain || !strings.Contains(r.Fix, "httptrust get --fetch-intermediates") {
				t.Errorf("reason %q fix %q", r.Reason, r.Fix)
			}
			next := "httptrust diagnose --fetch-intermediates " + u
			if fetch {
				if hits.Load() != 1 || !strings.Contains(ch.Summary, "fetched it: \""+want+"\"") {
					t.Errorf("asked to fetch: %d fetches, chain step %q", hits.Load(), ch.Summary)
				}
				if strings.Contains(r.Fix, next) {
					t.Errorf("fix %q offers the fetch already done", r.Fix)
				}
			} else {
				if hits.Load() != 0 || strings.Contains(ch.Summary, "fetched it") || !strings.Contains(ch.Summary, "not fetched") {
					t.Errorf("not asked to fetch: %d fetches, chain step %q", hits.Load(), ch.Summary)
				}
				if !strings.Contains(r.Fix, next) {
					t.Errorf("fix %q does not offer %q", r.Fix, next)
				}
			}
			if st := step(t, r, "http"); st.Status != Skip {
				t.Errorf("a request was sent over an unverified connection: %+v", st)
			}
		})
	}
}

// TestIssuerFetchIsGuarded: asked to fetch, diagnose still goes through
// the guarded fetcher: a loopback issuer URL is refused by default.
func TestIssuerFetchIsGuarded(t *testing.T) {
	pki := testpki.New(t)
	var hits atomic.Int64
	issuer := testpki.StartHTTP(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Write(pki.Intermediate.DER)
	}))
	leaf := pki.WithIssuerURL(t, issuer.URL+"/int.der", "a.test")
	s := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(leaf), nil)
	p, err := httptrust.New([]httptrust.Rule{{Hosts: []string{"a.test"}, AnchorCerts: anchors(pki.Root.Cert)}}, &httptrust.Options{SystemRoots: x509.NewCertPool()})
	if err != nil {
		t.Fatal(err)
	}
	r := Run(context.Background(), "https://a.test:"+s.Port+"/", Options{Policy: p, SystemRoots: x509.NewCertPool(),
		Dial:               testpki.Dialer(map[string]string{"a.test": "127.0.0.1"}),
		Lookup:             func(context.Context, string) ([]string, error) { return []string{"127.0.0.1"}, nil },
		FetchIntermediates: true})
	if ch := step(t, r, "chain"); !strings.Contains(ch.Summary, "fetching it failed") || !strings.Contains(ch.Summary, "loopback") {
		t.Errorf("chain step %q", ch.Summary)
	}
	if hits.Load() != 0 {
		t.Errorf("the loopback issuer was fetched %d times", hits.Load())
	}
}

func TestNotTLSAndClosedPort(t *testing.T) {
	b := newBed(t)
	plain := testpki.StartHTTP(t, "127.0.0.1", nil)
	r := b.run(t, "https://a.test:"+plain.Port+"/")
	if st := step(t, r, "tls_versions"); st.Status != Fail || !strings.Contains(st.Summary, "plain HTTP") {
		t.Errorf("not TLS: %+v", st)
	}
	silent := testpki.StartSilent(t, "127.0.0.1")
	port := silent.Port
	silent.Close()
	r = b.run(t, "https://a.test:"+port+"/")
	if st := step(t, r, "connect"); st.Status != Fail || !strings.Contains(r.Fix, "listens on port") {
		t.Errorf("closed port: %+v, fix %q", st, r.Fix)
	}
}

func TestLegacyAndCiphers(t *testing.T) {
	b := newBed(t)
	s := testpki.StartTLS(t, "127.0.0.1", b.pki.FullChain(b.pki.Leaf(t, "old.test")), nil, func(c *tls.Config) {
		c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS10
		c.NextProtos = []string{"http/1.1"}
	})
	r := b.run(t, "https://old.test:"+s.Port+"/", httptrust.Rule{Hosts: []string{"old.test"}, AnchorCerts: anchors(b.pki.Root.Cert)})
	if st := step(t, r, "tls_versions"); st.Status != Warn || !strings.Contains(r.Fix, `min_tls`) {
		t.Errorf("TLS 1.0 server: %+v fix %q", st, r.Fix)
	}
	cbc := testpki.StartTLS(t, "127.0.0.1", b.pki.FullChain(b.pki.Leaf(t, "cbc.test")), nil, func(c *tls.Config) {
		c.MaxVersion = tls.VersionTLS12
		c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}
		c.NextProtos = []string{"http/1.1"}
	})
	r = b.run(t, "https://cbc.test:"+cbc.Port+"/", httptrust.Rule{Hosts: []string{"cbc.test"}, AnchorCerts: anchors(b.pki.Root.Cert)})
	if st := step(t, r, "cipher_suites"); st.Status != Fail || !strings.Contains(strings.Join(st.Details, " "), "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256") {
		t.Errorf("insecure-only suites: %+v", st)
	}
}

// A server that asks for a client certificate: refusing the handshake
// without one (TLS 1.3 alert, TLS 1.2 failure), or completing it and
// answering 400 to the request (nginx's ssl_verify_client on), is the
// failure, with the library's client-certificate remedy; a server that
// asks and answers anyway is a warning.
func TestClientCertificateAsked(t *testing.T) {
	for _, tt := range []struct {
		name       string
		auth       tls.ClientAuthType
		maxVersion uint16
		status     int
		certStep   string
		httpStep   string
		fails      bool
	}{
		{"TLS 1.3 required", tls.RequireAndVerifyClientCert, 0, 200, Fail, Skip, true},
		{"TLS 1.2 required", tls.RequireAndVerifyClientCert, tls.VersionTLS12, 200, Fail, Skip, true},
		{"TLS 1.2 asked, 400 without one", tls.RequestClientCert, tls.VersionTLS12, 400, Warn, Fail, true},
		{"TLS 1.3 asked, 403 without one", tls.RequestClientCert, 0, 403, Warn, Fail, true},
		{"asked, answered", tls.RequestClientCert, tls.VersionTLS12, 200, Warn, OK, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBed(t)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if len(r.TLS.PeerCertificates) == 0 {
					w.WriteHeader(tt.status)
				}
			})
			s := testpki.StartTLS(t, "127.0.0.1", b.pki.FullChain(b.pki.Leaf(t, "m.test")), h, func(c *tls.Config) {
				c.ClientAuth, c.ClientCAs, c.MaxVersion = tt.auth, b.pki.Pool(), tt.maxVersion
			})
			r := b.run(t, "https://m.test:"+s.Port+"/", httptrust.Rule{Hosts: []string{"m.test"}, AnchorCerts: anchors(b.pki.Root.Cert)})
			st := step(t, r, "client_certificate")
			if st.Status != tt.certStep || !strings.Contains(strings.Join(st.Details, " "), b.pki.Root.Cert.Subject.String()) {
				t.Errorf("client certificate step %+v, want %s with the acceptable issuers", st, tt.certStep)
			}
			if st := step(t, r, "http"); st.Status != tt.httpStep {
				t.Errorf("http step %+v, want %s", st, tt.httpStep)
			}
			if !tt.fails {
				if r.Remedy != nil {
					t.Errorf("fix %q, want nothing to fix", r.Fix)
				}
				return
			}
			if r.Cause != httptrust.ReasonClientCertRequired || r.Remedy == nil || r.Remedy.Action != httptrust.ActionClientCertificate || !strings.Contains(r.Fix, "httptrust get --cert") {
				t.Errorf("cause %v, fix %q: want the client-certificate remedy", r.Cause, r.Fix)
			}
		})
	}
}

func TestSelfSignedFix(t *testing.T) {
	b := newBed(t)
	s := testpki.StartTLS(t, "127.0.0.1", testpki.Chain(b.pki.SelfSigned(t, "dev.test")), nil)
	r := b.run(t, "https://dev.test:"+s.Port+"/")
	if r.Reason != httptrust.ReasonSelfSigned || !strings.Contains(r.Fix, "httptrust fetch") {
		t.Errorf("reason %q fix %q", r.Reason, r.Fix)
	}
}
