package export

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/httptrust/httptrust/mint"
)

// dnsLeaf returns a leaf (CA:FALSE, serverAuth) with exactly the DNS
// names dns, which mint refuses to write ("td.test."), signed by issuer
// or self-signed when issuer is nil.
func dnsLeaf(t *testing.T, issuer *mint.Cert, now time.Time, dns ...string) *mint.Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: dns[0]}, DNSNames: dns,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	parent, signer := tmpl, any(key)
	if issuer != nil {
		parent, signer = issuer.Cert, issuer.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &mint.Cert{Cert: c, Key: key, DER: der}
}

// TestTrailingDotCertificateNames: a certificate whose only DNS name is
// written with a trailing dot ("td.test.") does not match td.test in Go
// (and so in httptrust); OkHostnameVerifier would make both names
// absolute and match it. The okhttp client refuses it, as an exact
// certificate and under an anchor.
func TestTrailingDotCertificateNames(t *testing.T) {
	w := newWorld(t)
	p := w.pki
	exact := dnsLeaf(t, nil, p.Now, "td.test.")
	w.cert("root.pem", p.Root)
	w.cert("ex.pem", exact)
	w.file("rules.toml", `
[[rule]]
hosts = ["td.test"]
certificates = ["ex.pem"]
allow_expired = true

[[rule]]
hosts = ["ta.test"]
anchors = ["root.pem"]
system_roots = false
`)
	probes := []probe{
		w.serve("exact certificate named td.test.", "td.test", chainOf(exact), false),
		w.serve("anchor: a leaf named ta.test.", "ta.test", p.FullChain(dnsLeaf(t, p.Intermediate, p.Now, "ta.test.")), false),
		w.serve("anchor: a leaf named ta.test", "ta.test", p.FullChain(p.Leaf(t, "ta.test")), true),
		w.serve("anchor: a leaf named *.test (a wildcard Go matches)", "ta.test", p.FullChain(dnsLeaf(t, p.Intermediate, p.Now, "*.test")), true),
	}
	checkPolicy(t, w, probes)
	check(t, "okhttp", probes, runOkHttp(t, w.write(Options{Format: "okhttp"}), probes))
}

// TestTrailingDotExactRefused: curl, pem and java hold an exact
// certificate as an anchor and leave the name to the client, which may
// take "td.test." for td.test (curl does): an exact certificate whose
// only DNS names end in a dot is refused there for a host name.
func TestTrailingDotExactRefused(t *testing.T) {
	w := newWorld(t)
	w.cert("ex.pem", dnsLeaf(t, nil, w.pki.Now, "td.test.", "other.test."))
	w.file("rules.toml", "[[rule]]\nhosts = [\"td.test\"]\ncertificates = [\"ex.pem\"]\nallow_expired = true\n")
	for _, format := range []string{"curl", "pem", "java"} {
		_, err := w.tryBuild(Options{Format: format, AllowLossy: true})
		var e *Error
		if !errors.As(err, &e) || !e.Refused() || !strings.Contains(err.Error(), "trailing dot") {
			t.Errorf("%s: want a refusal for the trailing dot, got %v", format, err)
		}
	}
	// With allow_name_mismatch the name is not checked: nothing to refuse.
	w.file("rules.toml", "[[rule]]\nhosts = [\"td.test\"]\ncertificates = [\"ex.pem\"]\nallow_expired = true\nallow_name_mismatch = true\n")
	for _, format := range []string{"curl", "pem", "java"} {
		if _, err := w.tryBuild(Options{Format: format, AllowLossy: true}); err != nil && strings.Contains(err.Error(), "trailing dot") {
			t.Errorf("%s: refused for the trailing dot with allow_name_mismatch: %v", format, err)
		}
	}
}
