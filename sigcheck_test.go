package httptrust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// badSignature returns der with the last byte of its signature changed:
// a certificate Go parses and whose signature does not verify.
func badSignature(t *testing.T, der []byte) []byte {
	t.Helper()
	var c struct {
		TBS asn1.RawValue
		Alg asn1.RawValue
		Sig asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &c); err != nil {
		t.Fatal(err)
	}
	c.Sig.Bytes[len(c.Sig.Bytes)-1] ^= 1
	out, err := asn1.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUnverifiedSignatureNamed: a certificate whose issuer the server sent
// or the rule trusts, and whose signature Go cannot verify with that
// issuer's key, is refused as an unknown authority that says so, not as
// an issuer "the server did not send".
func TestUnverifiedSignatureNamed(t *testing.T) {
	l := newLab(t)
	p := l.pki
	underRoot := p.LeafFrom(t, p.Root, "root.sig.test")
	underInter := p.Leaf(t, "inter.sig.test")
	s1 := l.serve(tls.Certificate{Certificate: [][]byte{badSignature(t, underRoot.DER)}, PrivateKey: underRoot.Key}, "root.sig.test")
	s2 := l.serve(tls.Certificate{Certificate: [][]byte{badSignature(t, underInter.DER), p.Intermediate.DER}, PrivateKey: underInter.Key}, "inter.sig.test")
	c := l.client(l.policy(l.anchored("root.sig.test", "inter.sig.test")))
	for _, tc := range []struct {
		url, where string
	}{
		{at(s1, "root.sig.test"), "(an anchor of this host's rule)"},
		{at(s2, "inter.sig.test"), "(one the server sent)"},
	} {
		e := wantReason(t, c, tc.url, ReasonUnknownAuthority)
		if !strings.Contains(e.Detail, "does not verify with that certificate's key") || !strings.Contains(e.Detail, tc.where) ||
			strings.Contains(e.Detail, "did not send") || strings.Contains(e.Detail, "is issued by") {
			t.Errorf("%s: %q", tc.url, e.Detail)
		}
	}
}

// TestUnverifiedSignatureAlgorithmNamed: an intermediate the rule's
// anchor signed RSA-PSS with a 20-byte salt (Go verifies RSA-PSS only
// with a salt as long as the hash) is refused with that said, not as an
// issuer the server did not send. openssl makes it (Go cannot).
func TestUnverifiedSignatureAlgorithmNamed(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed: it makes the RSA-PSS intermediate")
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(openssl, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	write := func(name, data string) { must(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600)) }
	run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "root.key", "-out", "root.pem", "-subj", "/CN=PSS Root", "-days", "2",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	write("ca.ext", "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
	run("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", "int.key", "-subj", "/CN=PSS salt 20 Intermediate", "-out", "int.csr")
	run("x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key", "-set_serial", "2", "-days", "1", "-extfile", "ca.ext",
		"-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:20", "-out", "int.pem")
	write("leaf.ext", "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:pss.sig.test\n")
	run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "leaf.key", "-subj", "/CN=pss.sig.test", "-out", "leaf.csr")
	run("x509", "-req", "-in", "leaf.csr", "-CA", "int.pem", "-CAkey", "int.key", "-set_serial", "3", "-days", "1", "-extfile", "leaf.ext", "-sha256", "-out", "leaf.pem")
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "leaf.pem"), filepath.Join(dir, "leaf.key"))
	if err != nil {
		t.Fatal(err)
	}
	inter, err := os.ReadFile(filepath.Join(dir, "int.pem"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(inter)
	pair.Certificate = append(pair.Certificate, b.Bytes)
	rootPEM, err := os.ReadFile(filepath.Join(dir, "root.pem"))
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := pem.Decode(rootPEM)
	root, err := x509.ParseCertificate(rb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	l := newLab(t)
	s := l.serve(pair, "pss.sig.test")
	c := l.client(l.policy(Rule{Hosts: []string{"pss.sig.test"}, AnchorCerts: []*x509.Certificate{root}}))
	e := wantReason(t, c, at(s, "pss.sig.test"), ReasonUnknownAuthority)
	for _, want := range []string{"PSS salt 20 Intermediate", "an anchor of this host's rule", "Go does not verify that signature algorithm", "RSA-PSS"} {
		if !strings.Contains(e.Detail, want) {
			t.Errorf("detail %q lacks %q", e.Detail, want)
		}
	}
	if strings.Contains(e.Detail, "did not send") {
		t.Errorf("detail %q says the server did not send what it sent", e.Detail)
	}
}

// TestUnverifiedSignatureBounded: a server that sends, beside its leaf,
// hundreds of certificates off its path, each checked by every one of the
// others (CN=P issued by CN=Q and back, each verified only by the last of
// the other name), costs the signature checks of the path up from the
// leaf, not one per pair.
func TestUnverifiedSignatureBounded(t *testing.T) {
	l := newLab(t)
	p := l.pki
	leaf := p.Leaf(t, "many.sig.test")
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	kP, kQ, junk := key(), key(), key()
	const n = 300
	mesh := func(subject, issuer string, last, signer *ecdsa.PrivateKey) (out [][]byte) {
		for i := range n {
			pub := &junk.PublicKey
			if i == n-1 {
				pub = &last.PublicKey
			}
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i + 2)), Subject: pkix.Name{CommonName: subject},
				NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
				IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, &x509.Certificate{Subject: pkix.Name{CommonName: issuer}}, pub, signer)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, der)
		}
		return out
	}
	chain := append([][]byte{leaf.DER}, mesh("P", "Q", kP, kQ)...)
	chain = append(chain, mesh("Q", "P", kQ, kP)...)
	s := l.serve(tls.Certificate{Certificate: chain, PrivateKey: leaf.Key}, "many.sig.test")
	c := l.client(l.policy(Rule{Hosts: []string{"many.sig.test"}, AnchorCerts: []*x509.Certificate{p.OtherRoot(t).Cert}}))
	start := time.Now()
	wantReason(t, c, at(s, "many.sig.test"), ReasonUnknownAuthority)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("the refusal took %v", d)
	}
}
