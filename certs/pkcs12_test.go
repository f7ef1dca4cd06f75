package certs

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

func TestParsePKCS12(t *testing.T) {
	f := testPKI(t)
	for _, enc := range []struct {
		name string
		enc  *pkcs12.Encoder
	}{{"Modern", pkcs12.Modern}, {"LegacyRC2", pkcs12.LegacyRC2}, {"LegacyDES", pkcs12.LegacyDES}} {
		t.Run(enc.name, func(t *testing.T) {
			data, err := enc.enc.Encode(f.rsaKey, f.other, []*x509.Certificate{f.ca}, "pässwörd")
			if err != nil {
				t.Fatal(err)
			}
			if got := Sniff(data); got != FormatPKCS12 {
				t.Errorf("Sniff = %v", got)
			}
			key, leaf, chain, err := ParsePKCS12("me.p12", data, "pässwörd")
			if err != nil {
				t.Fatal(err)
			}
			if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(f.rsaKey.Public()) {
				t.Error("wrong key")
			}
			if !leaf.Equal(f.other) || len(chain) != 1 || !chain[0].Equal(f.ca) {
				t.Errorf("leaf %s chain %v", leaf.Subject, certNames(chain))
			}
			_, _, _, err = ParsePKCS12("me.p12", data, "password")
			if !errors.Is(err, ErrWrongPassword) || err.Error() != "certs: me.p12: PKCS#12: wrong password" {
				t.Errorf("wrong password: err = %v", err)
			}
		})
	}
}

func TestParsePKCS12TrustStore(t *testing.T) {
	f := testPKI(t)
	data, err := pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{f.ca, f.leaf}, "secret")
	if err != nil {
		t.Fatal(err)
	}
	key, leaf, chain, err := ParsePKCS12("trust.p12", data, "secret")
	if err != nil {
		t.Fatal(err)
	}
	if key != nil || leaf != nil || strings.Join(certNames(chain), ",") != "Test CA,leaf.test" {
		t.Errorf("key %v leaf %v chain %v", key, leaf, certNames(chain))
	}
}

func TestParsePKCS12Errors(t *testing.T) {
	f := testPKI(t)
	good, err := pkcs12.LegacyRC2.Encode(f.leafKey, f.leaf, nil, "secret")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		data []byte
		err  error
		msg  string
	}{
		{"certificate", f.leaf.Raw, errAny, "certs: x.p12: a certificate: not a PKCS#12 file"},
		{"text", []byte("hello"), ErrUnknownFormat, "certs: x.p12: text, no PEM block: not PEM, DER, PKCS#7 or PKCS#12"},
		{"truncated", good[:len(good)/2], ErrTruncated, ""},
		{"BER", berPFX(t, good), errAny, "certs: x.p12: a BER-encoded PKCS#12 file: only DER is supported; " +
			"re-encode it with: openssl pkcs12 -in FILE -nodes -out tmp.pem && " +
			"openssl pkcs12 -export -in tmp.pem -out FILE.der.p12 (then delete tmp.pem)"},
		{"huge MAC iteration count", withMacIterations(t, good, []byte{0x7f, 0xff, 0xff, 0xff}), errAny,
			"certs: x.p12: PKCS#12: its key derivation asks for 2147483647 iterations, more than the 2000000 allowed"},
		{"absurd MAC iteration count", withMacIterations(t, good, []byte{0x7f, 1, 2, 3, 4, 5, 6, 7, 8}), errAny,
			"certs: x.p12: PKCS#12: its key derivation asks for 9223372036854775807 iterations, more than the 2000000 allowed"},
		{"too large", make([]byte, MaxFileSize+1), ErrTooLarge, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := ParsePKCS12("x.p12", tc.data, "secret")
			if err == nil || tc.err != errAny && !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Errorf("message\n got %s\nwant %s", err, tc.msg)
			}
		})
	}
}

// A PKCS#12 file with only certificates that are not marked as Java trust
// anchors (as `openssl pkcs12 -export -nokeys` writes them) cannot be read
// by go-pkcs12; the error says what both readings found.
func TestParsePKCS12CertsOnly(t *testing.T) {
	f := testPKI(t)
	data, err := pkcs12.Passwordless.EncodeTrustStore([]*x509.Certificate{f.ca}, "")
	if err != nil {
		t.Fatal(err)
	}
	javaTrust, err := asn1.Marshal(asn1.ObjectIdentifier{2, 16, 840, 1, 113894, 746875, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	other := bytes.Clone(javaTrust)
	other[len(other)-1]++
	if bytes.Count(data, javaTrust) != 1 {
		t.Fatal("trust attribute not found once")
	}
	data = bytes.Replace(data, javaTrust, other, 1)
	_, err = ParseCertificates("ca.p12", data, nil)
	want := "certs: ca.p12: PKCS#12: pkcs12: private key missing; read as a trust store: " +
		"pkcs12: trust store contains a certificate that is not marked as trusted"
	if err == nil || err.Error() != want {
		t.Errorf("err\n got %v\nwant %s", err, want)
	}
}

// berPFX re-encodes the outermost SEQUENCE of a PFX with an indefinite length.
func berPFX(t testing.TB, der []byte) []byte {
	t.Helper()
	top, _, err := readElement(der, 0, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	return cat([]byte{tagSequence, 0x80}, top.body, []byte{0, 0})
}

// withMacIterations rebuilds a PFX with its MacData iteration count
// replaced by the INTEGER content n.
func withMacIterations(t testing.TB, der []byte, n []byte) []byte {
	t.Helper()
	top, _, err := readElement(der, 0, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := children(top, 3)
	if len(c) != 3 {
		t.Fatalf("PFX has %d fields", len(c))
	}
	mac := children(c[2], 3)
	newMac := tlv(tagSequence, mac[0].full, mac[1].full, tlv(tagInteger, n))
	return tlv(tagSequence, c[0].full, c[1].full, newMac)
}

func TestMaxIterations(t *testing.T) {
	f := testPKI(t)
	data, err := pkcs12.Modern.WithIterations(3000).Encode(f.leafKey, f.leaf, nil, "x")
	if err != nil {
		t.Fatal(err)
	}
	if got := maxIterations(data, 0); got != 3000 {
		t.Errorf("maxIterations = %d, want 3000", got)
	}
	// PBES1 parameters (SEQUENCE { salt, iterations }) inside an OCTET STRING.
	inner := tlv(tagSequence, tlv(tagOctetString, []byte("salt")), tlv(tagInteger, []byte{0x01, 0x00, 0x00, 0x00}))
	if got := maxIterations(tlv(tagSequence, tlv(tagOctetString, inner)), 0); got != 1<<24 {
		t.Errorf("nested: maxIterations = %d, want %d", got, 1<<24)
	}
}
