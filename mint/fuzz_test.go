package mint

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net"
	"slices"
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
