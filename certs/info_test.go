package certs

import (
	"crypto/rsa"
	"crypto/x509"
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
		{"IP SAN only", func(c *x509.Certificate) { c.DNSNames, c.IPAddresses = nil, []net.IP{net.IPv4(10, 0, 0, 1)} }, true, ""},
		{"no SAN on a CA", func(c *x509.Certificate) {
			c.DNSNames, c.IsCA, c.BasicConstraintsValid, c.KeyUsage = nil, true, true, x509.KeyUsageCertSign
		}, true, ""},
		{"CA:TRUE leaf", func(c *x509.Certificate) { c.IsCA, c.BasicConstraintsValid = true, true }, true, "CA:TRUE on a server certificate"},
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
