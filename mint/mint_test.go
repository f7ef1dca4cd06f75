package mint

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"net"
	"slices"
	"testing"
	"time"
)

func mustNew(t testing.TB, tmpl Template, parent *Cert) *Cert {
	t.Helper()
	c, err := New(tmpl, parent)
	if err != nil {
		t.Fatalf("New(%+v): %v", tmpl.Names, err)
	}
	return c
}

// pki returns a root, an intermediate and a leaf for names, all of type kt.
func pki(t testing.TB, kt KeyType, names ...string) (root, inter, leaf *Cert) {
	t.Helper()
	root = mustNew(t, Template{CommonName: "Test Root", IsCA: true, MaxPathLen: -1, KeyType: kt}, nil)
	inter = mustNew(t, Template{CommonName: "Test Intermediate", IsCA: true, KeyType: kt}, root)
	leaf = mustNew(t, Template{Names: names, KeyType: kt}, inter)
	return root, inter, leaf
}

func verify(c *Cert, root *Cert, name string, inters ...*Cert) error {
	opts := x509.VerifyOptions{Roots: root.Pool(), Intermediates: x509.NewCertPool(), DNSName: name}
	for _, i := range inters {
		opts.Intermediates.AddCert(i.Cert)
	}
	_, err := c.Cert.Verify(opts)
	return err
}

func TestChainVerifiesForEveryKeyType(t *testing.T) {
	for _, kt := range []KeyType{ECDSAP256, ECDSAP384, Ed25519, RSA2048, RSA3072, RSA4096} {
		t.Run(kt.String(), func(t *testing.T) {
			t.Parallel()
			root, inter, leaf := pki(t, kt, "device.test", "*.apps.test", "127.0.0.1", "::1")
			for _, name := range []string{"device.test", "x.apps.test", "127.0.0.1", "::1"} {
				if err := verify(leaf, root, name, inter); err != nil {
					t.Errorf("verify %s: %v", name, err)
				}
			}
			if err := verify(leaf, root, "other.test", inter); err == nil {
				t.Error("verify other.test: got nil error, want a name mismatch")
			}
			if err := verify(leaf, root, "device.test"); err == nil {
				t.Error("verify without the intermediate: got nil error")
			}
			got, err := keyTypeOf(leaf.Cert.PublicKey)
			if err != nil || got != kt {
				t.Errorf("leaf key type = %v, %v; want %v", got, err, kt)
			}
		})
	}
}

func TestSANSplitsNamesAndIPs(t *testing.T) {
	c := mustNew(t, Template{Names: []string{"a.test", "10.0.0.1", "*.b.test", "fd00::1"}}, nil)
	if got, want := c.Cert.DNSNames, []string{"a.test", "*.b.test"}; !slices.Equal(got, want) {
		t.Errorf("DNSNames = %q, want %q", got, want)
	}
	if len(c.Cert.IPAddresses) != 2 || !c.Cert.IPAddresses[0].Equal(net.ParseIP("10.0.0.1")) ||
		!c.Cert.IPAddresses[1].Equal(net.ParseIP("fd00::1")) {
		t.Errorf("IPAddresses = %v", c.Cert.IPAddresses)
	}
	if got := c.Cert.Subject.CommonName; got != "a.test" {
		t.Errorf("CommonName = %q, want the first name", got)
	}
}

func TestDefaults(t *testing.T) {
	before := time.Now().Truncate(time.Second)
	root := mustNew(t, Template{CommonName: "Root", IsCA: true, MaxPathLen: -1}, nil)
	leaf := mustNew(t, Template{Names: []string{"a.test"}}, root)
	rsaLeaf := mustNew(t, Template{Names: []string{"a.test"}, KeyType: RSA2048}, root)
	client := mustNew(t, Template{CommonName: "alice", Client: true}, root)
	after := time.Now()

	tests := []struct {
		name   string
		c      *Cert
		ku     x509.KeyUsage
		eku    []x509.ExtKeyUsage
		isCA   bool
		period time.Duration
	}{
		{"root", root, x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature, nil, true, 0},
		{"leaf", leaf, x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, false, LeafValidity},
		{"rsa leaf", rsaLeaf, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, false, LeafValidity},
		{"client", client, x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, false, LeafValidity},
	}
	for _, tt := range tests {
		c := tt.c.Cert
		if c.KeyUsage != tt.ku {
			t.Errorf("%s: KeyUsage = %v, want %v", tt.name, c.KeyUsage, tt.ku)
		}
		if !slices.Equal(c.ExtKeyUsage, tt.eku) {
			t.Errorf("%s: ExtKeyUsage = %v, want %v", tt.name, c.ExtKeyUsage, tt.eku)
		}
		if !c.BasicConstraintsValid || c.IsCA != tt.isCA {
			t.Errorf("%s: basic constraints valid=%v CA=%v, want CA=%v", tt.name, c.BasicConstraintsValid, c.IsCA, tt.isCA)
		}
		if c.NotBefore.Before(before.Add(-Backdate)) || c.NotBefore.After(after.Add(-Backdate)) {
			t.Errorf("%s: NotBefore = %v, want about an hour before %v", tt.name, c.NotBefore, before)
		}
		wantEnd := before.Add(tt.period)
		if tt.isCA {
			wantEnd = before.AddDate(CAYears, 0, 0)
		}
		if c.NotAfter.Before(wantEnd) || c.NotAfter.After(after.Add(time.Second).Add(wantEnd.Sub(before))) {
			t.Errorf("%s: NotAfter = %v, want about %v", tt.name, c.NotAfter, wantEnd)
		}
		if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
			t.Errorf("%s: serial %v is not a positive 128-bit number", tt.name, c.SerialNumber)
		}
		if want, _ := subjectKeyID(c.PublicKey); !bytes.Equal(c.SubjectKeyId, want) {
			t.Errorf("%s: SubjectKeyId = %x, want %x", tt.name, c.SubjectKeyId, want)
		}
		if tt.c != root && !bytes.Equal(c.AuthorityKeyId, root.Cert.SubjectKeyId) {
			t.Errorf("%s: AuthorityKeyId = %x, want the root's %x", tt.name, c.AuthorityKeyId, root.Cert.SubjectKeyId)
		}
	}
	if leaf.Cert.SerialNumber.Cmp(rsaLeaf.Cert.SerialNumber) == 0 {
		t.Error("two certificates got the same serial number")
	}
}

func TestMaxPathLen(t *testing.T) {
	tests := []struct {
		in       int
		wantLen  int
		wantZero bool
	}{
		{-1, -1, false},
		{0, 0, true},
		{2, 2, false},
	}
	for _, tt := range tests {
		c := mustNew(t, Template{CommonName: "CA", IsCA: true, MaxPathLen: tt.in}, nil).Cert
		if c.MaxPathLen != tt.wantLen || c.MaxPathLenZero != tt.wantZero {
			t.Errorf("MaxPathLen %d: got %d zero=%v, want %d zero=%v", tt.in, c.MaxPathLen, c.MaxPathLenZero, tt.wantLen, tt.wantZero)
		}
	}
	// A pathlen:0 intermediate cannot issue another CA that issues leaves.
	root := mustNew(t, Template{CommonName: "Root", IsCA: true, MaxPathLen: -1}, nil)
	inter := mustNew(t, Template{CommonName: "Inter", IsCA: true}, root)
	sub := mustNew(t, Template{CommonName: "Sub", IsCA: true}, inter)
	leaf := mustNew(t, Template{Names: []string{"a.test"}}, sub)
	var invalidErr x509.CertificateInvalidError
	if err := verify(leaf, root, "a.test", inter, sub); !errors.As(err, &invalidErr) || invalidErr.Reason != x509.TooManyIntermediates {
		t.Errorf("verify through a pathlen:0 CA: got %v, want TooManyIntermediates", err)
	}
}

func TestNameConstraints(t *testing.T) {
	_, ipNet, _ := net.ParseCIDR("10.1.0.0/16")
	_, exNet, _ := net.ParseCIDR("10.1.2.0/24")
	root := mustNew(t, Template{CommonName: "Root", IsCA: true, MaxPathLen: -1}, nil)
	ca := mustNew(t, Template{
		CommonName:          "Constrained",
		IsCA:                true,
		PermittedDNSDomains: []string{"corp.test"},
		ExcludedDNSDomains:  []string{"secret.corp.test"},
		PermittedIPRanges:   []*net.IPNet{ipNet},
		ExcludedIPRanges:    []*net.IPNet{exNet},
	}, root)
	c := ca.Cert
	if !slices.Equal(c.PermittedDNSDomains, []string{"corp.test"}) || !slices.Equal(c.ExcludedDNSDomains, []string{"secret.corp.test"}) {
		t.Errorf("DNS constraints = %q / %q", c.PermittedDNSDomains, c.ExcludedDNSDomains)
	}
	if len(c.PermittedIPRanges) != 1 || c.PermittedIPRanges[0].String() != "10.1.0.0/16" ||
		len(c.ExcludedIPRanges) != 1 || c.ExcludedIPRanges[0].String() != "10.1.2.0/24" {
		t.Errorf("IP constraints = %v / %v", c.PermittedIPRanges, c.ExcludedIPRanges)
	}
	if !c.PermittedDNSDomainsCritical {
		t.Error("name constraints are not critical")
	}
	tests := []struct {
		name string
		ok   bool
	}{
		{"host.corp.test", true},
		{"corp.test", true},
		{"10.1.9.9", true},
		{"host.secret.corp.test", false},
		{"bank.test", false},
		{"10.1.2.3", false},
		{"10.2.0.1", false},
	}
	for _, tt := range tests {
		leaf := mustNew(t, Template{Names: []string{tt.name}}, ca)
		err := verify(leaf, root, tt.name, ca)
		var invalidErr x509.CertificateInvalidError
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case !tt.ok && (!errors.As(err, &invalidErr) || invalidErr.Reason != x509.CANotAuthorizedForThisName):
			t.Errorf("%s: got %v, want CANotAuthorizedForThisName", tt.name, err)
		}
	}
}

var oidSAN = asn1.ObjectIdentifier{2, 5, 29, 17}
var oidKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 15}

func hasExtension(c *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	return slices.ContainsFunc(c.Extensions, func(e pkix.Extension) bool { return e.Id.Equal(oid) })
}

func TestCNOnly(t *testing.T) {
	root := mustNew(t, Template{CommonName: "Root", IsCA: true, MaxPathLen: -1}, nil)
	for _, tmpl := range []Template{
		{Names: []string{"legacy.test"}, OmitSAN: true},
		{CommonName: "legacy.test", OmitSAN: true},
		{CommonName: "legacy.test", Names: []string{"legacy.test"}, OmitSAN: true},
	} {
		leaf := mustNew(t, tmpl, root)
		c := leaf.Cert
		if hasExtension(c, oidSAN) || len(c.DNSNames)+len(c.IPAddresses) != 0 {
			t.Errorf("%+v: certificate has a subjectAltName", tmpl)
		}
		if c.Subject.CommonName != "legacy.test" {
			t.Errorf("%+v: CommonName = %q", tmpl, c.Subject.CommonName)
		}
		var hostErr x509.HostnameError
		if err := verify(leaf, root, "legacy.test"); !errors.As(err, &hostErr) {
			t.Errorf("%+v: verify = %v, want a HostnameError (Go ignores the CN)", tmpl, err)
		}
	}
}

func TestExplicitFields(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial := big.NewInt(4242)
	nb := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	na := nb.Add(48 * time.Hour)
	c := mustNew(t, Template{
		CommonName:            "explicit",
		Names:                 []string{"e.test"},
		NotBefore:             nb,
		NotAfter:              na,
		Key:                   key,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage:              x509.KeyUsageKeyAgreement,
		Organization:          "Example Org",
		SerialNumber:          serial,
		IssuingCertificateURL: []string{"http://127.0.0.1:1/ca.der"},
		SubjectKeyId:          []byte{1, 2, 3},
	}, nil).Cert
	if !c.PublicKey.(*ecdsa.PublicKey).Equal(&key.PublicKey) {
		t.Error("certificate does not carry the given key")
	}
	if c.Subject.CommonName != "explicit" || !slices.Equal(c.Subject.Organization, []string{"Example Org"}) {
		t.Errorf("Subject = %v", c.Subject)
	}
	if !c.NotBefore.Equal(nb) || !c.NotAfter.Equal(na) {
		t.Errorf("validity = %v to %v, want %v to %v", c.NotBefore, c.NotAfter, nb, na)
	}
	if c.SerialNumber.Cmp(serial) != 0 || !bytes.Equal(c.SubjectKeyId, []byte{1, 2, 3}) {
		t.Errorf("serial %v, SKI %x", c.SerialNumber, c.SubjectKeyId)
	}
	if c.KeyUsage != x509.KeyUsageKeyAgreement || !slices.Equal(c.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("usages = %v / %v", c.KeyUsage, c.ExtKeyUsage)
	}
	if !slices.Equal(c.IssuingCertificateURL, []string{"http://127.0.0.1:1/ca.der"}) {
		t.Errorf("IssuingCertificateURL = %q", c.IssuingCertificateURL)
	}
	// A NotBefore in the future moves the default NotAfter with it.
	late := mustNew(t, Template{Names: []string{"l.test"}, NotBefore: nb}, nil).Cert
	if !late.NotAfter.Equal(nb.Add(LeafValidity)) {
		t.Errorf("NotAfter = %v, want NotBefore + LeafValidity", late.NotAfter)
	}
}

func TestOmitKeyUsage(t *testing.T) {
	c := mustNew(t, Template{CommonName: "openssl style", Names: []string{"dev.test"}, IsCA: true, MaxPathLen: -1, OmitKeyUsage: true}, nil)
	if hasExtension(c.Cert, oidKeyUsage) || c.Cert.KeyUsage != 0 {
		t.Errorf("KeyUsage = %v, want no extension", c.Cert.KeyUsage)
	}
	if err := verify(c, c, "dev.test"); err != nil {
		t.Errorf("self-signed CA as its own root: %v", err)
	}
}

func TestGivenKeyTypes(t *testing.T) {
	ed, edKey, _ := ed25519.GenerateKey(rand.Reader)
	c := mustNew(t, Template{Names: []string{"a.test"}, Key: edKey, KeyType: Ed25519}, nil)
	if !ed.Equal(c.Cert.PublicKey) {
		t.Error("Ed25519 key not used")
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	c = mustNew(t, Template{Names: []string{"a.test"}, Key: rsaKey}, nil)
	if c.Cert.KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
		t.Error("RSA key given with the zero KeyType: no KeyEncipherment")
	}
}

func TestKeyTypeString(t *testing.T) {
	tests := []struct {
		k    KeyType
		want string
	}{
		{ECDSAP256, "ECDSA-P256"}, {ECDSAP384, "ECDSA-P384"}, {Ed25519, "Ed25519"},
		{RSA2048, "RSA-2048"}, {RSA3072, "RSA-3072"}, {RSA4096, "RSA-4096"}, {KeyType(99), "KeyType(99)"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("KeyType(%d).String() = %q, want %q", int(tt.k), got, tt.want)
		}
	}
}
