package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"sync"
	"testing"
	"time"
)

// fixture holds certificates and keys generated once per test binary.
type fixture struct {
	caKey, leafKey, otherKey *ecdsa.PrivateKey
	rsaKey                   *rsa.PrivateKey
	edKey                    ed25519.PrivateKey
	ca, leaf, other, edLeaf  *x509.Certificate
	csrDER, crlDER           []byte
}

var (
	fixOnce sync.Once
	fix     fixture
	fixErr  error
)

// testPKI returns a CA, a leaf it issued and a few keys, made at test time.
// The validity window is fixed around a point far from any clock so that
// nothing here depends on the time of the run.
func testPKI(t testing.TB) *fixture {
	t.Helper()
	fixOnce.Do(func() { fixErr = makeFixture(&fix) })
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return &fix
}

func makeFixture(f *fixture) error {
	var err error
	if f.caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return err
	}
	if f.leafKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return err
	}
	if f.otherKey, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		return err
	}
	if f.rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return err
	}
	if _, f.edKey, err = ed25519.GenerateKey(rand.Reader); err != nil {
		return err
	}
	if f.ca, err = issue("Test CA", true, f.caKey.Public(), nil, f.caKey); err != nil {
		return err
	}
	if f.leaf, err = issue("leaf.test", false, f.leafKey.Public(), f.ca, f.caKey); err != nil {
		return err
	}
	if f.other, err = issue("other.test", false, f.otherKey.Public(), f.ca, f.caKey); err != nil {
		return err
	}
	if f.edLeaf, err = issue("ed.test", false, f.edKey.Public(), f.ca, f.caKey); err != nil {
		return err
	}
	f.csrDER, err = x509.CreateCertificateRequest(rand.Reader,
		&x509.CertificateRequest{Subject: pkix.Name{CommonName: "printer"}}, f.leafKey)
	if err != nil {
		return err
	}
	f.crlDER, err = x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: fixedTime, NextUpdate: fixedTime.Add(time.Hour),
	}, f.ca, f.caKey)
	return err
}

var fixedTime = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// issue makes a certificate for pub, signed by parent (self-signed when nil).
func issue(cn string, isCA bool, pub crypto.PublicKey, parent *x509.Certificate, signer crypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             fixedTime.Add(-time.Hour),
		NotAfter:              fixedTime.Add(time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  isCA,
		DNSNames:              []string{cn},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// pemOf encodes der as one PEM block.
func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// pkcs8 returns key's PKCS#8 DER.
func mustPKCS8(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// sec1 returns key's SEC1 DER.
func mustSEC1(t testing.TB, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// cat concatenates byte slices.
func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// pw returns Options whose Password callback gives s.
func pw(s string) *Options {
	return &Options{Password: func() (string, error) { return s, nil }}
}

// toBER re-encodes the outer layers of a DER PKCS#7 (ContentInfo, its [0]
// and the SignedData) with indefinite lengths, as some tools write them.
func toBER(t testing.TB, der []byte) []byte {
	t.Helper()
	top, _, err := readElement(der, 0, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := children(top, 2)
	sd := children(c[1], 1)[0]
	indef := func(id byte, content ...[]byte) []byte {
		return cat(append(append([][]byte{{id, 0x80}}, content...), []byte{0, 0})...)
	}
	return indef(tagSequence, c[0].full, indef(tagContext0, indef(tagSequence, sd.body)))
}

// certNames lists the common names of certs.
func certNames(certs []*x509.Certificate) []string {
	var out []string
	for _, c := range certs {
		out = append(out, c.Subject.CommonName)
	}
	return out
}
