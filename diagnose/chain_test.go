package diagnose

import (
	"crypto/tls"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/testpki"
)

// incompleteServer serves a leaf whose issuer URL gives the intermediate,
// without the intermediate.
func incompleteServer(t *testing.T, b *bed, host string) (srv *testpki.Server, issuerURL string, hits *atomic.Int64) {
	hits = new(atomic.Int64)
	issuer := testpki.StartHTTP(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Write(b.pki.Intermediate.DER)
	}))
	issuerURL = issuer.URL + "/int.der"
	leaf := b.pki.WithIssuerURL(t, issuerURL, host)
	return testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(leaf), nil), issuerURL, hits
}

// The server omits its intermediate and no rule trusts its root: both
// problems are named, and the fix trusts the root (from its operator) and
// then supplies the intermediate; it never sends the user to fetch, which
// would trust the leaf alone.
func TestUntrustedRootAndMissingIntermediate(t *testing.T) {
	root := "" // set below
	for _, tt := range []struct {
		name      string
		fetch     bool
		loopback  bool // the AIA fetcher may reach the loopback issuer
		wantText  []string
		wantCmds  []string
		forbidden []string
	}{
		{"not fetched", false, true,
			[]string{"two problems: no rule trusts a CA for a.test", "omits its intermediate"},
			[]string{"httptrust trust add '<CA certificate file from the operator>' --host a.test", "httptrust get --fetch-intermediates https://a.test:", "httptrust diagnose --fetch-intermediates"},
			[]string{"httptrust fetch "}},
		{"fetched", true, true,
			[]string{"two problems: no rule trusts \"ROOT\" for a.test", "omits its intermediate"},
			[]string{"httptrust trust add '<CA certificate file from the operator>' --host a.test", "httptrust get --fetch-intermediates https://a.test:"},
			[]string{"httptrust fetch ", "httptrust diagnose --fetch-intermediates"}},
		{"fetch refused", true, false,
			[]string{"two problems", "fetching it failed here", "openssl verify -CAfile"},
			[]string{"httptrust trust add '<CA certificate file from the operator>' --host a.test", "httptrust get --cacert '<root and intermediate PEM file>' https://a.test:"},
			[]string{"httptrust fetch ", "--fetch-intermediates"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBed(t)
			root = b.pki.Root.Cert.Subject.String()
			b.fetch = tt.fetch
			if !tt.loopback {
				b.mod = func(o *Options) { o.AIA = &httptrust.AIAFetcher{} }
			}
			s, _, _ := incompleteServer(t, b, "a.test")
			r := b.run(t, "https://a.test:"+s.Port+"/")
			if r.Reason != httptrust.ReasonIncompleteChain || r.Cause != httptrust.ReasonIncompleteChain {
				t.Errorf("reason %v cause %v", r.Reason, r.Cause)
			}
			if st := step(t, r, "verify_store"); !strings.Contains(strings.Join(st.Details, " "), "two problems") {
				t.Errorf("verify_store %+v does not name both problems", st)
			}
			if r.Remedy == nil {
				t.Fatal("no remedy")
			}
			text := r.Remedy.Text
			for _, w := range tt.wantText {
				if w = strings.ReplaceAll(w, "ROOT", root); !strings.Contains(text, w) {
					t.Errorf("remedy text %q lacks %q", text, w)
				}
			}
			lines := strings.Join(r.Remedy.Lines(), "\n")
			for _, w := range tt.wantCmds {
				if !strings.Contains(lines, w) {
					t.Errorf("commands %q lack %q", lines, w)
				}
			}
			for _, f := range tt.forbidden {
				if strings.Contains(lines, f) {
					t.Errorf("commands %q hold %q", lines, f)
				}
			}
		})
	}
}

// The root is trusted, the intermediate missing, and fetching it is
// refused (a loopback issuer URL): the fix is the manual route, not the
// --fetch-intermediates that was just refused.
func TestTrustedRootFetchRefused(t *testing.T) {
	b := newBed(t)
	b.fetch = true
	b.mod = func(o *Options) { o.AIA = &httptrust.AIAFetcher{} }
	s, _, hits := incompleteServer(t, b, "a.test")
	r := b.run(t, "https://a.test:"+s.Port+"/", httptrust.Rule{Hosts: []string{"a.test"}, AnchorCerts: anchors(b.pki.Root.Cert)})
	if hits.Load() != 0 {
		t.Errorf("the loopback issuer was fetched")
	}
	if st := step(t, r, "verify_store"); strings.Contains(strings.Join(st.Details, " "), "two problems") {
		t.Errorf("the trusted root is named a problem: %+v", st)
	}
	lines := strings.Join(r.Remedy.Lines(), "\n")
	if !strings.Contains(r.Remedy.Text, "fetching it failed here") || !strings.Contains(lines, "--cacert") || strings.Contains(lines, "--fetch-intermediates") {
		t.Errorf("fix %q", r.Fix)
	}
	if r.Remedy.Change != nil {
		t.Errorf("the change %v would fetch again", r.Remedy.Change)
	}
}

// A complete chain refused for another reason (an expiry, a name) is not
// said to miss its issuer; a server the store trusts is no warning for the
// system roots.
func TestNoFalseMissingIssuer(t *testing.T) {
	b := newBed(t)
	rule := func(h string) httptrust.Rule {
		return httptrust.Rule{Hosts: []string{h}, AnchorCerts: anchors(b.pki.Root.Cert)}
	}
	expired := testpki.StartTLS(t, "127.0.0.1", b.pki.FullChain(b.pki.Expired(t, "old.test")), nil)
	wrong := testpki.StartTLS(t, "127.0.0.1", b.pki.FullChain(b.pki.Leaf(t, "other.test")), nil)
	good := testpki.StartTLS(t, "127.0.0.1", b.pki.FullChain(b.pki.Leaf(t, "good.test")), nil)
	for _, tt := range []struct {
		host, port string
		reason     httptrust.Reason
	}{{"old.test", expired.Port, httptrust.ReasonExpired}, {"wrong.test", wrong.Port, httptrust.ReasonNameMismatch}, {"good.test", good.Port, httptrust.ReasonUnknown}} {
		r := b.run(t, "https://"+tt.host+":"+tt.port+"/", rule(tt.host))
		if r.Reason != tt.reason {
			t.Errorf("%s: reason %v, want %v", tt.host, r.Reason, tt.reason)
		}
		if st := step(t, r, "chain"); st.Status != OK || strings.Contains(st.Summary, "missing") || st.Summary != "2 certificates sent" {
			t.Errorf("%s: chain step %+v", tt.host, st)
		}
		if st := step(t, r, "verify_system"); (tt.reason == httptrust.ReasonUnknown) != (st.Status == OK) {
			t.Errorf("%s: verify_system %+v", tt.host, st)
		}
	}
}

// Suites Go does not offer are said so, not called insecure; a server
// with TLS 1.3 is not failed for its older suites.
func TestCipherWording(t *testing.T) {
	b := newBed(t)
	for _, tt := range []struct {
		name   string
		max    uint16
		status string
	}{{"cbc12", tls.VersionTLS12, Fail}, {"cbc13", 0, Warn}} {
		s := testpki.StartTLS(t, "127.0.0.1", b.pki.FullChain(b.pki.Leaf(t, tt.name+".test")), nil, func(c *tls.Config) {
			c.MaxVersion = tt.max
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}
			c.NextProtos = []string{"http/1.1"}
		})
		r := b.run(t, "https://"+tt.name+".test:"+s.Port+"/", httptrust.Rule{Hosts: []string{tt.name + ".test"}, AnchorCerts: anchors(b.pki.Root.Cert)})
		st := step(t, r, "cipher_suites")
		all := st.Summary + " " + strings.Join(st.Details, " ")
		if st.Status != tt.status || !strings.Contains(all, "Go does not offer it (so httptrust never uses it): TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256") || strings.Contains(all, "insecure") {
			t.Errorf("%s: cipher step %+v", tt.name, st)
		}
		if fromCipher := r.Cause == httptrust.ReasonProtocolMismatch; fromCipher != (tt.status == Fail) {
			t.Errorf("%s: cause %v, fix %q", tt.name, r.Cause, r.Fix)
		}
	}
	if !goOffers()[tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256] || goOffers()[tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256] || goOffers()[tls.TLS_RSA_WITH_AES_128_GCM_SHA256] {
		t.Errorf("Go's default offer read as %v", goOffers())
	}
}
