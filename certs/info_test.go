package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

func TestCertWarnings(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	base := func() *x509.Certificate {
		return &x509.Certificate{
			NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(1, 0, 0),
			SignatureAlgorithm: x509.ECDSAWithSHA256, DNSNames: []string{"device.test"},
		}
	}
	tests := []struct {
		name string
		mod  func(c *x509.Certificate)
		leaf bool
		want string // "" for no warning
	}{
		{"fine", func(c *x509.Certificate) {}, true, ""},
		{"expired", func(c *x509.Certificate) { c.NotAfter = now.AddDate(0, 0, -1) }, true, "expired on 2026-05-31"},
		{"not yet valid", func(c *x509.Certificate) { c.NotBefore = now.AddDate(0, 0, 1) }, true, "not valid until 2026-06-02"},
		{"expires soon", func(c *x509.Certificate) { c.NotAfter = now.AddDate(0, 0, 10) }, true, "expires within 30 days (2026-06-11)"},
		{"sha1", func(c *x509.Certificate) { c.SignatureAlgorithm = x509.SHA1WithRSA }, true, "signed with SHA-1"},
		{"rsa 1024", func(c *x509.Certificate) {
			c.PublicKey = &rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 1023), E: 65537}
		}, true, "RSA key of 1024 bits"},
		{"no SAN", func(c *x509.Certificate) { c.DNSNames = nil }, true, "no subjectAltName"},
		{"no SAN, a common name", func(c *x509.Certificate) { c.DNSNames, c.Subject.CommonName = nil, "127.0.0.1" }, true,
			`no subjectAltName: Go and browsers match no host name against it, not even its common name "127.0.0.1"`},
		{"IP SAN only", func(c *x509.Certificate) { c.DNSNames, c.IPAddresses = nil, []net.IP{net.IPv4(10, 0, 0, 1)} }, true, ""},
		{"no SAN on a CA", func(c *x509.Certificate) {
			c.DNSNames, c.IsCA, c.BasicConstraintsValid, c.KeyUsage = nil, true, true, x509.KeyUsageCertSign
		}, true, ""},
		{"no SAN on an openssl req -x509 root", func(c *x509.Certificate) {
			c.DNSNames, c.IsCA, c.BasicConstraintsValid, c.Subject.CommonName = nil, true, true, "Corp Root CA"
		}, true, ""},
		{"no SAN on an old device certificate", func(c *x509.Certificate) {
			c.DNSNames, c.IsCA, c.BasicConstraintsValid, c.Subject.CommonName = nil, true, true, "192.168.1.20"
		}, true, "no subjectAltName"},
		{"no SAN on a client certificate", func(c *x509.Certificate) {
			c.DNSNames, c.ExtKeyUsage, c.Subject.CommonName = nil, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, "alice"
		}, true, ""},
		{"no SAN, client and server", func(c *x509.Certificate) {
			c.DNSNames, c.ExtKeyUsage = nil, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}
		}, true, "no subjectAltName"},
		{"CA:TRUE leaf issued by another CA", func(c *x509.Certificate) { c.IsCA, c.BasicConstraintsValid = true, true }, true, "CA:TRUE on a server certificate that another CA issued"},
		{"CA:TRUE below the leaf", func(c *x509.Certificate) {
			c.IsCA, c.BasicConstraintsValid, c.KeyUsage = true, true, x509.KeyUsageCertSign
		}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.mod(c)
			got := strings.Join(warnings(c, tt.leaf, now), "; ")
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("warnings %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSelfSignedDeviceNoNoise: what openssl req -x509 makes for a device
// (CA:TRUE, a SAN, no key usage) gets no warning at all.
func TestSelfSignedDeviceNoNoise(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "nas.local"},
		NotBefore: fixedTime.Add(-time.Hour), NotAfter: fixedTime.Add(400 * 24 * time.Hour),
		BasicConstraintsValid: true, IsCA: true, DNSNames: []string{"nas.local"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	if w := Inspect(c, true, fixedTime).Warnings; len(w) != 0 {
		t.Errorf("warnings %q", w)
	}
}

func TestInspectFields(t *testing.T) {
	f := testPKI(t)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x0a1b2c), Subject: pkix.Name{CommonName: "api.test"},
		NotBefore: fixedTime.Add(-time.Hour), NotAfter: fixedTime.Add(10*24*time.Hour + time.Hour),
		DNSNames: []string{"api.test"}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{{1, 2, 3, 4}},
		SubjectKeyId:       []byte{0xde, 0xad, 0xbe, 0xef}, OCSPServer: []string{"http://ocsp.test/"},
		IssuingCertificateURL: []string{"http://ca.test/int.cer"}, CRLDistributionPoints: []string{"http://ca.test/int.crl"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.ca, key.Public(), f.caKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	v := Inspect(c, true, fixedTime)
	sum := sha1.Sum(der)
	checks := []struct{ name, got, want string }{
		{"serial", v.Serial, "0A:1B:2C"},
		{"days left", fmt.Sprint(v.DaysLeft), "10"},
		{"key usage", strings.Join(v.KeyUsage, ","), "digitalSignature,keyEncipherment"},
		{"ext key usage", strings.Join(v.ExtKeyUsage, ","), "serverAuth,clientAuth,1.2.3.4"},
		{"subject key id", v.SubjectKeyID, "DE:AD:BE:EF"},
		{"authority key id", v.AuthorityKeyID, ColonHex(f.ca.SubjectKeyId)},
		{"ocsp", strings.Join(v.OCSPServers, ","), "http://ocsp.test/"},
		{"issuer urls", strings.Join(v.IssuerURLs, ","), "http://ca.test/int.cer"},
		{"crl urls", strings.Join(v.CRLURLs, ","), "http://ca.test/int.crl"},
		{"sha1", v.SHA1, hex.EncodeToString(sum[:])},
		{"sha1 colon", v.SHA1Colon, ColonHex(sum[:])},
		{"sha256 colon", v.SHA256Colon, CertFingerprint(c).Colon()},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s: %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if got := Inspect(c, true, fixedTime.Add(12*24*time.Hour)).DaysLeft; got != -2 {
		t.Errorf("days left after expiry: %d, want -2", got)
	}
}

func TestColonHex(t *testing.T) {
	for _, tt := range []struct {
		in   []byte
		want string
	}{{nil, ""}, {[]byte{0}, "00"}, {[]byte{0xdc, 0xfa, 0x49}, "DC:FA:49"}} {
		if got := ColonHex(tt.in); got != tt.want {
			t.Errorf("ColonHex(%x) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
