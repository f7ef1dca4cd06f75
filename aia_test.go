package httptrust

import (
	"crypto/x509"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/httptrust/httptrust/certs"
	"github.com/httptrust/httptrust/internal/testpki"
)

func TestFetchIntermediates(t *testing.T) {
	l := newLab(t)
	var fetches atomic.Int64
	issuer := testpki.StartHTTP(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		switch r.URL.Path {
		case "/int.der":
			w.Write(l.pki.Intermediate.DER)
		case "/int.p7c":
			w.Write(certs.EncodePKCS7([]*x509.Certificate{l.pki.Intermediate.Cert}))
		case "/redirect":
			http.Redirect(w, r, "/int.der", http.StatusFound)
		case "/big":
			w.Write(make([]byte, 1<<20))
		}
	}))
	mk := func(path string, opts func(*Options), rule Rule) (*http.Client, string) {
		leaf := l.pki.WithIssuerURL(t, issuer.URL+path, "a.test")
		s := testpki.StartTLS(t, "127.0.0.1", testpki.LeafOnly(leaf), nil)
		l.resolve["a.test"] = "127.0.0.1"
		o := l.opts()
		o.AIA = &AIAFetcher{AllowLoopback: true}
		if opts != nil {
			opts(o)
		}
		return l.client(mustPolicy(t, []Rule{rule}, o)), at(s, "a.test")
	}
	rule := Rule{Hosts: []string{"a.test"}, AnchorCerts: certsOf(l.pki.Root), FetchIntermediates: boolp(true)}

	for _, path := range []string{"/int.der", "/int.p7c"} {
		c, u := mk(path, nil, rule)
		wantOK(t, c, u)
	}
	// Off unless asked for.
	off := rule
	off.FetchIntermediates = nil
	c, u := mk("/int.der", nil, off)
	wantReason(t, c, u, ReasonIncompleteChain)
	c, u = mk("/int.der", func(o *Options) { o.FetchIntermediates = true }, off)
	wantOK(t, c, u)

	// Guards: loopback not allowed by default, no redirects, a size cap.
	for _, tc := range []struct {
		path string
		opts func(*Options)
		want string
	}{
		{"/int.der", func(o *Options) { o.AIA = &AIAFetcher{} }, "loopback"},
		{"/redirect", nil, "redirects"},
		{"/big", nil, "bytes"},
	} {
		c, u := mk(tc.path, tc.opts, rule)
		e := wantReason(t, c, u, ReasonIncompleteChain)
		if !strings.Contains(e.Detail, tc.want) {
			t.Errorf("%s: detail %q, want %q", tc.path, e.Detail, tc.want)
		}
	}

	// Never for a host whose rule pins exact certificates.
	before := fetches.Load()
	exact := Rule{Hosts: []string{"a.test"}, CertificateCerts: certsOf(l.pki.Root), FetchIntermediates: boolp(true)}
	c, u = mk("/int.der", nil, exact)
	if _, err := get(c, u); err == nil {
		t.Fatal("an exact-certificate rule accepted a CA-issued leaf")
	}
	if fetches.Load() != before {
		t.Error("fetched an issuer for an exact-certificate rule")
	}
}
