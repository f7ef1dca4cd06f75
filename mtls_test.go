package httptrust

import (
	"crypto/tls"
	"crypto/x509"
	"github.com/httptrust/httptrust/mint"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/httptrust/httptrust/internal/testpki"
)

// A client identity from a store, as a PKCS#12 file with its password in an
// environment variable, or as a PEM pair; offered to its rule's hosts only.
func TestClientIdentityFromStore(t *testing.T) {
	l := newLab(t)
	id := l.pki.ClientCert(t, "me")
	p12, err := pkcs12.Modern.WithIterations(2).Encode(id.Key, id.Cert, []*x509.Certificate{l.pki.Intermediate.Cert}, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	key, err := id.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	var seen atomic.Int64
	s := testpki.StartTLS(t, "127.0.0.1", l.pki.FullChain(l.pki.Leaf(t, "a.test", "b.test")),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(r.TLS.PeerCertificates) > 0 {
				seen.Add(1)
			}
		}),
		func(cfg *tls.Config) { cfg.ClientAuth = tls.RequireAndVerifyClientCert; cfg.ClientCAs = l.pki.Pool() })
	l.resolve["a.test"], l.resolve["b.test"] = "127.0.0.1", "127.0.0.1"
	root := string(l.pki.Root.CertPEM())
	stores := map[string]fstest.MapFS{
		"pkcs12": {
			"corp.toml": {Data: []byte("[[rule]]\nhosts = [\"a.test\"]\nanchors = [\"root.pem\"]\nclient_certificate = \"me.p12\"\nclient_password_env = \"ME_P12\"\n" +
				"[[rule]]\nhosts = [\"b.test\"]\nanchors = [\"root.pem\"]\n")},
			"root.pem": {Data: []byte(root)}, "me.p12": {Data: p12},
		},
		"pem pair": {
			"corp.toml": {Data: []byte("[[rule]]\nhosts = [\"a.test\"]\nanchors = [\"root.pem\"]\nclient_certificate = \"me.pem\"\nclient_key = \"me-key.pem\"\n" +
				"[[rule]]\nhosts = [\"b.test\"]\nanchors = [\"root.pem\"]\n")},
			"root.pem": {Data: []byte(root)}, "me.pem": {Data: append(id.CertPEM(), l.pki.Intermediate.CertPEM()...)}, "me-key.pem": {Data: key},
		},
	}
	for name, fsys := range stores {
		t.Run(name, func(t *testing.T) {
			o := l.opts()
			o.Getenv = func(k string) string {
				if k == "ME_P12" {
					return "s3cret"
				}
				return ""
			}
			p, err := LoadFS(fsys, o)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			before := seen.Load()
			c := l.client(p)
			wantOK(t, c, at(s, "a.test"))
			if seen.Load() != before+1 {
				t.Error("the client certificate was not sent to a.test")
			}
			wantReason(t, c, at(s, "b.test"), ReasonClientCertRequired)
		})
	}
	// A wrong password is a configuration problem, named as such.
	o := l.opts()
	o.Getenv = func(string) string { return "hunter2-bad" }
	p, err := LoadFS(stores["pkcs12"], o)
	if err != nil {
		t.Fatal(err)
	}
	e := wantReason(t, l.client(p), at(s, "a.test"), ReasonClientCertUnusable)
	mustContain(t, "detail", e.Detail, "me.p12", "password")
	notContain(t, "detail", e.Detail, "hunter2-bad")
}

func mustP12(t *testing.T, id, inter *mint.Cert, password string) []byte {
	t.Helper()
	p12, err := pkcs12.Modern.WithIterations(2).Encode(id.Key, id.Cert, []*x509.Certificate{inter.Cert}, password)
	if err != nil {
		t.Fatal(err)
	}
	return p12
}
