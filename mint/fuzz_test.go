package mint

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzNames checks that New either refuses a name as an invalid template or
// puts exactly that name into the certificate.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"a.test", "*.a.test", "127.0.0.1", "fd00::1", "", "*", "a..b", "bücher.test",
		"xn--bcher-kva.test", "[::1]", "a.test.", "::ffff:1.2.3.4", "1.2.3", "_srv.a.test", "-a-.test"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string, omitSAN bool) {
		c, err := New(Template{Names: []string{name}, OmitSAN: omitSAN, Key: key}, nil)
		if err != nil {
			if !errors.Is(err, ErrInvalidTemplate) {
				t.Fatalf("New(%q): %v, not an invalid template", name, err)
			}
			return
		}
		if c.Cert.Subject.CommonName != name {
			t.Errorf("CommonName = %q, want %q", c.Cert.Subject.CommonName, name)
		}
		switch ip := net.ParseIP(name); {
		case omitSAN:
			if len(c.Cert.DNSNames)+len(c.Cert.IPAddresses) != 0 {
				t.Errorf("OmitSAN certificate for %q has SANs", name)
			}
		case ip != nil:
			if len(c.Cert.IPAddresses) != 1 || !c.Cert.IPAddresses[0].Equal(ip) || len(c.Cert.DNSNames) != 0 {
				t.Errorf("IP %q: SAN = %v %q", name, c.Cert.IPAddresses, c.Cert.DNSNames)
			}
		default:
			if !slices.Equal(c.Cert.DNSNames, []string{name}) || len(c.Cert.IPAddresses) != 0 {
				t.Errorf("name %q: SAN = %v %q", name, c.Cert.IPAddresses, c.Cert.DNSNames)
			}
		}
	})
}

// FuzzLoadCA checks that LoadCA never panics on what a CA folder holds, and
// that a CA it returns is a CA with its own key.
func FuzzLoadCA(f *testing.F) {
	ca, err := New(Template{CommonName: "Fuzz CA", IsCA: true}, nil)
	if err != nil {
		f.Fatal(err)
	}
	keyPEM, err := ca.KeyPEM()
	if err != nil {
		f.Fatal(err)
	}
	leaf, err := New(Template{Names: []string{"a.test"}}, ca)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ca.CertPEM(), keyPEM)
	f.Add(leaf.CertPEM(), keyPEM)
	f.Add(ca.CertPEM(), []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n"), []byte{})
	f.Add([]byte{}, []byte{})
	f.Add([]byte("\x00\xff garbage"), keyPEM[:len(keyPEM)/2])
	f.Fuzz(func(t *testing.T, certData, keyData []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, CACertFile), certData, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, CAKeyFile), keyData, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := LoadCA(dir)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "mint: ") {
				t.Errorf("error %q lacks the mint: prefix", err)
			}
			return
		}
		if !got.Cert.IsCA || !samePublicKey(got.Key.Public(), got.Cert.PublicKey) {
			t.Error("LoadCA returned a CA that is not one, or with another key")
		}
	})
}
