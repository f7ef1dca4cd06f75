package mint

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestPEMRoundTrip(t *testing.T) {
	for _, kt := range []KeyType{ECDSAP256, Ed25519, RSA2048} {
		c := mustNew(t, Template{Names: []string{"a.test"}, KeyType: kt}, nil)
		keyPEM, err := c.KeyPEM()
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := pem.Decode(keyPEM); b == nil || b.Type != "PRIVATE KEY" {
			t.Errorf("%v: key PEM is not a PKCS #8 PRIVATE KEY block", kt)
		}
		if b, _ := pem.Decode(c.CertPEM()); b == nil || b.Type != "CERTIFICATE" || !bytes.Equal(b.Bytes, c.DER) {
			t.Errorf("%v: certificate PEM does not hold the DER", kt)
		}
		if _, err := tls.X509KeyPair(c.CertPEM(), keyPEM); err != nil {
			t.Errorf("%v: X509KeyPair: %v", kt, err)
		}
	}
}

func TestKeyPEMErrors(t *testing.T) {
	c := mustNew(t, Template{Names: []string{"a.test"}}, nil)
	if _, err := (&Cert{Cert: c.Cert, DER: c.DER}).KeyPEM(); err == nil {
		t.Error("KeyPEM without a key: nil error")
	}
	wrapped := &Cert{Cert: c.Cert, DER: c.DER, Key: hiddenSigner{c.Key.(*ecdsa.PrivateKey)}}
	_, err := wrapped.KeyPEM()
	if err == nil || !strings.HasPrefix(err.Error(), "mint: ") {
		t.Fatalf("KeyPEM of an opaque signer = %v, want a mint error", err)
	}
	assertNoKey(t, c, err.Error())
}

// hiddenSigner is a signer whose private key cannot be exported, like a
// hardware key; it still prints its contents under %v.
type hiddenSigner struct{ *ecdsa.PrivateKey }

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	c := mustNew(t, Template{Names: []string{"a.test"}}, nil)
	// An existing, too-open key file is replaced with a 0600 one.
	if err := os.WriteFile(filepath.Join(dir, "dev-key.pem"), []byte("old"), 0o666); err != nil {
		t.Fatal(err)
	}
	certPath, keyPath, err := c.WriteFiles(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if certPath != filepath.Join(dir, "dev.pem") || keyPath != filepath.Join(dir, "dev-key.pem") {
		t.Errorf("paths = %s, %s", certPath, keyPath)
	}
	if _, err := tls.LoadX509KeyPair(certPath, keyPath); err != nil {
		t.Errorf("LoadX509KeyPair: %v", err)
	}
	if runtime.GOOS != "windows" {
		for path, want := range map[string]os.FileMode{certPath: 0o644, keyPath: 0o600} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s: mode %v, want %v", filepath.Base(path), got, want)
			}
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries, want 2 (no temporary files left)", len(entries))
	}
}

func TestWriteFilesCurrentDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	c := mustNew(t, Template{Names: []string{"a.test"}}, nil)
	certPath, keyPath, err := c.WriteFiles("", "dev")
	if err != nil {
		t.Fatal(err)
	}
	if certPath != "dev.pem" || keyPath != "dev-key.pem" {
		t.Errorf("paths = %s, %s", certPath, keyPath)
	}
	if _, err := os.Stat(filepath.Join(dir, "dev-key.pem")); err != nil {
		t.Error(err)
	}
}

func TestWriteFilesErrors(t *testing.T) {
	c := mustNew(t, Template{Names: []string{"a.test"}}, nil)
	for _, base := range []string{"", ".", "..", "a/b", `a\b`} {
		if _, _, err := c.WriteFiles(t.TempDir(), base); err == nil {
			t.Errorf("base %q: nil error", base)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing")
	_, _, err := c.WriteFiles(missing, "dev")
	if err == nil {
		t.Fatal("missing directory: nil error")
	}
	assertNoKey(t, c, err.Error())
	if _, _, err := (&Cert{Cert: c.Cert, DER: c.DER}).WriteFiles(t.TempDir(), "dev"); err == nil {
		t.Error("no key: nil error")
	}
	// The key's target is a directory: the rename fails and no temporary file stays.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "dev-key.pem"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.WriteFiles(dir, "dev")
	if err == nil {
		t.Fatal("key path is a directory: nil error")
	}
	assertNoKey(t, c, err.Error())
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after a failed write, want 1", len(entries))
	}
}

// assertNoKey fails if s contains c's private key in any common encoding.
func assertNoKey(t *testing.T, c *Cert, s string) {
	t.Helper()
	keyPEM, err := c.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(keyPEM)
	forms := []string{string(keyPEM), fmt.Sprintf("%x", b.Bytes), fmt.Sprint(b.Bytes)}
	switch k := c.Key.(type) {
	case *ecdsa.PrivateKey:
		d, _ := k.Bytes()
		forms = append(forms, fmt.Sprintf("%x", d), new(big.Int).SetBytes(d).String())
	case ed25519.PrivateKey:
		forms = append(forms, fmt.Sprintf("%x", k.Seed()), fmt.Sprint([]byte(k.Seed())))
	}
	for _, f := range forms {
		if strings.Contains(s, f) {
			t.Fatalf("output contains the private key: %q", s)
		}
	}
}

func TestFormattingNeverShowsKey(t *testing.T) {
	for _, kt := range []KeyType{ECDSAP256, Ed25519} {
		c := mustNew(t, Template{CommonName: "fmt.test", KeyType: kt}, nil)
		out := fmt.Sprintf("%v %+v %#v %s %v %+v", c, c, c, c, *c, []*Cert{c})
		assertNoKey(t, c, out)
		if !strings.Contains(c.String(), "CN=fmt.test") {
			t.Errorf("String() = %q, want the subject", c.String())
		}
	}
	if got := (Cert{}).String(); got != "mint.Cert(empty)" {
		t.Errorf("empty Cert String() = %q", got)
	}
}

func TestTLSCertificateAndPool(t *testing.T) {
	root, inter, leaf := pki(t, ECDSAP256, "a.test")
	tc := leaf.TLSCertificate(inter, nil, root)
	if len(tc.Certificate) != 3 || !bytes.Equal(tc.Certificate[0], leaf.DER) ||
		!bytes.Equal(tc.Certificate[1], inter.DER) || !bytes.Equal(tc.Certificate[2], root.DER) {
		t.Fatal("chain is not leaf, intermediate, root")
	}
	if tc.Leaf != leaf.Cert || tc.PrivateKey != leaf.Key {
		t.Error("Leaf or PrivateKey not set")
	}
	inters := x509.NewCertPool()
	for _, der := range tc.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		inters.AddCert(c)
	}
	if _, err := tc.Leaf.Verify(x509.VerifyOptions{Roots: root.Pool(), Intermediates: inters, DNSName: "a.test"}); err != nil {
		t.Errorf("verify served chain: %v", err)
	}
	if _, err := tc.Leaf.Verify(x509.VerifyOptions{Roots: inter.Pool(), DNSName: "a.test"}); err != nil {
		t.Errorf("intermediate pool as root: %v", err)
	}
	if (&Cert{}).Pool() == nil {
		t.Error("Pool of an empty Cert is nil")
	}
}
