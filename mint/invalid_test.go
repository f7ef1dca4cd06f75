package mint

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

func TestInvalidTemplates(t *testing.T) {
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	now := time.Now()
	big21 := new(big.Int).Lsh(big.NewInt(1), 20*8)
	tests := []struct {
		name string
		tmpl Template
	}{
		{"leaf without names", Template{}},
		{"CA without CN", Template{IsCA: true, Names: []string{"a.test"}}},
		{"unknown key type", Template{Names: []string{"a.test"}, KeyType: 99}},
		{"negative key type", Template{Names: []string{"a.test"}, KeyType: -1}},
		{"NotAfter before NotBefore", Template{Names: []string{"a.test"}, NotBefore: now, NotAfter: now.Add(-time.Hour)}},
		{"NotAfter equals NotBefore", Template{Names: []string{"a.test"}, NotBefore: now, NotAfter: now}},
		{"NotAfter in the past, default NotBefore", Template{Names: []string{"a.test"}, NotAfter: now.Add(-2 * time.Hour)}},
		{"MaxPathLen below -1", Template{CommonName: "CA", IsCA: true, MaxPathLen: -2}},
		{"MaxPathLen on a leaf", Template{Names: []string{"a.test"}, MaxPathLen: 1}},
		{"constraints on a leaf", Template{Names: []string{"a.test"}, PermittedDNSDomains: []string{"a.test"}}},
		{"nil IP range", Template{CommonName: "CA", IsCA: true, PermittedIPRanges: []*net.IPNet{nil}}},
		{"malformed IP range", Template{CommonName: "CA", IsCA: true, PermittedIPRanges: []*net.IPNet{{IP: net.IP{1, 2, 3}, Mask: net.CIDRMask(8, 32)}}}},
		{"bad constraint domain", Template{CommonName: "CA", IsCA: true, ExcludedDNSDomains: []string{"*.a.test"}}},
		{"zero serial", Template{Names: []string{"a.test"}, SerialNumber: big.NewInt(0)}},
		{"negative serial", Template{Names: []string{"a.test"}, SerialNumber: big.NewInt(-5)}},
		{"21-octet serial", Template{Names: []string{"a.test"}, SerialNumber: big21}},
		{"OmitKeyUsage with KeyUsage", Template{Names: []string{"a.test"}, OmitKeyUsage: true, KeyUsage: x509.KeyUsageDigitalSignature}},
		{"Client without ClientAuth", Template{CommonName: "c", Client: true, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}},
		{"OmitSAN with two names", Template{Names: []string{"a.test", "b.test"}, OmitSAN: true}},
		{"OmitSAN with a different CN", Template{CommonName: "b.test", Names: []string{"a.test"}, OmitSAN: true}},
		{"OmitSAN on a CA", Template{CommonName: "CA", IsCA: true, OmitSAN: true}},
		{"Client on a CA", Template{CommonName: "CA", IsCA: true, Client: true}},
		{"P-521 key", Template{Names: []string{"a.test"}, Key: p521}},
		{"RSA-1024 key", Template{Names: []string{"a.test"}, Key: rsa1024}},
		{"key type mismatch", Template{Names: []string{"a.test"}, Key: p256, KeyType: RSA2048}},
		{"unsupported signer", Template{Names: []string{"a.test"}, Key: opaqueSigner{}}},
		{"empty name", Template{Names: []string{""}}},
		{"space in name", Template{Names: []string{"a b.test"}}},
		{"unicode name", Template{Names: []string{"bücher.test"}}},
		{"trailing dot", Template{Names: []string{"a.test."}}},
		{"empty label", Template{Names: []string{"a..test"}}},
		{"bare wildcard", Template{Names: []string{"*"}}},
		{"inner wildcard", Template{Names: []string{"a.*.test"}}},
		{"partial wildcard", Template{Names: []string{"f*.test"}}},
		{"long label", Template{Names: []string{strings.Repeat("a", 64) + ".test"}}},
		{"long name", Template{Names: []string{strings.Repeat("a.", 127) + "test"}}},
		{"bracketed IP", Template{Names: []string{"[::1]"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.tmpl, nil)
			if !errors.Is(err, ErrInvalidTemplate) {
				t.Fatalf("New = %v, %v; want an error wrapping ErrInvalidTemplate", c, err)
			}
			if !strings.HasPrefix(err.Error(), "mint: invalid template: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if verr := tt.tmpl.Validate(); verr == nil || verr.Error() != err.Error() {
				t.Errorf("Validate = %v, want New's error %v", verr, err)
			}
		})
	}
}

func TestValidNames(t *testing.T) {
	for _, n := range []string{"localhost", "a.test", "*.a.test", "*.x", "xn--bcher-kva.test", "under_score.test",
		"A.TEST", strings.Repeat("a", 63) + ".test", "192.168.1.20", "fd00::1", "::ffff:10.0.0.1"} {
		if _, err := New(Template{Names: []string{n}}, nil); err != nil {
			t.Errorf("name %q: %v", n, err)
		}
		if err := (Template{Names: []string{n}}).Validate(); err != nil {
			t.Errorf("Validate, name %q: %v", n, err)
		}
	}
}

// opaqueSigner is a crypto.Signer whose public key mint cannot use.
type opaqueSigner struct{}

func (opaqueSigner) Public() crypto.PublicKey { return struct{}{} }
func (opaqueSigner) Sign(_ io.Reader, _ []byte, _ crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("opaque")
}

func TestParentErrors(t *testing.T) {
	root := mustNew(t, Template{CommonName: "Root", IsCA: true, MaxPathLen: -1}, nil)
	other := mustNew(t, Template{CommonName: "Other", IsCA: true, MaxPathLen: -1}, nil)
	leaf := mustNew(t, Template{Names: []string{"a.test"}}, root)
	tests := []struct {
		name   string
		parent *Cert
	}{
		{"no certificate", &Cert{Key: root.Key}},
		{"no key", &Cert{Cert: root.Cert, DER: root.DER}},
		{"not a CA", leaf},
		{"key of another CA", &Cert{Cert: root.Cert, DER: root.DER, Key: other.Key}},
	}
	for _, tt := range tests {
		c, err := New(Template{Names: []string{"b.test"}}, tt.parent)
		if err == nil || !strings.HasPrefix(err.Error(), "mint: ") {
			t.Errorf("%s: New = %v, %v; want a mint error", tt.name, c, err)
		}
	}
}
