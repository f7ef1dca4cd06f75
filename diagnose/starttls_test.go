package diagnose

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/httptrust/httptrust"
	"github.com/httptrust/httptrust/internal/testpki"
)

// TestStartTLSServices: a TLS service that is not HTTPS gets every check
// but the HTTP request, through its STARTTLS, and its client certificate
// request is seen through STARTTLS too.
func TestStartTLSServices(t *testing.T) {
	for _, proto := range []string{"smtp", "imap", "ldap", "postgres"} {
		t.Run(proto, func(t *testing.T) {
			b := newBed(t)
			leaf := b.pki.Leaf(t, "svc.test")
			s := testpki.StartPlain(t, "127.0.0.1", proto, b.pki.FullChain(leaf), testpki.PlainOptions{
				TLS: func(c *tls.Config) { c.ClientAuth = tls.RequestClientCert }})
			r := b.run(t, proto+"://svc.test:"+s.Port, httptrust.Rule{Hosts: []string{"svc.test"}, AnchorCerts: anchors(b.pki.Root.Cert)})
			if r.Fix != NothingToFix {
				t.Errorf("fix %q; steps %+v", r.Fix, r.Steps)
			}
			for _, name := range []string{"tls_versions", "chain", "verify_store"} {
				if st := step(t, r, name); st.Status != OK {
					t.Errorf("%s: %s %q", name, st.Status, st.Summary)
				}
			}
			if st := step(t, r, "client_certificate"); !strings.Contains(st.Summary, "asks for a client certificate") {
				t.Errorf("client_certificate: %s %q", st.Status, st.Summary)
			}
			if st := step(t, r, "http"); st.Status != Skip || !strings.Contains(st.Summary, "not HTTPS") {
				t.Errorf("http: %s %q", st.Status, st.Summary)
			}
		})
	}
}

func TestStartTLSRefusedDiagnosed(t *testing.T) {
	b := newBed(t)
	s := testpki.StartPlain(t, "127.0.0.1", "smtp", testpki.LeafOnly(b.pki.SelfSigned(t, "mail.test")), testpki.PlainOptions{NoStartTLS: true})
	r := b.run(t, "smtp://mail.test:"+s.Port)
	if st := step(t, r, "tls_versions"); st.Status != Fail || !strings.Contains(st.Summary, "does not offer to start TLS") {
		t.Errorf("tls_versions: %s %q", st.Status, st.Summary)
	}
	if r.Remedy == nil {
		t.Error("no remedy")
	}
}

func TestTLSURLNeedsPort(t *testing.T) {
	b := newBed(t)
	r := b.run(t, "tls://svc.test")
	if st := step(t, r, "url"); st.Status != Fail {
		t.Errorf("url: %s %q", st.Status, st.Summary)
	}
}
